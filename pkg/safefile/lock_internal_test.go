package safefile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gofrs/flock"
)

// TestSameFileNoticesReplacedLockFile covers the race a deleting holder
// creates: a waiter in another process that opened the lock file before it
// was deleted, and then got the flock on it, must not believe that locking
// the deleted file excludes anyone.
func TestSameFileNoticesReplacedLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	stale := flock.New(path)
	if err := stale.Lock(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stale.Unlock() }()
	held := func(fl *flock.Flock) os.FileInfo {
		t.Helper()
		fi, err := fl.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return fi
	}
	if !sameFile(held(stale), path) {
		t.Fatal("sameFile = false for the file at the path")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if sameFile(held(stale), path) {
		t.Error("sameFile = true after the file was deleted")
	}
	fresh := flock.New(path)
	if err := fresh.Lock(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = fresh.Unlock() }()
	if sameFile(held(stale), path) {
		t.Error("sameFile = true after the path got a new file")
	}
	if !sameFile(held(fresh), path) {
		t.Error("sameFile = false for the new file")
	}
}
