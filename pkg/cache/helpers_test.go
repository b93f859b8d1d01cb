package cache

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/rolecall/rolecall/pkg/creds"
)

// testNow is the injected clock's time in every test: far from the real
// clock, so a test that used time.Now by mistake would fail.
var testNow = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// testKey is a cache key for the role named role.
func testKey(role string) string {
	return KeyInput{Kind: KindAssumeRole, Source: "profile:test", RoleARN: "arn:aws:iam::123456789012:role/" + role}.Key()
}

// testEntry is what a fetch returns: credentials labelled with id so tests
// can tell which fetch produced them, expiring after lifetime.
func testEntry(id string, lifetime time.Duration) Entry {
	return Entry{
		Kind:        KindAssumeRole,
		Label:       "arn:aws:iam::123456789012:role/" + id,
		RoleARN:     "arn:aws:iam::123456789012:role/" + id,
		SessionName: "rolecall-test",
		Credentials: creds.Credentials{
			AccessKeyID:     "ASIA" + id,
			SecretAccessKey: "secret-" + id,
			SessionToken:    "token-" + id,
			Expiration:      testNow.Add(lifetime),
			AssumedRoleARN:  "arn:aws:sts::123456789012:assumed-role/" + id + "/rolecall-test",
		},
	}
}

// warnings records what a Store reports through Options.Warn.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) warn(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// openStore opens a Store on dir with the fixed clock and records warnings.
func openStore(t *testing.T, dir string, opt Options) (*Store, *warnings) {
	t.Helper()
	w := &warnings{}
	if opt.Now == nil {
		opt.Now = fixedClock
	}
	opt.Warn = w.warn
	s, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s, w
}

// counter is a fetch function that counts its calls and returns the entry
// made by make for the n-th call.
type counter struct {
	calls atomic.Int32
	make  func(n int) Entry
}

func (c *counter) fetch(context.Context) (Entry, error) {
	n := int(c.calls.Add(1))
	return c.make(n), nil
}

// newCounter counts fetches of one-hour credentials.
func newCounter() *counter {
	return &counter{make: func(n int) Entry { return testEntry("fetch"+strconv.Itoa(n), time.Hour) }}
}

// lockAsOtherProcess takes the lock at path through its own file handle,
// as another process would, until the test ends or it is unlocked.
func lockAsOtherProcess(t *testing.T, path string) *flock.Flock {
	t.Helper()
	fl := flock.New(path)
	if err := fl.Lock(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fl.Unlock() })
	return fl
}

// mustFetch calls Fetch and fails the test on an error.
func mustFetch(t *testing.T, s *Store, key string, window time.Duration, fetch func(context.Context) (Entry, error)) (Entry, Outcome) {
	t.Helper()
	e, out, err := s.Fetch(context.Background(), key, window, fetch)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return e, out
}

// writeRaw puts data at the entry path of key with the given mode.
func writeRaw(t *testing.T, dir, key string, data []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, key+entrySuffix)
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile keeps an existing file's mode
		t.Fatal(err)
	}
	return path
}

// encoded is the file content of e stored under key. An entry without a
// creation time was made two hours before testNow, so that one that has
// expired by then was still created before it expired.
func encoded(t testing.TB, e Entry, key string) []byte {
	t.Helper()
	e.Version, e.Key = CurrentVersion, key
	if e.CreatedAt.IsZero() {
		e.CreatedAt = testNow.Add(-2 * time.Hour)
	}
	data, err := encodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// perm returns the permission bits of path.
func perm(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// cacheDir is a cache directory that does not exist yet, as on first use:
// Open creates it.
func cacheDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "rolecall")
}
