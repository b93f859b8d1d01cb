//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rolecall/rolecall/pkg/safefile"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// The fault suite: what the scripts in testdata/script/fault_*.txtar cannot
// do, because it needs a process killed at an exact moment, a clock or an
// HTTP path bent in a way the emulator does not offer, or another user.
// Every test drives the real binary (this test binary re-executed as
// rolecall, see TestMain) against the STS emulator.

// pauseBeforeRenameEnv, when set in rolecall's environment, names a marker
// file. Between writing a cache entry's temporary file and renaming it over
// the entry, rolecall writes the temporary file's path to the marker and
// pauses until MARKER.release exists (or a minute has passed): a test kills
// it there, or lets it go on once another process is waiting on its lock.
const pauseBeforeRenameEnv = "ROLECALL_TEST_PAUSE_BEFORE_CACHE_RENAME"

// installFaultHooks runs in the re-executed binary before cli.Main. It does
// nothing unless a test asked for a hook in the environment. The hook is
// safefile's, which runs between writing a temporary file and renaming it
// over its target, so that a test can kill rolecall in the middle of a
// cache write, which no timing can hit reliably. (It would stop a write of
// the AWS files too; the tests that set it write only the cache.)
func installFaultHooks() {
	marker := os.Getenv(pauseBeforeRenameEnv)
	if marker == "" {
		return
	}
	safefile.SetTestHookBeforeRename(func(tmpPath string) {
		if err := os.WriteFile(marker, []byte(tmpPath), 0o600); err != nil {
			panic(err)
		}
		// Bounded, so that a test that neither kills nor releases does
		// not leave a process behind for ever.
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(marker + ".release"); err == nil {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// cmdCacheOK asserts that a cache directory holds nothing a failed or
// killed rolecall may leave behind: no temporary file, no lock that
// someone holds, and only entries that are private files of complete JSON.
//
//	cacheok DIR
func cmdCacheOK(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: cacheok DIR")
	}
	if err := cacheProblems(ts.MkAbs(args[0])); err != nil {
		ts.Fatalf("%v", err)
	}
}

// cacheProblems is cacheok for Go tests: nil when dir is clean.
func cacheProblems(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var problems []string
	for _, de := range ents {
		name := de.Name()
		path := filepath.Join(dir, name)
		switch {
		case strings.HasSuffix(name, ".tmp"):
			problems = append(problems, "temporary file "+name+" left behind")
		case strings.HasSuffix(name, ".lock"):
			fl := flock.New(path)
			ok, err := fl.TryLock()
			if err != nil {
				problems = append(problems, fmt.Sprintf("lock %s: %v", name, err))
			} else if !ok {
				problems = append(problems, "lock "+name+" is held")
			} else {
				_ = fl.Unlock()
			}
		case strings.HasSuffix(name, ".json"):
			fi, err := os.Stat(path)
			if err != nil {
				problems = append(problems, err.Error())
				continue
			}
			if fi.Mode().Perm() != 0o600 {
				problems = append(problems, fmt.Sprintf("entry %s has mode %#o", name, fi.Mode().Perm()))
			}
			data, err := os.ReadFile(path)
			var e struct {
				Version int `json:"version"`
			}
			if err == nil {
				err = json.Unmarshal(data, &e)
			}
			if err != nil || e.Version != 1 {
				problems = append(problems, fmt.Sprintf("entry %s is not a complete entry (%v)", name, err))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("cache %s: %s", dir, strings.Join(problems, "; "))
	}
	return nil
}

// cmdBigFile writes LINE and a newline over and over until the file holds
// at least SIZE bytes (a number with an optional K, M or G suffix):
//
//	bigfile PATH SIZE LINE
func cmdBigFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: bigfile PATH SIZE LINE")
	}
	size, err := parseSize(args[1])
	ts.Check(err)
	ts.Check(writeBigFile(ts.MkAbs(args[0]), size, args[2]+"\n"))
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	switch {
	case strings.HasSuffix(s, "K"):
		mult, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mult, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mult, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func writeBigFile(path string, size int64, line string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for n := int64(0); n < size; n += int64(len(line)) {
		if _, err := w.WriteString(line); err != nil {
			_ = f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// rcEnv is one hermetic setup for running the real binary outside a
// script: an emulator, a work directory with HOME, the AWS files, a cache
// directory and TMPDIR, and the environment rolecall runs with (nothing of
// the test process's but PATH).
type rcEnv struct {
	t     *testing.T
	sts   *ststest.Server
	bin   string
	work  string
	home  string
	cache string
	tmp   string
	vars  map[string]string
	// cred, when set, is the user rolecall runs as.
	cred *syscall.Credential
}

// newRCEnv starts an emulator for cfg and lays out a work directory.
// rolecall's base credentials are the demo user's keys, in the environment.
func newRCEnv(t *testing.T, cfg ststest.Config) *rcEnv {
	t.Helper()
	bin, err := exec.LookPath("rolecall") // testscript.Main put it on PATH
	if err != nil {
		t.Fatalf("the rolecall test command is not on PATH: %v", err)
	}
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)
	e := &rcEnv{t: t, sts: s, bin: bin}
	e.layout(t.TempDir())
	return e
}

// layout makes work the work directory: HOME with .aws, the cache
// directory (not created: rolecall makes it), TMPDIR, and the environment.
func (e *rcEnv) layout(work string) {
	e.t.Helper()
	e.work, e.home = work, filepath.Join(work, "home")
	e.cache, e.tmp = filepath.Join(work, "cache"), filepath.Join(work, "tmp")
	for _, dir := range []string{filepath.Join(e.home, ".aws"), e.tmp} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			e.t.Fatal(err)
		}
	}
	e.vars = map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"HOME":                        e.home,
		"USER":                        "tester",
		"TMPDIR":                      e.tmp,
		"AWS_CONFIG_FILE":             filepath.Join(e.home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(e.home, ".aws", "credentials"),
		"ROLECALL_CACHE_DIR":          e.cache,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_ENDPOINT_URL_STS":        e.sts.URL(),
		"AWS_ACCESS_KEY_ID":           ststest.DemoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       ststest.DemoSecretAccessKey,
		"GORACE":                      raceOptions(),
	}
}

// unprivilegedUID is who permission tests run rolecall as when the tests
// run as root: nobody.
const unprivilegedUID = 65534

// newUnprivilegedEnv is newRCEnv for tests of file permissions. Root reads
// and writes through any mode bits, so when the tests run as root (as CI
// does) rolecall runs as nobody, from a copy of the binary in a directory
// nobody can reach; otherwise it runs as the current user, whom the mode
// bits already bind.
func newUnprivilegedEnv(t *testing.T) *rcEnv {
	t.Helper()
	e := newRCEnv(t, ststest.DemoConfig())
	if os.Getuid() != 0 {
		return e
	}
	base, err := os.MkdirTemp("", "rolecall-unprivileged-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "rolecall")
	data, err := os.ReadFile(e.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	e.bin = bin
	e.layout(filepath.Join(base, "work"))
	e.cred = &syscall.Credential{Uid: unprivilegedUID, Gid: unprivilegedUID}
	e.chownAll(e.work)
	return e
}

// chownAll gives path and everything under it to the user rolecall runs
// as (a no-op unless that is another user).
func (e *rcEnv) chownAll(path string) {
	e.t.Helper()
	if e.cred == nil {
		return
	}
	err := filepath.WalkDir(path, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(e.cred.Uid), int(e.cred.Gid))
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// writeFile writes a file of rolecall's user under the work directory.
func (e *rcEnv) writeFile(path, content string, mode os.FileMode) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	e.chownAll(filepath.Dir(path))
}

// environ is rolecall's environment, plus extra NAME=VALUE pairs.
func (e *rcEnv) environ(extra ...string) []string {
	env := make([]string, 0, len(e.vars)+len(extra))
	for k, v := range e.vars {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return append(env, extra...)
}

// command is rolecall with args, in the work directory and environment.
func (e *rcEnv) command(ctx context.Context, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, e.bin, args...)
	cmd.Dir = e.work
	cmd.Env = e.environ(extraEnv...)
	if e.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: e.cred}
	}
	return cmd
}

// runResult is what one rolecall run printed and how it exited.
type runResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// run runs rolecall to its end (failing as hung after hangGuard).
func (e *rcEnv) run(args ...string) runResult {
	e.t.Helper()
	return e.runEnv(nil, args...)
}

func (e *rcEnv) runEnv(extraEnv []string, args ...string) runResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := e.command(ctx, extraEnv, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := runResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.t.Fatalf("rolecall %s hung: still running after %s\n%s", strings.Join(args, " "), hangGuard, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("run rolecall %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustRun runs rolecall and fails the test unless it exits 0. Only stderr
// is shown: stdout holds credentials.
func (e *rcEnv) mustRun(args ...string) runResult {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("rolecall %s exited %d:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// start starts rolecall in the background; stderr goes to the returned
// buffer, stdout is discarded unless the caller sets cmd.Stdout first.
func (e *rcEnv) start(extraEnv []string, stdout io.Writer, args ...string) (*exec.Cmd, *syncBuffer) {
	e.t.Helper()
	cmd := e.command(context.Background(), extraEnv, args...)
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, stderr
}

// syncBuffer is a bytes.Buffer a child process and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hangGuard bounds every wait in these tests: long enough that only a
// hang reaches it on a machine busy with other work, and the failure then
// says "hung". What a test checks is an event (a call, a line, an exit),
// never how soon it came.
const hangGuard = 5 * time.Minute

// waitCalls waits until the emulator has received n calls in all.
func (e *rcEnv) waitCalls(n int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	if err := e.sts.WaitCalls(ctx, n); err != nil {
		e.t.Fatalf("hung: the emulator did not get %d calls within %s: %v", n, hangGuard, err)
	}
}

// waitFor polls cond (every 5ms, failing as hung after hangGuard): the
// handshake with a process the test cannot otherwise hear from.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("hung: still waiting until %s after %s", what, hangGuard)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// entries returns the cache's entry files by name.
func (e *rcEnv) entries() map[string][]byte {
	e.t.Helper()
	out := map[string][]byte{}
	paths, err := filepath.Glob(filepath.Join(e.cache, "*.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// lockHeld reports whether some process holds one of the cache's locks.
func (e *rcEnv) lockHeld() bool {
	e.t.Helper()
	paths, _ := filepath.Glob(filepath.Join(e.cache, "*.lock"))
	for _, p := range paths {
		fl := flock.New(p)
		ok, err := fl.TryLock()
		if err != nil {
			e.t.Fatal(err)
		}
		if !ok {
			return true
		}
		_ = fl.Unlock()
	}
	return false
}

// kill9 kills a process the way a crash or the OOM killer does: no signal
// handler, no deferred cleanup.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("rolecall was not killed by SIGKILL: %v", err)
	}
}

// processCreds is the credential_process JSON rolecall prints.
type processCreds struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

func parseProcess(t *testing.T, stdout string) processCreds {
	t.Helper()
	var c processCreds
	if err := json.Unmarshal([]byte(stdout), &c); err != nil {
		t.Fatalf("stdout is not credential_process JSON: %v", err)
	}
	if c.Version != 1 || c.AccessKeyID == "" || c.SecretAccessKey == "" || c.SessionToken == "" || c.Expiration.IsZero() {
		t.Fatalf("credential_process JSON is incomplete (access key %q, expiration %v)", c.AccessKeyID, c.Expiration)
	}
	return c
}

// TestKillDuringSTSCall kills rolecall with SIGKILL while it waits for STS
// (holding the entry's lock): the cache must be as it was, the lock free
// (the kernel drops a dead process's flock), and the next call must work
// without waiting for anything.
func TestKillDuringSTSCall(t *testing.T) {
	t.Parallel()
	role := ststest.DemoRoleARN("demo")
	for _, tt := range []struct {
		name string
		warm bool // a good entry exists, and the killed call was a --refresh
	}{
		{"cold cache", false},
		{"refresh over a good entry", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newRCEnv(t, ststest.DemoConfig())
			args := []string{"process", role}
			var first runResult
			if tt.warm {
				first = e.mustRun("process", role)
				args = []string{"process", "--refresh", role}
			}
			before := e.entries()

			e.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultHang})
			calls := e.sts.CallCount("")
			cmd, _ := e.start(nil, nil, args...)
			e.waitCalls(calls + 1)
			if !e.lockHeld() {
				t.Fatal("rolecall waiting for STS holds no cache lock")
			}
			kill9(t, cmd)
			e.sts.SetFaults()

			if err := cacheProblems(e.cache); err != nil {
				t.Fatalf("after the kill: %v", err)
			}
			if got := e.entries(); !maps.EqualFunc(got, before, bytes.Equal) {
				t.Fatalf("a call killed while waiting for STS changed the cache: %d entries before, %d after", len(before), len(got))
			}

			// The lock file the dead process left does not hold up the
			// next call: with a 5s --timeout a held lock would be exit 7.
			assumeCalls := e.sts.CallCount("AssumeRole")
			r := e.mustRun("process", "--timeout", hangGuard.String(), role)
			parseProcess(t, r.stdout)
			if tt.warm {
				if r.stdout != first.stdout {
					t.Fatal("the call after the kill did not return the good entry")
				}
				if got := e.sts.CallCount("AssumeRole"); got != assumeCalls {
					t.Fatalf("the call after the kill made %d STS calls, want 0", got-assumeCalls)
				}
				// And a refresh, which takes that lock, works too.
				r = e.mustRun("process", "--refresh", "--timeout", hangGuard.String(), role)
				if r.stdout == first.stdout {
					t.Fatal("--refresh returned the old credentials")
				}
			} else if got := e.sts.CallCount("AssumeRole"); got != assumeCalls+1 {
				t.Fatalf("the call after the kill made %d STS calls, want 1", got-assumeCalls)
			}
			if err := cacheProblems(e.cache); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestKillDuringCacheWrite kills rolecall between writing the new entry to
// its temporary file and renaming it over the old one: the cache must hold
// the old entry byte for byte (or none), the next call must use it, and the
// leftover temporary file must be private and cleaned up once it is stale.
func TestKillDuringCacheWrite(t *testing.T) {
	t.Parallel()
	role := ststest.DemoRoleARN("demo")
	for _, tt := range []struct {
		name string
		warm bool
	}{
		{"cold cache", false},
		{"refresh over a good entry", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newRCEnv(t, ststest.DemoConfig())
			args := []string{"process", role}
			var first runResult
			if tt.warm {
				first = e.mustRun("process", role)
				args = []string{"process", "--refresh", role}
			}
			before := e.entries()

			marker := filepath.Join(e.work, "paused")
			cmd, _ := e.start([]string{pauseBeforeRenameEnv + "=" + marker}, nil, args...)
			var tmp string
			waitFor(t, "rolecall pauses before its rename", func() bool {
				b, err := os.ReadFile(marker)
				tmp = string(b)
				return err == nil && tmp != ""
			})
			kill9(t, cmd)

			if got := e.entries(); !maps.EqualFunc(got, before, bytes.Equal) {
				t.Fatalf("a write killed before its rename changed the entries: %d before, %d after", len(before), len(got))
			}
			fi, err := os.Stat(tmp)
			if err != nil {
				t.Fatalf("the killed write left no temporary file: %v", err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Fatalf("the temporary entry file has mode %#o, want 0600", fi.Mode().Perm())
			}
			if e.lockHeld() {
				t.Fatal("the killed process's lock is still held")
			}

			assumeCalls := e.sts.CallCount("AssumeRole")
			r := e.mustRun("process", "--timeout", hangGuard.String(), role)
			parseProcess(t, r.stdout)
			want := assumeCalls + 1
			if tt.warm {
				if r.stdout != first.stdout {
					t.Fatal("the call after the kill did not return the old entry")
				}
				want = assumeCalls
			}
			if got := e.sts.CallCount("AssumeRole"); got != want {
				t.Fatalf("the call after the kill made %d STS calls, want %d", got-assumeCalls, want-assumeCalls)
			}

			// A temporary file over a minute old is a dead writer's: the
			// next write removes it.
			old := time.Now().Add(-2 * time.Minute)
			if err := os.Chtimes(tmp, old, old); err != nil {
				t.Fatal(err)
			}
			e.mustRun("process", "--refresh", role)
			if err := cacheProblems(e.cache); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLockHeldByLiveProcess: a second rolecall for the same role waits for
// the first one's lock only up to its --timeout, then fails with exit 7,
// one error line that says what it waited for, and nothing on stdout.
func TestLockHeldByLiveProcess(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	role := ststest.DemoRoleARN("demo")
	e.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultHang})
	first, _ := e.start(nil, nil, "process", role)
	e.waitCalls(1)

	r := e.run("process", "--timeout", "1s", role)
	if r.code != 7 {
		t.Fatalf("waiting for a held lock exited %d, want 7:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Fatal("a lock timeout printed to stdout")
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "rolecall: error: timed out after ") ||
		!strings.Contains(lines[0], "waiting for cache lock") || !strings.HasPrefix(lines[1], "rolecall: hint: another rolecall holds the cache lock") {
		t.Fatalf("a lock timeout should be one error line and a hint, got:\n%s", r.stderr)
	}
	// Under the default minute (what an ignored --timeout would wait), far
	// above what load adds to 1s.
	if r.took > 50*time.Second {
		t.Fatalf("a 1s --timeout waited %s: as long as the default minute", r.took)
	}
	if got := e.sts.CallCount("AssumeRole"); got != 1 {
		t.Fatalf("the waiter called STS: %d AssumeRole calls, want 1", got)
	}

	kill9(t, first)
	e.sts.SetFaults()
	parseProcess(t, e.mustRun("process", "--timeout", hangGuard.String(), role).stdout)
}

// TestCredentialsExpireWhileWaitingOnLock: the process a waiter queued
// behind writes credentials that are already inside the refresh window.
// The waiter must not take them (they expire before its user is done) but
// fetch its own.
func TestCredentialsExpireWhileWaitingOnLock(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	role := ststest.DemoRoleARN("demo")
	// The first fetch gets credentials with 10 minutes left: inside the
	// default 15-minute refresh window by the time anyone reads them.
	e.sts.Advance(-50 * time.Minute)

	marker := filepath.Join(e.work, "paused")
	var firstOut bytes.Buffer
	first, _ := e.start([]string{pauseBeforeRenameEnv + "=" + marker}, &firstOut, "process", role)
	waitFor(t, "the first rolecall has fetched and holds the lock", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	e.sts.Advance(50 * time.Minute)

	var secondOut bytes.Buffer
	second, secondErr := e.start(nil, &secondOut, "--debug", "process", role)
	lockPaths, _ := filepath.Glob(filepath.Join(e.cache, "*.lock"))
	if len(lockPaths) != 1 {
		t.Fatalf("%d lock files, want 1", len(lockPaths))
	}
	waitFor(t, "the second rolecall waits on the lock", func() bool {
		return strings.Contains(secondErr.String(), "waiting for "+lockPaths[0])
	})
	if err := os.WriteFile(marker+".release", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first rolecall: %v", err)
	}
	if err := second.Wait(); err != nil {
		t.Fatalf("second rolecall: %v\n%s", err, secondErr)
	}

	a, b := parseProcess(t, firstOut.String()), parseProcess(t, secondOut.String())
	if a.AccessKeyID == b.AccessKeyID {
		t.Fatal("the waiter returned credentials that were inside the refresh window when it got the lock")
	}
	if left := time.Until(b.Expiration); left < 30*time.Minute {
		t.Fatalf("the waiter's credentials have %s left, want about an hour", left.Round(time.Second))
	}
	if got := e.sts.CallCount("AssumeRole"); got != 2 {
		t.Fatalf("%d AssumeRole calls, want 2", got)
	}
	if !strings.Contains(secondErr.String(), "fetched and cached (lock wait") {
		t.Fatalf("the waiter's trace does not show it fetched after the lock:\n%s", secondErr)
	}
	if err := cacheProblems(e.cache); err != nil {
		t.Fatal(err)
	}
	// The entry left is the fresh one.
	if r := e.mustRun("process", role); parseProcess(t, r.stdout).AccessKeyID != b.AccessKeyID {
		t.Fatal("the cache does not hold the waiter's fresh credentials")
	}
}

// TestClockSkew: the local clock minutes ahead of or behind STS. SigV4
// refuses a signature more than 15 minutes off; the SDK reads the skew from
// the answer's Date header and signs the retry with a corrected clock
// (aws-sdk-go-v2 aws/retry/middleware.go, wrapAsClockSkew: the
// SignatureDoesNotMatch answer becomes retryable when the Date header is
// more than 4 minutes off). Where no Date header comes back (a proxy that
// drops it), nothing can be corrected and the refusal must say to check the
// clock.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	role := ststest.DemoRoleARN("demo")
	for _, skew := range []time.Duration{20 * time.Minute, -20 * time.Minute, 3 * time.Hour} {
		t.Run(fmt.Sprintf("local clock off by %s", -skew), func(t *testing.T) {
			e := newRCEnv(t, ststest.DemoConfig())
			e.sts.SetRequestClockSkew(skew)

			parseProcess(t, e.mustRun("process", role).stdout)
			wantCorrected(t, e.sts.Calls(), "AssumeRole")
			r := e.mustRun("whoami")
			if !strings.Contains(r.stdout, ststest.DemoUserARN) {
				t.Fatalf("whoami printed %q", r.stdout)
			}
			wantCorrected(t, e.sts.Calls(), "GetCallerIdentity")

			// Without a Date header there is nothing to correct from.
			e.vars["AWS_ENDPOINT_URL_STS"] = dateDroppingProxy(t, e.sts.URL())
			r = e.run("process", "--refresh", role)
			if r.code != 4 || r.stdout != "" {
				t.Fatalf("a skewed signature without a Date header: exit %d (want 4), %d bytes on stdout\n%s", r.code, len(r.stdout), r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], "SignatureDoesNotMatch: Signature") ||
				!strings.HasPrefix(lines[1], "rolecall: hint: ") || !strings.Contains(lines[1], "clock") {
				t.Fatalf("the refusal should be one line naming the signature's time and a hint naming the clock, got:\n%s", r.stderr)
			}
		})
	}
}

// wantCorrected asserts that the last two calls of action were a refusal
// of the skewed signature and a corrected retry that succeeded.
func wantCorrected(t *testing.T, calls []ststest.Call, action string) {
	t.Helper()
	var got []string
	for _, c := range calls {
		if c.Action == action {
			got = append(got, c.Error)
		}
	}
	if len(got) != 2 || got[0] != "SignatureDoesNotMatch" || got[1] != "" {
		t.Fatalf("%s calls ended with %q, want one SignatureDoesNotMatch then one success", action, got)
	}
}

// dateDroppingProxy forwards to target and removes the Date header from
// every answer, as a misbehaving proxy would.
func dateDroppingProxy(t *testing.T, target string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		req.Host = r.Host // signed by the client
		req.ContentLength = r.ContentLength
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer func() { _ = resp.Body.Close() }()
		for k, vs := range resp.Header {
			if k != "Date" {
				w.Header()[k] = vs
			}
		}
		w.Header()["Date"] = nil // nil keeps net/http from adding its own
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// profileConfig names the demo role as profile p, with the environment's
// keys as its source.
const profileConfig = "[profile p]\nrole_arn = arn:aws:iam::123456789012:role/demo\ncredential_source = Environment\n"

// TestFilePermissions: a cache directory rolecall may not write, AWS files
// it may not read, a credentials file it may not write. The cache never
// costs the credentials; a file rolecall needs and cannot use is exit 3 or
// 7 with one line that names it.
func TestFilePermissions(t *testing.T) {
	t.Parallel()
	role := ststest.DemoRoleARN("demo")
	e := newUnprivilegedEnv(t)

	t.Run("read-only cache directory", func(t *testing.T) {
		e.vars["ROLECALL_CACHE_DIR"] = filepath.Join(e.work, "ro-cache")
		e.writeFile(filepath.Join(e.work, "ro-cache", "keep"), "", 0o600)
		readOnly(t, filepath.Join(e.work, "ro-cache"))
		calls := e.sts.CallCount("AssumeRole")
		for i := range 2 {
			r := e.mustRun("process", role)
			parseProcess(t, r.stdout)
			wantOneWarning(t, r.stderr, "credentials will not be cached")
			if got := e.sts.CallCount("AssumeRole"); got != calls+i+1 {
				t.Fatalf("call %d: %d AssumeRole calls, want %d", i+1, got-calls, i+1)
			}
		}
		if names := dirNames(t, filepath.Join(e.work, "ro-cache")); !slices.Equal(names, []string{"keep"}) {
			t.Fatalf("the read-only cache directory now holds %q", names)
		}
	})

	t.Run("cache directory cannot be created", func(t *testing.T) {
		parent := filepath.Join(e.work, "ro-parent")
		e.writeFile(filepath.Join(parent, "keep"), "", 0o600)
		readOnly(t, parent)
		e.vars["ROLECALL_CACHE_DIR"] = filepath.Join(parent, "cache")
		r := e.mustRun("assume", role)
		if !strings.Contains(r.stdout, "export AWS_SESSION_TOKEN=") {
			t.Fatal("no exports on stdout")
		}
		wantOneWarning(t, r.stderr, "cannot create cache directory")
	})
	e.vars["ROLECALL_CACHE_DIR"] = e.cache

	t.Run("unreadable config file", func(t *testing.T) {
		cfg := filepath.Join(e.work, "unreadable-config")
		e.writeFile(cfg, profileConfig, 0o000)
		e.vars["AWS_CONFIG_FILE"] = cfg
		defer func() { e.vars["AWS_CONFIG_FILE"] = filepath.Join(e.home, ".aws", "config") }()
		r := e.run("assume", "p")
		wantFailure(t, r, 3, "read "+cfg+": permission denied", "AWS_CONFIG_FILE")
		// A role ARN with keys in the environment needs no config file.
		parseProcess(t, e.mustRun("process", "--no-cache", role).stdout)
	})

	t.Run("unreadable credentials file", func(t *testing.T) {
		creds := filepath.Join(e.work, "unreadable-credentials")
		e.writeFile(creds, "[base]\naws_access_key_id = x\n", 0o000)
		e.writeFile(e.vars["AWS_CONFIG_FILE"], profileConfig, 0o600)
		e.vars["AWS_SHARED_CREDENTIALS_FILE"] = creds
		defer func() { e.vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(e.home, ".aws", "credentials") }()
		wantFailure(t, e.run("assume", "p"), 3, "read "+creds+": permission denied", "AWS_SHARED_CREDENTIALS_FILE")
	})

	t.Run("credentials file in a read-only directory", func(t *testing.T) {
		dir := filepath.Join(e.work, "ro-aws")
		path := filepath.Join(dir, "credentials")
		e.writeFile(path, "[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n", 0o600)
		readOnly(t, dir)
		e.vars["AWS_SHARED_CREDENTIALS_FILE"] = path
		defer func() { e.vars["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(e.home, ".aws", "credentials") }()
		r := e.run("assume", "--write-profile", "out", role)
		wantFailure(t, r, 7, path, "")
		if b, _ := os.ReadFile(path); string(b) != "[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n" {
			t.Fatal("a failed --write-profile changed the credentials file")
		}
		if names := dirNames(t, dir); !slices.Equal(names, []string{"credentials"}) {
			t.Fatalf("a failed --write-profile left %q", names)
		}
	})
}

// readOnly makes dir read-only (0500) until the test ends, when its
// temporary directory must be removable again.
func readOnly(t *testing.T, dir string) {
	t.Helper()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
}

// wantOneWarning asserts that stderr is exactly one warning line holding
// want.
func wantOneWarning(t *testing.T, stderr, want string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "rolecall: warning: ") || !strings.Contains(stderr, want) {
		t.Fatalf("stderr should be one warning saying %q, got:\n%s", want, stderr)
	}
}

// wantFailure asserts exit code, an empty stdout, and a stderr of one
// error line holding msg plus, when hint is not empty, a hint holding it.
func wantFailure(t *testing.T, r runResult, code int, msg, hint string) {
	t.Helper()
	if r.code != code || r.stdout != "" {
		t.Fatalf("exit %d with %d bytes on stdout, want exit %d and nothing:\n%s", r.code, len(r.stdout), code, clip(r.stderr))
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	ok := strings.HasPrefix(lines[0], "rolecall: error: ") && strings.Contains(lines[0], msg) && len(lines) <= 2
	if len(lines) == 2 {
		ok = ok && strings.HasPrefix(lines[1], "rolecall: hint: ")
	}
	if hint != "" {
		ok = ok && len(lines) == 2 && strings.Contains(lines[1], hint)
	}
	if !ok {
		t.Fatalf("stderr should be one error line with %q and a hint with %q, got:\n%s", msg, hint, clip(r.stderr))
	}
}

// clip keeps a test failure readable when stderr holds a runtime crash.
func clip(s string) string {
	const limit = 2000
	if len(s) <= limit {
		return s
	}
	return s[:limit] + fmt.Sprintf("\n… (%d more bytes)", len(s)-limit)
}

// dirNames lists a directory, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(ents))
	for i, de := range ents {
		names[i] = de.Name()
	}
	return names
}

// diskFullScript runs inside a private mount namespace: it mounts a small
// tmpfs at $FULL, lays out a cache directory, a credentials file and a
// GITHUB_ENV file that is one page less 96 bytes, fills the rest, and runs
// rolecall against each, writing what happened to $OUT.
const diskFullScript = `set -eu
mount -t tmpfs -o size=256k,mode=0700 rolecall-full "$FULL"
mkdir -m 0700 "$FULL/cache" "$FULL/aws"
printf '[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n' > "$FULL/aws/credentials"
head -c 4000 /dev/zero | tr '\0' '#' > "$FULL/github_env"
cat /dev/zero > "$FULL/filler" 2>/dev/null || true
run() {
	name=$1; shift
	set +e
	"$@" > "$OUT/$name.stdout" 2> "$OUT/$name.stderr"
	echo $? > "$OUT/$name.code"
	set -e
}
ROLECALL_CACHE_DIR="$FULL/cache" run process "$RC" process "$ROLE"
AWS_SHARED_CREDENTIALS_FILE="$FULL/aws/credentials" run write "$RC" assume --no-cache --write-profile out "$ROLE"
GITHUB_ENV="$FULL/github_env" run github "$RC" assume --no-cache -f github "$ROLE"
ls -A "$FULL/cache" > "$OUT/cache.ls"
ls -A "$FULL/aws" > "$OUT/aws.ls"
cp "$FULL/aws/credentials" "$FULL/github_env" "$OUT/"
`

// TestDiskFull: a full disk under the cache, the credentials file and
// GITHUB_ENV, made real with a small tmpfs in a private mount namespace
// (unshare -m as root, unshare -rm in a user namespace otherwise).
func TestDiskFull(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	unshare := mountNamespaceCommand(t)
	full, out := filepath.Join(e.work, "full"), filepath.Join(e.work, "out")
	for _, d := range []string{full, out} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare[0], append(unshare[1:], "sh", "-c", diskFullScript)...)
	cmd.Env = e.environ("FULL="+full, "OUT="+out, "RC="+e.bin, "ROLE="+ststest.DemoRoleARN("demo"))
	if b, err := cmd.CombinedOutput(); ctx.Err() != nil {
		t.Fatalf("hung: the disk-full script still running after %s\n%s", hangGuard, b)
	} else if err != nil {
		t.Fatalf("disk-full script: %v\n%s", err, b)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	result := func(name string) runResult {
		code, err := strconv.Atoi(strings.TrimSpace(read(name + ".code")))
		if err != nil {
			t.Fatal(err)
		}
		return runResult{stdout: read(name + ".stdout"), stderr: read(name + ".stderr"), code: code}
	}

	t.Run("cache", func(t *testing.T) {
		r := result("process")
		if r.code != 0 {
			t.Fatalf("a full disk under the cache: exit %d\n%s", r.code, r.stderr)
		}
		parseProcess(t, r.stdout)
		wantOneWarning(t, r.stderr, "no space left on device")
		if ls := strings.Fields(read("cache.ls")); slices.ContainsFunc(ls, func(n string) bool { return !strings.HasSuffix(n, ".lock") }) {
			t.Fatalf("a write that failed left %q in the cache", ls)
		}
	})
	t.Run("credentials file", func(t *testing.T) {
		wantFailure(t, result("write"), 7, "no space left on device", "")
		if got := read("credentials"); got != "[keep]\naws_access_key_id = AKIAKEEPKEEPKEEPKEEP\n" {
			t.Fatalf("a failed --write-profile changed the credentials file to %q", got)
		}
		if ls := strings.Fields(read("aws.ls")); !slices.Equal(ls, []string{"credentials", "credentials.lock"}) {
			t.Fatalf("a failed --write-profile left %q", ls)
		}
	})
	t.Run("GITHUB_ENV", func(t *testing.T) {
		r := result("github")
		if r.code != 7 || !strings.Contains(r.stderr, "rolecall: error: write GITHUB_ENV: ") || !strings.Contains(r.stderr, "no space left on device") {
			t.Fatalf("a full disk under GITHUB_ENV: exit %d (want 7)\n%s", r.code, r.stderr)
		}
		got := read("github_env")
		if !strings.HasPrefix(got, strings.Repeat("#", 4000)) {
			t.Fatal("a failed write changed what GITHUB_ENV held before")
		}
		// A short write is undone: the runner must not find a torn entry
		// after the step.
		if len(got) != 4000 {
			t.Fatalf("a failed write left %d bytes of a torn entry in GITHUB_ENV", len(got)-4000)
		}
	})
}

// mountNamespaceCommand is the command prefix that runs a shell script in
// a private mount namespace where it may mount a tmpfs. Where the machine
// allows neither (no root, no user namespaces), the test is skipped, except
// in CI, which runs as root.
func mountNamespaceCommand(t *testing.T) []string {
	t.Helper()
	prefix := []string{"unshare", "-m"}
	if os.Getuid() != 0 {
		prefix = []string{"unshare", "-r", "-m"}
	}
	probe := exec.CommandContext(context.Background(), prefix[0], append(prefix[1:], "sh", "-c", "mount -t tmpfs tmpfs /mnt")...)
	if b, err := probe.CombinedOutput(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s cannot mount a tmpfs, and CI runs as root: %v\n%s", strings.Join(prefix, " "), err, b)
		}
		t.Skipf("no private mount namespace for a full-disk tmpfs here (%v); CI runs this as root", err)
	}
	return prefix
}

// TestEndlessConfigFile: a config path naming an endless file (/dev/zero, a
// FIFO, a mistaken huge file) is refused with one line naming it, in
// bounded time and memory, instead of read until the kernel kills
// rolecall.
func TestEndlessConfigFile(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	e.vars["AWS_CONFIG_FILE"] = "/dev/zero"
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	// A 4 GiB address-space limit keeps a regression from taking the
	// machine with it.
	cmd := exec.CommandContext(ctx, "sh", "-c", `ulimit -v 4194304; exec "$0" assume p`, e.bin)
	cmd.Env = e.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("hung: rolecall still reading /dev/zero after %s", hangGuard)
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	wantFailure(t, runResult{stdout: stdout.String(), stderr: stderr.String(), code: code}, 3, "/dev/zero", "AWS_CONFIG_FILE")
}
