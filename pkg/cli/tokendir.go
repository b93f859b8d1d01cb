package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// The token's directory (rolecall-serve-* under the temporary directory)
// holds the token file and a lock file, locked for as long as the
// endpoint lives: the kernel lets the lock go when the process ends,
// however it ends. A SIGKILLed serve cannot remove its directory; the next
// serve or exec --server of the same user finds it unlocked and removes
// it. Only directories (never a symlink) that this user owns and that
// hold a lock file are looked at: another user's, and those of rolecall
// releases that wrote no lock file, are left alone.
const (
	tokenDirPrefix = "rolecall-serve-"
	tokenDirLock   = "lock"
)

// makeTokenDir makes a private directory for a token file under base (the
// temporary directory when empty), with its lock held; the caller releases
// the lock after removing the directory.
func makeTokenDir(base string) (string, *safefile.Lock, error) {
	// Another rolecall's removeStaleTokenDirs may take the new lock file
	// between its creation and the flock, and remove the directory: then
	// a new one is made.
	for range 3 {
		dir, err := os.MkdirTemp(base, tokenDirPrefix) // 0700
		if err != nil {
			return "", nil, err
		}
		lock, ok, err := safefile.TryAcquire(filepath.Join(dir, tokenDirLock))
		if err == nil && ok {
			return dir, lock, nil
		}
		_ = os.RemoveAll(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", nil, err
		}
	}
	return "", nil, errors.New("another rolecall kept removing the new token directory")
}

// removeStaleTokenDirs removes this user's token directories under base
// whose endpoint is gone (their lock is free), and says so.
func removeStaleTokenDirs(base string, tell func(format string, args ...any)) {
	if base == "" {
		base = os.TempDir()
	}
	matches, _ := filepath.Glob(filepath.Join(base, tokenDirPrefix+"*"))
	for _, dir := range matches {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !safefile.OwnedByMe(fi) {
			continue // a symlink, a file, another user's
		}
		lockPath := filepath.Join(dir, tokenDirLock)
		if li, err := os.Lstat(lockPath); err != nil || !li.Mode().IsRegular() {
			continue // no lock file: not one rolecall can tell is stale
		}
		lock, ok, err := safefile.TryAcquire(lockPath)
		if err != nil || !ok {
			continue // a live endpoint's
		}
		// Released first: Windows removes no open file. RemoveAll removes
		// symlinks inside, never what they point to.
		lock.Release()
		rerr := os.RemoveAll(dir)
		if rerr != nil {
			tell("could not remove the token directory %s of an endpoint that is gone: %v", dir, rerr)
			continue
		}
		tell("removed the token directory %s of an endpoint that is gone (killed, it could not remove it)", dir)
	}
}

// tokenDirError wraps a failure to make the token's directory.
func tokenDirError(err error) error { return fmt.Errorf("make the token directory: %w", err) }
