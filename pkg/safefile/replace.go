package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// StaleTempAge is when a temporary file is taken to belong to a dead
// writer: a live one renames it within milliseconds. Ages are judged by
// the real clock, since modification times come from the kernel's.
const StaleTempAge = time.Minute

const (
	tempInfix  = ".rolecall-"
	tempSuffix = ".tmp"
)

// beforeRename is the test hook SetTestHookBeforeRename installs.
var beforeRename atomic.Pointer[func(tmpPath string)]

// SetTestHookBeforeRename makes every Replace in this process call hook
// after its temporary file is written and fsynced and before it is renamed
// over the target; nil removes the hook. Tests use it to stop or kill a
// writer at the worst moment, which no timing can hit reliably.
func SetTestHookBeforeRename(hook func(tmpPath string)) {
	if hook == nil {
		beforeRename.Store(nil)
		return
	}
	beforeRename.Store(&hook)
}

// Replace atomically replaces the file at path with data (see the package
// comment): a reader sees the old file or the new one, never a mix. The new
// file has mode 0600. Whatever was at path (a file, a symlink, a FIFO) is
// replaced, not written through; a directory there is an error. Stale
// temporary files of path are removed afterwards.
func Replace(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	tmp, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if hook := beforeRename.Load(); hook != nil {
		(*hook)(name)
	}
	if err = os.Rename(name, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	RemoveStaleTemps(path)
	if err := syncDir(dir); err != nil {
		// The file is replaced; only its durability across a crash is in
		// doubt, and the caller decides what that costs.
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// createTemp creates a new temporary file for target in its directory, as
// os.CreateTemp does, but with O_NOFOLLOW besides O_EXCL and 0600.
func createTemp(target string) (*os.File, error) {
	dir, prefix := filepath.Dir(target), "."+filepath.Base(target)+tempInfix
	for range 100 {
		name := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36)+tempSuffix) //nolint:gosec // a unique name, not a secret
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|noFollow, 0o600)        //nolint:gosec // O_EXCL: never an existing file or link
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, prefix+"*"+tempSuffix), Err: fs.ErrExist}
}

// TempTarget returns the base name of the file that the temporary file
// called name was written to replace, and whether name is one of Replace's
// temporary files at all.
func TempTarget(name string) (string, bool) {
	rest, ok := strings.CutSuffix(name, tempSuffix)
	if !ok || !strings.HasPrefix(rest, ".") {
		return "", false
	}
	i := strings.LastIndex(rest, tempInfix)
	if i < 2 || i+len(tempInfix) == len(rest) {
		return "", false
	}
	return rest[1:i], true
}

// RemoveStaleTemps deletes the temporary files of target (see Replace)
// that are older than StaleTempAge: left by writers that died between
// create and rename. Younger ones may belong to a live writer and stay.
// Failures are ignored: a leftover costs only disk space.
func RemoveStaleTemps(target string) {
	dir, base := filepath.Dir(target), filepath.Base(target)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-StaleTempAge)
	for _, de := range ents {
		if t, ok := TempTarget(de.Name()); !ok || t != base {
			continue
		}
		if fi, err := de.Info(); err == nil && fi.ModTime().Before(cutoff) { // Info is an lstat
			_ = os.Remove(filepath.Join(dir, de.Name()))
		}
	}
}
