//go:build unix

package safefile_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// returnsQuickly reports whether f returned within 30 seconds. What it
// guards (the open of a FIFO that nobody writes) would otherwise block for
// ever, and the test must fail long before go test's deadline; the bound
// is generous, for a busy machine, since f does no more than a stat.
func returnsQuickly(f func()) bool {
	done := make(chan struct{})
	go func() {
		f()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(30 * time.Second):
		return false
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

func TestReplaceOverSymlinkOrFIFOReplacesIt(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	put(t, victim, "not yours")
	for name, plant := range map[string]func(path string){
		"symlink":          func(path string) { symlink(t, victim, path) },
		"dangling symlink": func(path string) { symlink(t, filepath.Join(dir, "nowhere"), path) },
		"fifo":             func(path string) { mkfifo(t, path) },
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			plant(path)
			if !returnsQuickly(func() {
				if err := safefile.Replace(path, []byte("new")); err != nil {
					t.Error(err)
				}
			}) {
				t.Fatal("hung: Replace blocked (30s)")
			}
			if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() || content(t, path) != "new" {
				t.Errorf("target after Replace: %v, %v; want a regular file with the new content", fi, err)
			}
			if got := content(t, victim); got != "not yours" {
				t.Errorf("the link's target was written: %q", got)
			}
			if _, err := os.Lstat(filepath.Join(dir, "nowhere")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a dangling link's target was created: %v", err)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	put(t, regular, "0123456789")
	link := filepath.Join(dir, "link")
	symlink(t, regular, link)
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	linkToFIFO := filepath.Join(dir, "link-to-fifo")
	symlink(t, fifo, linkToFIFO)
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	errLoose := errors.New("loose")

	tests := []struct {
		name    string
		path    string
		opt     safefile.ReadOptions
		want    string
		wantErr error
		wantMsg string
	}{
		{name: "regular", path: regular, opt: safefile.ReadOptions{MaxSize: 10}, want: "0123456789"},
		{name: "over the limit", path: regular, opt: safefile.ReadOptions{MaxSize: 9}, wantErr: safefile.ErrTooLarge},
		{name: "no limit", path: regular, opt: safefile.ReadOptions{}, wantMsg: "no size limit"},
		{name: "symlink followed", path: link, opt: safefile.ReadOptions{MaxSize: 10}, want: "0123456789"},
		{name: "symlink refused", path: link, opt: safefile.ReadOptions{MaxSize: 10, NoFollow: true}, wantErr: safefile.ErrNotRegular, wantMsg: "is a symlink"},
		{name: "fifo", path: fifo, opt: safefile.ReadOptions{MaxSize: 10}, wantErr: safefile.ErrNotRegular, wantMsg: "is a named pipe"},
		{name: "symlink to a fifo, followed", path: linkToFIFO, opt: safefile.ReadOptions{MaxSize: 10}, wantErr: safefile.ErrNotRegular},
		{name: "directory", path: sub, opt: safefile.ReadOptions{MaxSize: 10}, wantErr: safefile.ErrNotRegular, wantMsg: "is a directory"},
		{name: "device", path: "/dev/null", opt: safefile.ReadOptions{MaxSize: 10}, wantErr: safefile.ErrNotRegular, wantMsg: "is a device"},
		{name: "missing", path: filepath.Join(dir, "missing"), opt: safefile.ReadOptions{MaxSize: 10}, wantErr: fs.ErrNotExist},
		{name: "refused by the check", path: regular, opt: safefile.ReadOptions{MaxSize: 10, Check: func(fi fs.FileInfo) error {
			if fi.Size() != 10 || !fi.Mode().IsRegular() {
				t.Errorf("Check saw %v, %d bytes; want the opened file", fi.Mode(), fi.Size())
			}
			return errLoose
		}}, wantErr: errLoose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			var err error
			if !returnsQuickly(func() { got, err = safefile.ReadFile(tt.path, tt.opt) }) {
				t.Fatal("hung: ReadFile blocked (30s)")
			}
			if tt.wantErr == nil && tt.wantMsg == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("ReadFile = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadFile = %q, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// TestAcquireReplacesWhatIsNotARegularFile (issue 23, item 9): one rule
// for every lock file: a FIFO, a symlink or an empty directory at the
// lock path is removed, never opened blocking or followed (the link's
// target is untouched, a dangling link's target not created), and the
// lock is taken on a new regular file. What cannot be removed (a directory
// with something in it) is a *LockError wrapping ErrNotRegular.
func TestAcquireReplacesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	put(t, victim, "not a lock")
	tests := []struct {
		name  string
		plant func(path string)
	}{
		{"fifo", func(path string) { mkfifo(t, path) }},
		{"symlink to a file", func(path string) { symlink(t, victim, path) }},
		{"dangling symlink", func(path string) { symlink(t, filepath.Join(dir, "created-by-lock"), path) }},
		{"directory", func(path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, acquire := range []string{"Acquire", "TryAcquire"} {
		for _, tt := range tests {
			t.Run(acquire+"/"+tt.name, func(t *testing.T) {
				path := filepath.Join(dir, acquire+"-"+strings.ReplaceAll(tt.name, " ", "-")+".lock")
				tt.plant(path)
				if !returnsQuickly(func() {
					var l *safefile.Lock
					var err error
					if acquire == "Acquire" {
						l, err = safefile.Acquire(context.Background(), path, time.Minute)
					} else {
						var ok bool
						if l, ok, err = safefile.TryAcquire(path); err == nil && !ok {
							err = errors.New("not acquired")
						}
					}
					if err != nil {
						t.Errorf("%s: %v", acquire, err)
						return
					}
					defer l.Release()
					if fi, err := os.Lstat(path); err != nil || !fi.Mode().IsRegular() {
						t.Errorf("the lock file is no regular file: %v", err)
					}
				}) {
					t.Fatal("hung: " + acquire + " blocked")
				}
				if got := content(t, victim); got != "not a lock" {
					t.Errorf("the link's target changed: %q", got)
				}
				if _, err := os.Lstat(filepath.Join(dir, "created-by-lock")); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("locking a dangling link created its target: %v", err)
				}
			})
		}
	}
	t.Run("directory with a file", func(t *testing.T) {
		path := filepath.Join(dir, "full.lock")
		must(t, os.Mkdir(path, 0o700))
		put(t, filepath.Join(path, "inside"), "x")
		_, err := safefile.Acquire(context.Background(), path, time.Minute)
		var le *safefile.LockError
		if !errors.As(err, &le) || !errors.Is(err, safefile.ErrNotRegular) || !strings.Contains(err.Error(), path) {
			t.Errorf("Acquire error = %v, want a LockError wrapping ErrNotRegular naming %s", err, path)
		}
	})
}

// TestLockWaitOpensOneDescriptor: a waiter polls the flock on the one lock
// file it opened; a new descriptor a poll (closed only by the garbage
// collector) would run a minute's wait out of descriptors.
func TestLockWaitOpensOneDescriptor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.lock")
	holder := flock.New(path)
	if err := holder.Lock(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Close() }()
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("counting descriptors needs /proc, which CI has: %v", err)
			}
			t.Skip("no /proc/self/fd")
		}
		return len(entries)
	}
	before := fds()
	done := make(chan struct{})
	most := before
	go func() {
		defer close(done)
		_, err := safefile.Acquire(context.Background(), path, 300*time.Millisecond)
		var te *safefile.LockTimeoutError
		if !errors.As(err, &te) {
			t.Errorf("Acquire: %v, want a timeout", err)
		}
	}()
	for {
		select {
		case <-done:
			if most-before > 2 {
				t.Fatalf("a 300ms wait held %d descriptors at once (want at most 2 more than the %d before)", most-before, before)
			}
			if after := fds(); after > before {
				t.Fatalf("%d descriptors after the wait, %d before", after, before)
			}
			return
		case <-time.After(5 * time.Millisecond):
			most = max(most, fds())
		}
	}
}
