package cache

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// TestLookupAndReplace puts one file (or none) where an entry belongs, checks
// whether Lookup uses it, then checks that Fetch uses it or replaces it.
func TestLookupAndReplace(t *testing.T) {
	key := testKey("app")
	valid := func(lifetime time.Duration) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return encoded(t, testEntry("old", lifetime), key) }
	}
	tests := []struct {
		name   string
		data   func(t *testing.T) []byte // nil: no file
		mode   os.FileMode
		window time.Duration
		hit    bool
	}{
		{name: "no entry", data: nil, window: DefaultRefreshWindow},
		{name: "fresh", data: valid(time.Hour), window: DefaultRefreshWindow, hit: true},
		{name: "fresh with a zero window", data: valid(time.Second), window: 0, hit: true},
		{name: "inside the refresh window", data: valid(10 * time.Minute), window: DefaultRefreshWindow},
		{name: "exactly the refresh window left", data: valid(DefaultRefreshWindow), window: DefaultRefreshWindow},
		{name: "caller's shorter window", data: valid(10 * time.Minute), window: 5 * time.Minute, hit: true},
		{name: "expired", data: valid(-time.Minute), window: DefaultRefreshWindow},
		{name: "expiring now", data: valid(0), window: 0},
		{name: "forced refresh", data: valid(time.Hour), window: math.MaxInt64},
		{name: "corrupt", data: func(*testing.T) []byte { return []byte("{not json at all") }, window: DefaultRefreshWindow},
		{name: "truncated", data: func(t *testing.T) []byte { d := valid(time.Hour)(t); return d[:len(d)/2] }, window: DefaultRefreshWindow},
		{name: "empty file", data: func(*testing.T) []byte { return nil }, window: DefaultRefreshWindow},
		{name: "unknown version", data: func(t *testing.T) []byte {
			return []byte(strings.Replace(string(valid(time.Hour)(t)), `"version": 1`, `"version": 2`, 1))
		}, window: DefaultRefreshWindow},
		{name: "version missing", data: func(t *testing.T) []byte {
			return []byte(strings.Replace(string(valid(time.Hour)(t)), `"version": 1,`, ``, 1))
		}, window: DefaultRefreshWindow},
		{name: "JSON array", data: func(*testing.T) []byte { return []byte(`[1, 2, 3]`) }, window: DefaultRefreshWindow},
		{name: "JSON string", data: func(*testing.T) []byte { return []byte(`"credentials"`) }, window: DefaultRefreshWindow},
		{name: "JSON null", data: func(*testing.T) []byte { return []byte(`null`) }, window: DefaultRefreshWindow},
		{name: "version as a string", data: func(t *testing.T) []byte {
			return []byte(strings.Replace(string(valid(time.Hour)(t)), `"version": 1`, `"version": "1"`, 1))
		}, window: DefaultRefreshWindow},
		{name: "entry of another key", data: func(t *testing.T) []byte {
			return encoded(t, testEntry("old", time.Hour), testKey("other"))
		}, window: DefaultRefreshWindow},
		{name: "unknown kind", data: func(t *testing.T) []byte {
			e := testEntry("old", time.Hour)
			e.Kind = "get-federation-token"
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow},
		{name: "no session token", data: func(t *testing.T) []byte {
			e := testEntry("old", time.Hour)
			e.Credentials.SessionToken = ""
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow},
		// Impossible times: corrupt or planted, whatever else they say.
		{name: "expiry in year 8999", data: func(t *testing.T) []byte {
			e := testEntry("old", time.Hour)
			e.Credentials.Expiration = time.Date(8999, 1, 1, 0, 0, 0, 0, time.UTC)
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow},
		{name: "created in the future", data: func(t *testing.T) []byte {
			e := testEntry("old", 3*time.Hour)
			e.CreatedAt = testNow.Add(time.Hour)
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow},
		{name: "lives longer than STS's longest session", data: func(t *testing.T) []byte {
			e := testEntry("old", 36*time.Hour)
			e.CreatedAt = testNow.Add(-time.Second)
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow},
		{name: "created just now by a clock a little ahead", data: func(t *testing.T) []byte {
			e := testEntry("old", time.Hour)
			e.CreatedAt = testNow.Add(maxClockStep)
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow, hit: true},
		{name: "the longest STS session", data: func(t *testing.T) []byte {
			e := testEntry("old", 35*time.Hour)
			e.CreatedAt = testNow.Add(-time.Hour)
			return encoded(t, e, key)
		}, window: DefaultRefreshWindow, hit: true},
		{name: "no expiration", data: func(t *testing.T) []byte {
			return []byte(strings.Replace(string(valid(time.Hour)(t)), `"Expiration": "2031-03-14T16:09:26Z"`, `"Expiration": "0001-01-01T00:00:00Z"`, 1))
		}, window: DefaultRefreshWindow},
		// Loose modes are only checked on Unix; on Windows ACLs decide.
		{name: "readable by others", data: valid(time.Hour), mode: 0o644, window: DefaultRefreshWindow, hit: !checkPerms},
		{name: "writable by group", data: valid(time.Hour), mode: 0o620, window: DefaultRefreshWindow, hit: !checkPerms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cacheDir(t)
			s, w := openStore(t, dir, Options{})
			if tt.data != nil {
				writeRaw(t, dir, key, tt.data(t), cmpOr(tt.mode, 0o600))
			}

			e, hit := s.Lookup(key, tt.window)
			if hit != tt.hit {
				t.Fatalf("Lookup hit = %v, want %v", hit, tt.hit)
			}
			if hit && e.Credentials.AccessKeyID != "ASIAold" {
				t.Errorf("Lookup returned %s, want the stored ASIAold", e.Credentials.AccessKeyID)
			}

			c := newCounter()
			got, out := mustFetch(t, s, key, tt.window, c.fetch)
			if tt.hit {
				if out.Result != Hit || c.calls.Load() != 0 || got.Credentials.AccessKeyID != "ASIAold" {
					t.Fatalf("Fetch = %s, %v after %d fetches; want the cached entry", got.Credentials.AccessKeyID, out, c.calls.Load())
				}
				return
			}
			if out.Result != Fetched || !out.Stored || c.calls.Load() != 1 {
				t.Fatalf("Fetch outcome %v after %d fetches; want one fetch, stored", out, c.calls.Load())
			}
			// The bad file is replaced by a good, private one.
			path := filepath.Join(dir, key+entrySuffix)
			stored, err := readEntry(path, key, s.uid)
			if err != nil {
				t.Fatalf("entry after Fetch: %v", err)
			}
			if stored.Credentials.AccessKeyID != "ASIAfetch1" || stored.Key != key || stored.Version != CurrentVersion || !stored.CreatedAt.Equal(testNow) {
				t.Errorf("stored entry = %+v, want the fetched one stamped with key, version and the clock", stored)
			}
			if checkPerms && perm(t, path) != 0o600 {
				t.Errorf("entry mode = %#o, want 0600", perm(t, path))
			}
			if tt.window < math.MaxInt64/2 {
				if e, ok := s.Lookup(key, tt.window); !ok || e.Credentials.AccessKeyID != "ASIAfetch1" {
					t.Errorf("Lookup after Fetch = %v, %v; want the fetched entry", e.Credentials.AccessKeyID, ok)
				}
			}
			if msgs := w.list(); len(msgs) != 0 {
				t.Errorf("warnings %q, want none: a bad entry is replaced silently", msgs)
			}
		})
	}
}

func cmpOr(m, def os.FileMode) os.FileMode {
	if m == 0 {
		return def
	}
	return m
}

func TestFetchStoresOnceThenHits(t *testing.T) {
	s, _ := openStore(t, cacheDir(t), Options{})
	key := testKey("app")
	c := newCounter()

	first, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	if out.Result != Fetched || !out.Stored {
		t.Fatalf("first Fetch outcome = %v, want fetched and stored", out)
	}
	for range 3 {
		again, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
		if out.Result != Hit {
			t.Fatalf("later Fetch outcome = %v, want a hit", out)
		}
		if again.Credentials != first.Credentials || again.Label != first.Label || again.SessionName != first.SessionName {
			t.Errorf("hit returned %v, want %v", again.Credentials, first.Credentials)
		}
	}
	if n := c.calls.Load(); n != 1 {
		t.Errorf("fetch called %d times, want 1", n)
	}
}

func TestFetchAfterClockPassesRefreshWindow(t *testing.T) {
	now := testNow
	s, _ := openStore(t, cacheDir(t), Options{Now: func() time.Time { return now }})
	key := testKey("app")
	c := newCounter()
	mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)

	now = testNow.Add(44 * time.Minute) // 16 minutes left: still a hit
	if _, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch); out.Result != Hit {
		t.Fatalf("with 16m left: %v, want a hit", out)
	}
	now = testNow.Add(46 * time.Minute) // 14 minutes left: refresh
	e, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	if out.Result != Fetched || e.Credentials.AccessKeyID != "ASIAfetch2" {
		t.Fatalf("with 14m left: %v returning %s, want a new fetch", out, e.Credentials.AccessKeyID)
	}
	if !e.CreatedAt.Equal(now) {
		t.Errorf("CreatedAt = %v, want the injected clock %v", e.CreatedAt, now)
	}
}

func TestFetchForcedRefreshReplacesEntry(t *testing.T) {
	s, _ := openStore(t, cacheDir(t), Options{})
	key := testKey("app")
	c := newCounter()
	mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	e, out := mustFetch(t, s, key, math.MaxInt64, c.fetch)
	if out.Result != Fetched || e.Credentials.AccessKeyID != "ASIAfetch2" {
		t.Fatalf("forced refresh: %v returning %s, want a new fetch", out, e.Credentials.AccessKeyID)
	}
	if got, ok := s.Lookup(key, DefaultRefreshWindow); !ok || got.Credentials.AccessKeyID != "ASIAfetch2" {
		t.Errorf("after refresh Lookup = %s, %v; want the new credentials", got.Credentials.AccessKeyID, ok)
	}
}

func TestFetchErrorIsReturnedAndNotCached(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{})
	key := testKey("app")
	errSTS := errors.New("AccessDenied: not authorized")
	_, _, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, func(context.Context) (Entry, error) {
		return Entry{}, errSTS
	})
	if !errors.Is(err, errSTS) {
		t.Fatalf("Fetch error = %v, want the fetch's error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, key+entrySuffix)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an entry was written after a failed fetch: %v", err)
	}
	c := newCounter()
	if _, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch); out.Result != Fetched {
		t.Errorf("after a failure: %v, want a new fetch", out)
	}
}

func TestFetchDoesNotStoreUncacheableEntry(t *testing.T) {
	tests := []struct {
		name  string
		entry func() Entry
	}{
		{"long-term keys", func() Entry {
			e := testEntry("lt", time.Hour)
			e.Credentials.SessionToken = ""
			return e
		}},
		{"no expiration", func() Entry {
			e := testEntry("noexp", time.Hour)
			e.Credentials.Expiration = time.Time{}
			return e
		}},
		{"unknown kind", func() Entry {
			e := testEntry("kind", time.Hour)
			e.Kind = ""
			return e
		}},
		{"lives longer than any STS session", func() Entry { return testEntry("long", 37*time.Hour) }},
		{"expires before it was created", func() Entry { return testEntry("past", -time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cacheDir(t)
			s, w := openStore(t, dir, Options{})
			key := testKey("app")
			want := tt.entry()
			e, out := mustFetch(t, s, key, DefaultRefreshWindow, func(context.Context) (Entry, error) { return want, nil })
			if e.Credentials != want.Credentials {
				t.Errorf("Fetch returned %v, want the fetched %v", e.Credentials, want.Credentials)
			}
			if out.Result != Fetched || out.Stored || out.NotStored == "" {
				t.Errorf("outcome = %+v, want fetched, not stored, with a reason", out)
			}
			if _, err := os.Stat(filepath.Join(dir, key+entrySuffix)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("entry file exists: %v", err)
			}
			if len(w.list()) != 0 {
				t.Errorf("warnings %q, want none", w.list())
			}
		})
	}
}

func TestFetchRefusesMalformedKey(t *testing.T) {
	s, _ := openStore(t, cacheDir(t), Options{})
	c := newCounter()
	for _, key := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63)} {
		if _, _, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, c.fetch); err == nil {
			t.Errorf("Fetch(%q) succeeded, want an error", key)
		}
		if _, ok := s.Lookup(key, DefaultRefreshWindow); ok {
			t.Errorf("Lookup(%q) hit", key)
		}
	}
	if c.calls.Load() != 0 {
		t.Errorf("fetch called for a malformed key")
	}
}

func TestConcurrentFetchesInOneProcessFetchOnce(t *testing.T) {
	dir := cacheDir(t)
	const n = 32
	// Half the goroutines share a Store, the others each open their own,
	// as separate commands in one process would.
	shared, _ := openStore(t, dir, Options{})
	key := testKey("app")
	c := newCounter()

	start := make(chan struct{})
	results := make([]Entry, n)
	outcomes := make([]Outcome, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := shared
		if i%2 == 1 {
			s, _ = openStore(t, dir, Options{})
		}
		wg.Go(func() {
			<-start
			results[i], outcomes[i], errs[i] = s.Fetch(context.Background(), key, DefaultRefreshWindow, c.fetch)
		})
	}
	close(start)
	wg.Wait()

	if got := c.calls.Load(); got != 1 {
		t.Fatalf("fetch called %d times by %d goroutines, want 1", got, n)
	}
	fetched := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if results[i].Credentials != results[0].Credentials {
			t.Errorf("goroutine %d got %v, goroutine 0 got %v", i, results[i].Credentials, results[0].Credentials)
		}
		if outcomes[i].Result == Fetched {
			fetched++
		}
	}
	if fetched != 1 {
		t.Errorf("%d outcomes say fetched, want 1", fetched)
	}
}

func TestLockTimeoutNamesLockFile(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{LockTimeout: 50 * time.Millisecond})
	key := testKey("app")
	lockPath := filepath.Join(s.Dir(), key+lockSuffix)

	other := lockAsOtherProcess(t, lockPath) // another process's lock

	c := newCounter()
	_, out, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, c.fetch)
	var timeout *safefile.LockTimeoutError
	if !errors.As(err, &timeout) {
		t.Fatalf("Fetch error = %v, want a *safefile.LockTimeoutError", err)
	}
	if timeout.Path != lockPath || !strings.Contains(err.Error(), lockPath) {
		t.Errorf("error %q does not name the lock file %s", err, lockPath)
	}
	if !strings.Contains(err.Error(), "retry") || !strings.Contains(err.Error(), "another rolecall process") {
		t.Errorf("error %q does not say what is going on and what to do", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error does not unwrap to context.DeadlineExceeded")
	}
	if out.LockWait < 50*time.Millisecond {
		t.Errorf("LockWait = %s, want at least the timeout", out.LockWait)
	}
	if c.calls.Load() != 0 {
		t.Errorf("fetch was called without the lock")
	}

	// Once the other process lets go, the same Store works.
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch); out.Result != Fetched {
		t.Errorf("after the lock was released: %v, want fetched", out)
	}
}

func TestLockWaitEndsWithCallerContext(t *testing.T) {
	s, _ := openStore(t, cacheDir(t), Options{LockTimeout: time.Hour})
	key := testKey("app")
	lockAsOtherProcess(t, filepath.Join(s.Dir(), key+lockSuffix))

	tests := []struct {
		name        string
		ctx         func() (context.Context, context.CancelFunc)
		wantTimeout bool
		wantIs      error
	}{
		{"cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, false, context.Canceled},
		{"caller deadline shorter than the lock timeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 30*time.Millisecond)
		}, true, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			c := newCounter()
			_, _, err := s.Fetch(ctx, key, DefaultRefreshWindow, c.fetch)
			var timeout *safefile.LockTimeoutError
			if errors.As(err, &timeout) != tt.wantTimeout || !errors.Is(err, tt.wantIs) {
				t.Errorf("Fetch error = %v, want timeout=%v wrapping %v", err, tt.wantTimeout, tt.wantIs)
			}
			if c.calls.Load() != 0 {
				t.Errorf("fetch was called without the lock")
			}
		})
	}
}

func TestList(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{})
	put := func(role string, lifetime time.Duration, keyInput KeyInput) {
		t.Helper()
		e := testEntry(role, lifetime)
		mustFetch(t, s, keyInput.Key(), DefaultRefreshWindow, func(context.Context) (Entry, error) { return e, nil })
	}
	role := func(r string, d int) KeyInput {
		return KeyInput{Kind: KindAssumeRole, RoleARN: "arn:aws:iam::123456789012:role/" + r, DurationSeconds: d}
	}
	put("c", time.Hour, role("c", 3600))
	put("a", time.Hour, role("a", 3600))
	put("b", 2*time.Hour, role("b", 7200))
	put("b", 30*time.Minute, role("b", 1800))
	writeRaw(t, dir, testKey("corrupt"), []byte("{"), 0o600)
	// An expired entry is still listed: `cache list` shows it as expired.
	writeRaw(t, dir, testKey("old"), encoded(t, testEntry("old", -time.Hour), testKey("old")), 0o600)
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not an entry"), 0o600); err != nil {
		t.Fatal(err)
	}

	entries, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, strings.TrimPrefix(e.Label, "arn:aws:iam::123456789012:role/")+" "+e.Credentials.Expiration.Sub(testNow).String())
	}
	want := []string{"a 1h0m0s", "b 30m0s", "b 2h0m0s", "c 1h0m0s", "old -1h0m0s"}
	if !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestRemove(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{LockTimeout: 50 * time.Millisecond})
	for _, role := range []string{"a", "b"} {
		e := testEntry(role, time.Hour)
		mustFetch(t, s, testKey(role), DefaultRefreshWindow, func(context.Context) (Entry, error) { return e, nil })
	}
	writeRaw(t, dir, testKey("corrupt"), []byte("{"), 0o600)
	// A failed fetch leaves a lock file without an entry.
	if _, _, err := s.Fetch(context.Background(), testKey("failed"), DefaultRefreshWindow, func(context.Context) (Entry, error) {
		return Entry{}, errors.New("AccessDenied")
	}); err == nil {
		t.Fatal("failing fetch succeeded")
	}
	byLabel := func(role string) func(Entry) bool {
		return func(e Entry) bool { return e.Label == "arn:aws:iam::123456789012:role/"+role }
	}

	// Remove waits for the entry's lock: a Fetch in progress finishes first.
	held := lockAsOtherProcess(t, filepath.Join(s.Dir(), testKey("a")+lockSuffix))
	n, err := s.Remove(byLabel("a"))
	var timeout *safefile.LockTimeoutError
	if n != 0 || !errors.As(err, &timeout) {
		t.Fatalf("Remove while locked = %d, %v; want 0 and a lock timeout", n, err)
	}
	if _, ok := s.Lookup(testKey("a"), 0); !ok {
		t.Fatal("entry removed without its lock")
	}
	if err := held.Unlock(); err != nil {
		t.Fatal(err)
	}

	if n, err := s.Remove(byLabel("a")); n != 1 || err != nil {
		t.Fatalf("Remove(a) = %d, %v; want 1, nil", n, err)
	}
	if _, ok := s.Lookup(testKey("a"), 0); ok {
		t.Error("a still cached after Remove")
	}
	if _, ok := s.Lookup(testKey("b"), 0); !ok {
		t.Error("b removed by Remove(a)")
	}

	// Everything, the corrupt entry included.
	if n, err := s.Remove(func(Entry) bool { return true }); n != 2 || err != nil {
		t.Fatalf("Remove(all) = %d, %v; want 2, nil", n, err)
	}
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range left {
		t.Errorf("%s left after Remove(all)", de.Name())
	}

	// A removed key can be fetched and locked again.
	c := newCounter()
	if _, out := mustFetch(t, s, testKey("a"), DefaultRefreshWindow, c.fetch); out.Result != Fetched || !out.Stored {
		t.Errorf("Fetch after Remove: %v, want fetched and stored", out)
	}
}

func TestRemoveKeepsLockOfFetchInProgress(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{})
	lockPath := filepath.Join(s.Dir(), testKey("busy")+lockSuffix)
	lockAsOtherProcess(t, lockPath) // a first fetch, still talking to STS
	if n, err := s.Remove(func(Entry) bool { return true }); n != 0 || err != nil {
		t.Fatalf("Remove(all) = %d, %v; want 0, nil", n, err)
	}
	if _, err := os.Stat(lockPath); err != nil {
		t.Errorf("the lock file of a fetch in progress was removed: %v", err)
	}
}

func TestLookupTakesNoLock(t *testing.T) {
	s, _ := openStore(t, cacheDir(t), Options{})
	key := testKey("app")
	c := newCounter()
	mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	// Another process refreshing this entry holds its lock: readers of
	// the current entry must not wait for it.
	lockAsOtherProcess(t, filepath.Join(s.Dir(), key+lockSuffix))
	if _, ok := s.Lookup(key, DefaultRefreshWindow); !ok {
		t.Error("Lookup missed while the lock was held")
	}
	if _, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch); out.Result != Hit {
		t.Errorf("Fetch = %v while the lock was held, want a hit without waiting", out)
	}
}

func TestWriteRemovesStaleTempFiles(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{})
	key := testKey("app")
	// Temporary files are named .TARGET.rolecall-RANDOM.tmp (safefile).
	stale := filepath.Join(dir, "."+key+entrySuffix+".rolecall-12345.tmp")
	recent := filepath.Join(dir, "."+key+entrySuffix+".rolecall-67890.tmp")
	unrelated := filepath.Join(dir, "notes.tmp")
	for _, p := range []string{stale, recent, unrelated} {
		if err := os.WriteFile(p, []byte(`{"version":`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Temp files are aged by the file system's clock, which is the real
	// one; backdate instead of waiting.
	old := time.Now().Add(-2 * safefile.StaleTempAge)
	for _, p := range []string{stale, unrelated} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}

	c := newCounter()
	mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)

	for _, tt := range []struct {
		path string
		kept bool
	}{{stale, false}, {recent, true}, {unrelated, true}} {
		_, err := os.Stat(tt.path)
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s kept = %v, want %v", filepath.Base(tt.path), kept, tt.kept)
		}
	}
}

func TestOpenBypassesFileWhereDirShouldBe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rolecall")
	if err := os.WriteFile(path, []byte("oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, w := openStore(t, path, Options{})
	assertBypassed(t, s, w, "not a directory")
}

// assertBypassed checks that s passes every Fetch through, warned once
// with a message containing want, and still returns the credentials.
func assertBypassed(t *testing.T, s *Store, w *warnings, want string) {
	t.Helper()
	key := testKey("app")
	c := newCounter()
	for i := range 2 {
		e, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
		if out.Result != Fetched || out.Stored {
			t.Errorf("Fetch %d: %v, want fetched and not stored", i, out)
		}
		if e.Credentials.AccessKeyID == "" {
			t.Errorf("Fetch %d returned no credentials", i)
		}
	}
	if c.calls.Load() != 2 {
		t.Errorf("fetch called %d times, want 2: nothing can be cached", c.calls.Load())
	}
	if _, ok := s.Lookup(key, 0); ok {
		t.Error("Lookup hit on a bypassed cache")
	}
	if _, err := s.List(); err == nil {
		t.Error("List on a bypassed cache gave no error")
	}
	if _, err := s.Remove(func(Entry) bool { return true }); err == nil {
		t.Error("Remove on a bypassed cache gave no error")
	}
	msgs := w.list()
	if len(msgs) != 1 || !strings.Contains(msgs[0], want) || !strings.Contains(msgs[0], "not be cached") {
		t.Errorf("warnings = %q, want one mentioning %q and that nothing is cached", msgs, want)
	}
}

func TestOpenRequiresDir(t *testing.T) {
	if _, err := Open("", Options{}); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		out  Outcome
		want string
	}{
		{Outcome{Result: Hit}, "cache hit"},
		{Outcome{Result: HitAfterLock, LockWait: 1500 * time.Millisecond}, "cache hit after waiting 1.5s for the lock: another process fetched"},
		{Outcome{Result: Fetched, Stored: true, LockWait: 2 * time.Millisecond}, "fetched and cached (lock wait 2ms)"},
		{Outcome{Result: Fetched, NotStored: "disk full"}, "fetched, not cached: disk full"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.out.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDefaultDir(t *testing.T) {
	tests := []struct {
		name string
		goos string
		env  map[string]string
		want string // "" means an error
	}{
		{"override wins", "linux", map[string]string{"ROLECALL_CACHE_DIR": "/srv/cache", "XDG_CACHE_HOME": "/x", "HOME": "/home/a"}, "/srv/cache"},
		{"XDG", "linux", map[string]string{"XDG_CACHE_HOME": "/x", "HOME": "/home/a"}, "/x/rolecall"},
		{"relative XDG", "linux", map[string]string{"XDG_CACHE_HOME": "x", "HOME": "/home/a"}, ""},
		{"HOME", "linux", map[string]string{"HOME": "/home/a"}, "/home/a/.cache/rolecall"},
		{"nothing", "linux", map[string]string{}, ""},
		{"macOS", "darwin", map[string]string{"HOME": "/Users/a", "XDG_CACHE_HOME": "/x"}, "/Users/a/Library/Caches/rolecall"},
		{"Windows", "windows", map[string]string{"LocalAppData": `C:\Users\a\AppData\Local`}, `C:\Users\a\AppData\Local/rolecall`},
		{"Windows without LocalAppData", "windows", map[string]string{"HOME": "/home/a"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string { return tt.env[k] }
			var got string
			var err error
			if d := getenv("ROLECALL_CACHE_DIR"); d != "" {
				got, err = DefaultDir(getenv)
			} else {
				var base string
				if base, err = userCacheDir(tt.goos, getenv); err == nil {
					got = base + "/rolecall"
				}
			}
			if tt.want == "" {
				if err == nil {
					t.Errorf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	t.Run("this platform", func(t *testing.T) {
		got, err := DefaultDir(func(k string) string {
			return map[string]string{"HOME": "/home/a", "LocalAppData": `C:\L`, "home": "/usr/a"}[k]
		})
		if err != nil || filepath.Base(got) != "rolecall" {
			t.Errorf("DefaultDir = %q, %v; want a path ending in rolecall", got, err)
		}
	})
}

func BenchmarkLookupHit(b *testing.B) {
	dir := cacheDir(b)
	s, err := Open(dir, Options{Now: fixedClock})
	if err != nil {
		b.Fatal(err)
	}
	key := testKey("app")
	e := testEntry("bench", time.Hour)
	if _, _, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, func(context.Context) (Entry, error) { return e, nil }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := s.Lookup(key, DefaultRefreshWindow); !ok {
			b.Fatal("miss")
		}
	}
}

// TestEveryKindIsStoredAndHit: an entry of each kind a hop can be is kept
// and found again; a kind Key knows but validate did not would be refetched
// on every run.
func TestEveryKindIsStoredAndHit(t *testing.T) {
	for _, kind := range []string{KindAssumeRole, KindSessionToken, KindWebIdentity, KindFederationToken} {
		t.Run(kind, func(t *testing.T) {
			s, _ := openStore(t, cacheDir(t), Options{})
			key := KeyInput{Kind: kind, Source: "keys:AKIAEXAMPLE"}.Key()
			fetch := func(context.Context) (Entry, error) {
				e := testEntry("app", time.Hour)
				e.Kind = kind
				return e, nil
			}
			if _, out := mustFetch(t, s, key, DefaultRefreshWindow, fetch); !out.Stored {
				t.Fatalf("%s entry not stored: %v", kind, out)
			}
			e, ok := s.Lookup(key, DefaultRefreshWindow)
			if !ok || e.Kind != kind {
				t.Fatalf("Lookup = %v %v, want the %s entry", e.Kind, ok, kind)
			}
		})
	}
}

// TestLockWaitIsTraced: a Fetch that finds the entry's lock held says so
// through Options.Trace before it waits (--debug shows it), and says
// nothing when the lock is free.
func TestLockWaitIsTraced(t *testing.T) {
	traced := make(chan string, 4)
	trace := func(format string, args ...any) { traced <- fmt.Sprintf(format, args...) }
	s, _ := openStore(t, cacheDir(t), Options{LockTimeout: 3 * time.Second, Trace: trace})
	key := testKey("app")
	lockPath := filepath.Join(s.Dir(), key+lockSuffix)
	c := newCounter()

	mustFetch(t, s, key, time.Hour, c.fetch) // window past expiry: fetches again next time
	if len(traced) != 0 {
		t.Errorf("traced %q with the lock free", <-traced)
	}

	other := lockAsOtherProcess(t, lockPath)
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Fetch(context.Background(), key, time.Hour, c.fetch)
		done <- err
	}()
	select {
	case msg := <-traced:
		if !strings.Contains(msg, lockPath) || !strings.Contains(msg, "another rolecall") {
			t.Errorf("trace %q does not name the lock and its holder", msg)
		}
	case err := <-done:
		t.Fatalf("Fetch ended (%v) without tracing its wait for the lock", err)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Fetch after the lock was released: %v", err)
	}
}

// TestOpenMakesDirAbsolute: a relative directory is resolved when the Store
// is opened, so the process may change directory afterwards and the Store
// still uses the same cache (and Dir names it fully in messages).
func TestOpenMakesDirAbsolute(t *testing.T) {
	base := t.TempDir()
	t.Chdir(base)
	s, _ := openStore(t, "rolecall", Options{})
	want := filepath.Join(base, "rolecall")
	if s.Dir() != want {
		t.Errorf("Dir() = %q, want %q", s.Dir(), want)
	}
	t.Chdir(t.TempDir())
	mustFetch(t, s, testKey("app"), DefaultRefreshWindow, newCounter().fetch)
	if _, err := os.Stat(filepath.Join(want, testKey("app")+entrySuffix)); err != nil {
		t.Errorf("entry not in the directory opened: %v", err)
	}
}

// TestRemoveDeletesStaleTempFiles: Remove (rolecall cache clear) also
// deletes temporary files a dead writer left, of any entry, and keeps
// recent ones, which may belong to a writer still running.
func TestRemoveDeletesStaleTempFiles(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{})
	key := testKey("gone") // no entry: its writer died before the rename
	stale := filepath.Join(dir, "."+key+entrySuffix+".rolecall-12345.tmp")
	recent := filepath.Join(dir, "."+key+entrySuffix+".rolecall-67890.tmp")
	for _, p := range []string{stale, recent} {
		if err := os.WriteFile(p, []byte(`{"version":`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * safefile.StaleTempAge) // the file system's clock
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Remove(func(Entry) bool { return true }); n != 0 || err != nil {
		t.Fatalf("Remove = %d, %v; want 0, nil", n, err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temporary file kept (%v)", err)
	}
	if _, err := os.Stat(recent); err != nil {
		t.Errorf("recent temporary file removed: %v", err)
	}
}
