//go:build unix

package awsconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestWriteReplacesLockFileThatIsNotAFile (issue 23, item 9): a symlink
// or a FIFO at FILE.lock is replaced by a lock file, as the cache's are,
// never followed (the link's target is not created) or opened blocking,
// and the write goes through.
func TestWriteReplacesLockFileThatIsNotAFile(t *testing.T) {
	for _, kind := range []string{"symlink", "fifo"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "credentials")
			elsewhere := filepath.Join(dir, "elsewhere")
			var err error
			if kind == "symlink" {
				err = os.Symlink(elsewhere, path+".lock")
			} else {
				err = syscall.Mkfifo(path+".lock", 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteCredentialsSection(t.Context(), path, "work", testCreds("ASIANEW"), WriteOptions{}); err != nil {
				t.Fatalf("write: %v", err)
			}
			if _, err := os.Lstat(elsewhere); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the link's target was created: %v", err)
			}
			if fi, err := os.Lstat(path + ".lock"); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("the lock file is no regular file: %v", err)
			}
			if data, err := os.ReadFile(path); err != nil || !strings.Contains(string(data), "[work]") {
				t.Errorf("the section was not written: %v", err)
			}
		})
	}
}
