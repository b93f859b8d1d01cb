package cache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// LockTimeoutError is returned when another process held an entry's lock
// for longer than the lock timeout (or the caller's context allowed). It
// unwraps to the context's error.
type LockTimeoutError struct {
	// Path is the lock file.
	Path string
	// Waited is how long the lock was waited for.
	Waited time.Duration
	// Err is context.DeadlineExceeded or the caller's context error.
	Err error
}

// Error names the lock file and says what to do; the CLI adds its hint.
func (e *LockTimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for cache lock %s: another rolecall process is fetching the same credentials "+
		"(it may be waiting for STS or for an MFA code); let it finish or stop it, then retry",
		e.Waited.Round(time.Millisecond), e.Path)
}

// Unwrap lets errors.Is see context.DeadlineExceeded.
func (e *LockTimeoutError) Unwrap() error { return e.Err }

// processLocks holds, per lock path, a one-slot channel that the goroutines
// of this process take before the flock. It makes them queue without
// polling, and keeps the protocol correct where the OS lock is per process
// rather than per open file (fcntl locks, which flock uses on some systems).
var processLocks sync.Map // lock path -> chan struct{}

func processLock(path string) chan struct{} {
	if ch, ok := processLocks.Load(path); ok {
		return ch.(chan struct{})
	}
	ch, _ := processLocks.LoadOrStore(path, make(chan struct{}, 1))
	return ch.(chan struct{})
}

// heldLock is a taken entry lock.
type heldLock struct {
	fl      *flock.Flock
	process chan struct{}
}

func (l *heldLock) unlock() {
	_ = l.fl.Unlock()
	<-l.process
}

// lock takes key's lock, waiting at most s.lockTimeout and as long as ctx
// allows.
func (s *Store) lock(ctx context.Context, key string) (*heldLock, error) {
	path := s.lockPath(key)
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, s.lockTimeout)
	defer cancel()

	process := processLock(path)
	select {
	case process <- struct{}{}:
	case <-wctx.Done():
		return nil, lockWaitError(ctx, wctx, path, start)
	}
	for {
		fl := flock.New(path, flock.SetPermissions(0o600))
		ok, err := fl.TryLockContext(wctx, lockRetryDelay)
		if ok {
			if lockedCurrentFile(fl, path) {
				return &heldLock{fl: fl, process: process}, nil
			}
			// Remove deleted the file while we waited on it: the lock
			// guards nothing. Lock the path's new file instead, after a
			// pause and within the wait's bound, so that a directory
			// that keeps vanishing (deleted under a running rolecall)
			// cannot spin this loop.
			_ = fl.Unlock()
			select {
			case <-wctx.Done():
				<-process
				return nil, lockWaitError(ctx, wctx, path, start)
			case <-time.After(lockRetryDelay):
			}
			continue
		}
		<-process
		if wctx.Err() != nil {
			return nil, lockWaitError(ctx, wctx, path, start)
		}
		return nil, fmt.Errorf("cannot lock cache entry: %w", err)
	}
}

// tryLock takes key's lock only if nobody holds it; ok is false if
// someone does.
func (s *Store) tryLock(key string) (l *heldLock, ok bool, err error) {
	path := s.lockPath(key)
	process := processLock(path)
	select {
	case process <- struct{}{}:
	default:
		return nil, false, nil
	}
	fl := flock.New(path, flock.SetPermissions(0o600))
	if ok, err = fl.TryLock(); !ok || err != nil {
		<-process
		return nil, false, err
	}
	if !lockedCurrentFile(fl, path) {
		_ = fl.Unlock()
		<-process
		return nil, false, nil
	}
	return &heldLock{fl: fl, process: process}, true, nil
}

// lockedCurrentFile reports whether the file fl has locked is still the one
// at path.
func lockedCurrentFile(fl *flock.Flock, path string) bool {
	held, err := fl.Stat() // the open handle's file, while locked
	if err != nil {
		return false
	}
	current, err := os.Stat(path) //nolint:gosec // path is the cache dir + a validated hex key
	return err == nil && os.SameFile(held, current)
}

// lockWaitError explains why waiting for the lock at path ended: the
// caller cancelled, or the wait ran out of time.
func lockWaitError(ctx, wctx context.Context, path string, start time.Time) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("wait for cache lock %s: %w", path, ctx.Err())
	}
	return &LockTimeoutError{Path: path, Waited: time.Since(start), Err: wctx.Err()}
}
