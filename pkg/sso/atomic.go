package sso

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// writeFileAtomic replaces path with data through safefile.Replace: a
// temporary file in the same directory, created 0600 and never readable by
// others, synced, renamed over path, the directory synced. A reader sees
// the old file or the new one. The directory is created 0700 if missing
// (the AWS CLI creates ~/.aws/sso/cache the same way on first login).
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	return safefile.Replace(path, data)
}

// withFileLock runs fn holding the exclusive lock on path + ".lock"
// (safefile.Acquire: flock, waiting as long as ctx allows). The lock file
// stays: deleting it would let two processes lock two different files.
func withFileLock(ctx context.Context, path string, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	l, err := safefile.Acquire(ctx, path+".lock", 0)
	if err != nil {
		return err
	}
	defer l.Release()
	return fn()
}
