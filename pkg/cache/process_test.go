package cache

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// The multi-process tests run this test binary again as the "other
// processes". TestMain sees helperEnv and runs the helper instead of the
// tests, so no placeholder TestHelperProcess is needed.
const (
	helperEnv        = "ROLECALL_CACHE_TEST_HELPER" // the helper mode
	helperDirEnv     = "ROLECALL_CACHE_TEST_DIR"
	helperKeyEnv     = "ROLECALL_CACHE_TEST_KEY"
	helperCounterEnv = "ROLECALL_CACHE_TEST_COUNTER"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

// runHelper is the body of a helper process. Its stdout is its report;
// stdin is how the test holds it back: helpers that must wait read stdin
// until the test closes it (or kills them).
func runHelper(mode string) int {
	dir, key := os.Getenv(helperDirEnv), os.Getenv(helperKeyEnv)
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	switch mode {
	case "fetch":
		// Fetch once, counting STS calls in a file that only the lock
		// holder touches, after a start barrier so all processes race.
		s, err := Open(dir, Options{Now: fixedClock, LockTimeout: time.Minute, Warn: func(m string) { fmt.Fprintln(os.Stderr, m) }})
		if err != nil {
			return fail(err)
		}
		_, _ = io.Copy(io.Discard, os.Stdin)
		e, out, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, func(context.Context) (Entry, error) {
			counter := os.Getenv(helperCounterEnv)
			data, _ := os.ReadFile(counter)
			n, _ := strconv.Atoi(string(data))
			if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
				return Entry{}, err
			}
			return testEntry("proc"+strconv.Itoa(os.Getpid()), time.Hour), nil
		})
		if err != nil {
			return fail(err)
		}
		fmt.Printf("%s %s %s\n", e.Credentials.AccessKeyID, fingerprint(e), out.Result)
	case "hold":
		// Take the lock and never let go: the test kills us.
		s, err := Open(dir, Options{Now: fixedClock})
		if err != nil {
			return fail(err)
		}
		_, _, err = s.Fetch(context.Background(), key, DefaultRefreshWindow, func(context.Context) (Entry, error) {
			fmt.Println("locked")
			_, _ = io.Copy(io.Discard, os.Stdin)
			return Entry{}, errors.New("released")
		})
		return fail(err)
	case "die-before-rename":
		// Write a new entry and stop between the fsync and the rename:
		// the test kills us there.
		safefile.SetTestHookBeforeRename(func(tmp string) {
			fmt.Println(filepath.Base(tmp))
			_, _ = io.Copy(io.Discard, os.Stdin)
		})
		s, err := Open(dir, Options{Now: fixedClock})
		if err != nil {
			return fail(err)
		}
		_, _, err = s.Fetch(context.Background(), key, math.MaxInt64, func(context.Context) (Entry, error) {
			return testEntry("new", time.Hour), nil
		})
		return fail(err)
	case "readonly":
		return helperReadOnly(dir)
	default:
		return fail(fmt.Errorf("unknown mode %q", mode))
	}
	return 0
}

// fingerprint identifies the secret parts of e without showing them.
func fingerprint(e Entry) string {
	sum := sha256.Sum256([]byte(e.Credentials.SecretAccessKey + "\x00" + e.Credentials.SessionToken))
	return hex.EncodeToString(sum[:8])
}

// helper starts this test binary in mode against dir and key. Its stdin
// stays open until the returned writer is closed.
func helper(t *testing.T, mode, dir, key string, extraEnv ...string) (*exec.Cmd, io.WriteCloser, *bufio.Reader) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperDirEnv+"="+dir, helperKeyEnv+"="+key)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stderr = &testWriter{t: t, prefix: mode + " helper: "}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, stdin, bufio.NewReader(stdout)
}

// testWriter passes a helper's stderr to the test log. Helpers never write
// a secret there.
type testWriter struct {
	t      *testing.T
	prefix string
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimSpace(string(p)))
	return len(p), nil
}

// readLine reads one line of a helper's report.
func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading helper output: %v (got %q)", err, line)
	}
	return strings.TrimSpace(line)
}

func TestConcurrentProcessesFetchOnce(t *testing.T) {
	dir := cacheDir(t)
	if _, err := Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	key := testKey("app")
	counter := filepath.Join(t.TempDir(), "sts-calls")

	const n = 16
	type proc struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
		out   *bufio.Reader
	}
	procs := make([]proc, n)
	for i := range procs {
		cmd, stdin, out := helper(t, "fetch", dir, key, helperCounterEnv+"="+counter)
		procs[i] = proc{cmd, stdin, out}
	}
	for _, p := range procs { // start barrier: all are running by now
		_ = p.stdin.Close()
	}

	var lines []string
	fetched := 0
	for i, p := range procs {
		rest, _ := io.ReadAll(p.out)
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		line := strings.TrimSpace(string(rest))
		lines = append(lines, line)
		if strings.HasSuffix(line, " "+Fetched.String()) {
			fetched++
		}
	}
	calls, err := os.ReadFile(counter)
	if err != nil {
		t.Fatal(err)
	}
	if string(calls) != "1" {
		t.Errorf("%d processes made %s STS calls, want 1", n, calls)
	}
	if fetched != 1 {
		t.Errorf("%d processes say they fetched, want 1", fetched)
	}
	first := strings.Fields(lines[0])
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 || len(first) < 2 || f[0] != first[0] || f[1] != first[1] {
			t.Errorf("process %d got credentials %q, process 0 got %q", i, line, lines[0])
		}
	}
}

func TestKilledLockHolderDoesNotBlock(t *testing.T) {
	dir := cacheDir(t)
	key := testKey("app")
	cmd, _, out := helper(t, "hold", dir, key)
	if got := readLine(t, out); got != "locked" {
		t.Fatalf("helper said %q, want locked", got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	// The lock file is still there; only the kernel's lock is gone.
	if _, err := os.Stat(filepath.Join(dir, key+lockSuffix)); err != nil {
		t.Fatalf("lock file: %v", err)
	}
	s, _ := openStore(t, dir, Options{LockTimeout: 10 * time.Second})
	c := newCounter()
	e, o := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	if o.Result != Fetched || !o.Stored || e.Credentials.AccessKeyID != "ASIAfetch1" {
		t.Errorf("Fetch after the holder died: %v, %s; want fetched and stored", o, e.Credentials.AccessKeyID)
	}
}

func TestKillDuringWriteLeavesNoTornEntry(t *testing.T) {
	tests := []struct {
		name    string
		old     bool   // an entry exists before the killed write
		wantKey string // access key ID Lookup finds afterwards, "" for none
	}{
		{"replacing an entry", true, "ASIAold"},
		{"first write", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := cacheDir(t)
			key := testKey("app")
			s, w := openStore(t, dir, Options{})
			if tt.old {
				old := testEntry("old", time.Hour)
				mustFetch(t, s, key, DefaultRefreshWindow, func(context.Context) (Entry, error) { return old, nil })
			}

			cmd, _, out := helper(t, "die-before-rename", dir, key)
			tmpName := readLine(t, out)
			tmp := filepath.Join(dir, tmpName)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()

			// The dead writer's temp file is complete and private, but
			// it is not the entry.
			data, err := os.ReadFile(tmp)
			if err != nil {
				t.Fatalf("temp file %s: %v", tmpName, err)
			}
			if e, err := decodeEntry(data); err != nil || e.Credentials.AccessKeyID != "ASIAnew" {
				t.Errorf("temp file holds %v, %v; want the complete new entry", e.Credentials.AccessKeyID, err)
			}
			if checkPerms && perm(t, tmp) != 0o600 {
				t.Errorf("temp file mode = %#o, want 0600", perm(t, tmp))
			}
			got, ok := s.Lookup(key, DefaultRefreshWindow)
			if gotKey := map[bool]string{true: got.Credentials.AccessKeyID}[ok]; gotKey != tt.wantKey {
				t.Errorf("Lookup after the kill = %q, want %q", gotKey, tt.wantKey)
			}

			// The leftover does not get in the way of the next Fetch, and
			// once it is stale, a write removes it.
			c := newCounter()
			e, o := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
			if tt.old && (o.Result != Hit || e.Credentials.AccessKeyID != "ASIAold") {
				t.Errorf("Fetch = %v, %s; want a hit on the old entry", o, e.Credentials.AccessKeyID)
			}
			if !tt.old && (o.Result != Fetched || !o.Stored) {
				t.Errorf("Fetch = %v; want fetched and stored", o)
			}
			if _, err := os.Stat(tmp); err != nil {
				t.Errorf("a recent temp file was removed: it may belong to a live writer")
			}
			old := time.Now().Add(-2 * safefile.StaleTempAge)
			if err := os.Chtimes(tmp, old, old); err != nil {
				t.Fatal(err)
			}
			mustFetch(t, s, key, math.MaxInt64, c.fetch)
			if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("stale temp file still there after a write: %v", err)
			}
			if msgs := w.list(); len(msgs) != 0 {
				t.Errorf("warnings %q, want none", msgs)
			}
		})
	}
}

// helperOutput runs cmd to completion and returns its stdout.
func helperOutput(t *testing.T, cmd *exec.Cmd, stdin io.WriteCloser, out *bufio.Reader) string {
	t.Helper()
	_ = stdin.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	return buf.String()
}

// readOnlyReport is what one read-only scenario observed.
type readOnlyReport struct {
	Calls    int32    // fetch calls
	Keys     []string // access key IDs Fetch returned
	Stored   []bool   // Outcome.Stored of each Fetch
	Warnings []string
}

// readOnlyScenarios are the directories, under base, that cannot be
// written to: prepared by the test (as their owner, mode 0500).
var readOnlyScenarios = []struct {
	name string
	dir  string // the cache directory, relative to base
}{
	{"empty read-only dir", "empty"},
	{"read-only dir with a lock file", "haslock"},
	{"dir that cannot be created", "parent/rolecall"},
}

// runReadOnlyScenarios fetches twice in each scenario and reports what
// happened; it runs in the test or, when the test runs as root (whom
// modes do not stop), in a helper process of an unprivileged user.
func runReadOnlyScenarios(base string) map[string]readOnlyReport {
	reports := map[string]readOnlyReport{}
	for _, sc := range readOnlyScenarios {
		var r readOnlyReport
		s, err := Open(filepath.Join(base, sc.dir), Options{Now: fixedClock, Warn: func(m string) { r.Warnings = append(r.Warnings, m) }})
		if err != nil {
			r.Warnings = append(r.Warnings, "Open: "+err.Error())
			reports[sc.name] = r
			continue
		}
		c := newCounter()
		for range 2 {
			e, out, err := s.Fetch(context.Background(), testKey("app"), DefaultRefreshWindow, c.fetch)
			if err != nil {
				r.Warnings = append(r.Warnings, "Fetch: "+err.Error())
			}
			r.Keys = append(r.Keys, e.Credentials.AccessKeyID)
			r.Stored = append(r.Stored, out.Stored)
		}
		r.Calls = c.calls.Load()
		reports[sc.name] = r
	}
	return reports
}

func helperReadOnly(base string) int {
	data, err := json.Marshal(runReadOnlyScenarios(base))
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	fmt.Println(string(data))
	return 0
}
