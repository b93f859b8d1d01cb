//go:build unix

package cache

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the unprivileged uid and gid the root-only parts of these tests
// switch to.
const nobody = 65534

func TestNewDirAndFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "rolecall")
	s, w := openStore(t, dir, Options{})
	if got := perm(t, dir); got != 0o700 {
		t.Errorf("new cache dir mode = %#o, want 0700", got)
	}
	key := testKey("app")
	c := newCounter()
	mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	for _, name := range []string{key + entrySuffix, key + lockSuffix} {
		if got := perm(t, filepath.Join(dir, name)); got != 0o600 {
			t.Errorf("%s mode = %#o, want 0600", name, got)
		}
	}
	if len(w.list()) != 0 {
		t.Errorf("warnings %q, want none", w.list())
	}
}

func TestOpenTightensLooseDir(t *testing.T) {
	for _, mode := range []os.FileMode{0o755, 0o750, 0o777, 0o701} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "rolecall")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			s, w := openStore(t, dir, Options{})
			if got := perm(t, dir); got != 0o700 {
				t.Errorf("mode after Open = %#o, want 0700", got)
			}
			msgs := w.list()
			if len(msgs) != 1 || !strings.Contains(msgs[0], dir) || !strings.Contains(msgs[0], "0700") {
				t.Errorf("warnings = %q, want one naming the dir and the fix", msgs)
			}
			c := newCounter()
			if _, out := mustFetch(t, s, testKey("app"), DefaultRefreshWindow, c.fetch); !out.Stored {
				t.Errorf("Fetch after the fix: %v, want stored", out)
			}
		})
	}
}

func TestOpenRefusesDirOfAnotherUser(t *testing.T) {
	dir := "/" // owned by root: another user, unless we are root
	if os.Getuid() == 0 {
		dir = filepath.Join(t.TempDir(), "rolecall")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	s, w := openStore(t, dir, Options{})
	assertBypassed(t, s, w, "owned by uid")
}

func TestLooseEntryIsReplacedByPrivateOne(t *testing.T) {
	dir := cacheDir(t)
	s, _ := openStore(t, dir, Options{})
	key := testKey("app")
	path := writeRaw(t, dir, key, encoded(t, testEntry("old", time.Hour), key), 0o644)
	c := newCounter()
	e, out := mustFetch(t, s, key, DefaultRefreshWindow, c.fetch)
	if out.Result != Fetched || e.Credentials.AccessKeyID != "ASIAfetch1" {
		t.Fatalf("Fetch = %v, %s; want the 0644 entry ignored and replaced", out, e.Credentials.AccessKeyID)
	}
	if got := perm(t, path); got != 0o600 {
		t.Errorf("entry mode = %#o, want 0600", got)
	}
}

func TestReadOnlyCacheStillReturnsCredentials(t *testing.T) {
	base := t.TempDir()
	uid := os.Getuid()
	if uid == 0 {
		uid = nobody
	}
	// Each scenario's directory is owned by the user who runs it and
	// cannot be written to by them.
	mk := func(rel string) string {
		p := filepath.Join(base, rel)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := mk("empty")
	haslock := mk("haslock")
	parent := mk("parent")
	lock := filepath.Join(haslock, testKey("app")+lockSuffix)
	if err := os.WriteFile(lock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{lock, empty, haslock, parent} {
		if err := os.Lchown(p, uid, uid); err != nil && os.Getuid() == 0 {
			t.Fatal(err)
		}
	}
	for _, p := range []string{empty, haslock, parent} {
		if err := os.Chmod(p, 0o500); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { // let t.TempDir's cleanup in
		for _, p := range []string{empty, haslock, parent} {
			_ = os.Chmod(p, 0o700)
		}
	})

	var reports map[string]readOnlyReport
	if os.Getuid() != 0 {
		reports = runReadOnlyScenarios(base)
	} else {
		reports = runAsNobody(t, base)
	}

	for _, sc := range readOnlyScenarios {
		t.Run(sc.name, func(t *testing.T) {
			r, ok := reports[sc.name]
			if !ok {
				t.Fatal("no report")
			}
			if r.Calls != 2 || len(r.Keys) != 2 || r.Keys[0] != "ASIAfetch1" || r.Keys[1] != "ASIAfetch2" {
				t.Errorf("fetch calls = %d, credentials %q; want both Fetches to fetch and return credentials", r.Calls, r.Keys)
			}
			for i, stored := range r.Stored {
				if stored {
					t.Errorf("Fetch %d says it stored the entry", i)
				}
			}
			if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "not be cached") ||
				!strings.Contains(r.Warnings[0], filepath.Join(base, strings.SplitN(sc.dir, "/", 2)[0])) {
				t.Errorf("warnings = %q, want exactly one, naming the directory", r.Warnings)
			}
		})
	}
}

// runAsNobody runs the read-only scenarios in a helper process as the
// nobody user: root ignores file modes, so only an unprivileged process
// meets a read-only directory.
func runAsNobody(t *testing.T, base string) map[string]readOnlyReport {
	t.Helper()
	// The test binary lives in a private build directory: give nobody a
	// copy it can run, and a path it can walk to base.
	for p := base; p != filepath.Dir(p) && p != os.TempDir(); p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(base, "cache.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Close() }()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^$")
	cmd.Env = []string{helperEnv + "=readonly", helperDirEnv + "=" + base, "PATH=" + os.Getenv("PATH")}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Stderr = &testWriter{t: t, prefix: "readonly helper: "}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as uid %d: %v", nobody, err)
	}
	var reports map[string]readOnlyReport
	if err := json.Unmarshal(out, &reports); err != nil {
		t.Fatalf("helper report %q: %v", out, err)
	}
	return reports
}
