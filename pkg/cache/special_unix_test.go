//go:build unix

package cache

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails the test as hung if it has not returned in 30s:
// what it guards (an open of a FIFO that nobody writes) would otherwise
// hang for ever, and the test must fail fast rather than at its deadline.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("hung: %s still blocked after 30s", what)
	}
}

// lmode is the mode of what is at path itself, links not followed.
func lmode(path string) (fs.FileMode, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	return fi.Mode(), nil
}

// planters put something that is not a private regular file at path. The
// symlinks point at a complete, private entry for the same key (or at a
// FIFO), which would be a hit if the link were followed.
func planters(t *testing.T, dir, key string) map[string]func(path string) {
	t.Helper()
	good := filepath.Join(dir, "elsewhere")
	if err := os.Mkdir(good, 0o700); err != nil {
		t.Fatal(err)
	}
	target := writeRaw(t, good, key, encoded(t, testEntry("linked", time.Hour), key), 0o600)
	fifo := filepath.Join(good, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := func(to string) func(string) {
		return func(path string) {
			if err := os.Symlink(to, path); err != nil {
				t.Fatal(err)
			}
		}
	}
	return map[string]func(string){
		"fifo": func(path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"symlink to a valid entry": link(target),
		"symlink to a fifo":        link(fifo),
		"dangling symlink":         link(filepath.Join(good, "nowhere")),
	}
}

// TestEntryThatIsNotARegularFile: a FIFO or a symlink at an entry's path is
// a miss, is never opened blocking nor followed, and does not stop Fetch
// (which replaces it), --refresh, List or Remove (which removes it).
func TestEntryThatIsNotARegularFile(t *testing.T) {
	key := testKey("app")
	for name, plant := range planters(t, t.TempDir(), key) {
		t.Run(name, func(t *testing.T) {
			dir := cacheDir(t)
			s, _ := openStore(t, dir, Options{LockTimeout: time.Second})
			path := filepath.Join(dir, key+entrySuffix)
			replant := func() {
				t.Helper()
				if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
					t.Fatal(err)
				}
				plant(path)
			}

			plant(path)
			within(t, "Lookup", func() {
				if e, ok := s.Lookup(key, 0); ok {
					t.Errorf("Lookup hit %s through a %s", e.Credentials.AccessKeyID, name)
				}
			})
			within(t, "List", func() {
				if entries, err := s.List(); err != nil || len(entries) != 0 {
					t.Errorf("List = %d entries, %v; want none", len(entries), err)
				}
			})
			within(t, "Remove", func() {
				if n, err := s.Remove(func(Entry) bool { return true }); n != 1 || err != nil {
					t.Errorf("Remove(all) = %d, %v; want 1, nil", n, err)
				}
			})
			if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the %s is still there after Remove(all): %v", name, err)
			}

			for _, window := range []time.Duration{DefaultRefreshWindow, math.MaxInt64} {
				replant()
				c := newCounter()
				within(t, "Fetch", func() {
					e, out, err := s.Fetch(context.Background(), key, window, c.fetch)
					if err != nil || out.Result != Fetched || !out.Stored || e.Credentials.AccessKeyID != "ASIAfetch1" {
						t.Errorf("Fetch = %s, %v, %v; want fetched and stored", e.Credentials.AccessKeyID, out, err)
					}
				})
				if mode, err := lmode(path); err != nil || !mode.IsRegular() || mode.Perm() != 0o600 {
					t.Errorf("entry after Fetch: %v, %v; want a private regular file in place of the %s", mode, err, name)
				}
			}
		})
	}
}

// TestLockThatIsNotARegularFile: a FIFO or a symlink at KEY.lock is never
// opened blocking nor followed (a link's target is not created): Fetch
// replaces it with a lock file of its own, and Remove clears it.
func TestLockThatIsNotARegularFile(t *testing.T) {
	key := testKey("app")
	base := t.TempDir()
	for name, plant := range planters(t, base, key) {
		t.Run(name, func(t *testing.T) {
			dir := cacheDir(t)
			s, _ := openStore(t, dir, Options{LockTimeout: time.Second})
			lock := filepath.Join(dir, key+lockSuffix)

			plant(lock)
			c := newCounter()
			within(t, "Fetch", func() {
				if _, out, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, c.fetch); err != nil || out.Result != Fetched || !out.Stored {
					t.Errorf("Fetch = %v, %v; want fetched and stored", out, err)
				}
			})
			if mode, err := lmode(lock); err != nil || !mode.IsRegular() {
				t.Errorf("lock after Fetch: %v, %v; want a regular file in place of the %s", mode, err, name)
			}

			if err := os.Remove(lock); err != nil {
				t.Fatal(err)
			}
			plant(lock)
			within(t, "Remove", func() {
				if n, err := s.Remove(func(Entry) bool { return true }); n != 1 || err != nil {
					t.Errorf("Remove(all) = %d, %v; want 1, nil", n, err)
				}
			})
			if _, err := os.Lstat(lock); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the %s at the lock path is still there after Remove(all): %v", name, err)
			}
			if _, err := os.Lstat(filepath.Join(base, "elsewhere", "nowhere")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("a dangling link's target was created: %v", err)
			}
		})
	}
}
