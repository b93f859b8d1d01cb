package safefile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// DefaultLockTimeout bounds a lock wait when Acquire is given no timeout.
const DefaultLockTimeout = time.Minute

// LockRetryDelay is how often a waiter tries the flock again: flock(2) has
// no blocking wait that a context can cancel.
const LockRetryDelay = 10 * time.Millisecond

// ErrLockWaitCanceled is wrapped, together with the context's error, by
// Acquire's error when the caller cancelled the wait (Ctrl-C): callers tell
// it from other failures without matching text.
var ErrLockWaitCanceled = errors.New("interrupted")

// LockTimeoutError is returned when a lock was still held by someone else
// when the wait's timeout, or the caller's context deadline, passed. It
// unwraps to context.DeadlineExceeded.
type LockTimeoutError struct {
	// Path is the lock file.
	Path string
	// Waited is how long the lock was waited for.
	Waited time.Duration
	// Err is the context error that ended the wait.
	Err error
	// Kind and Holder are for the message, which callers that know more
	// than Acquire may set: what the lock guards ("cache lock"; empty
	// means "lock") and who is likely to hold it (empty means another
	// process).
	Kind, Holder string
}

// Error names the lock file, who holds it and what to do.
func (e *LockTimeoutError) Error() string {
	return fmt.Sprintf("timed out after %s waiting for %s %s: %s; let it finish or stop it, then retry",
		e.Waited.Round(100*time.Millisecond), cmp.Or(e.Kind, "lock"), e.Path, cmp.Or(e.Holder, "another process holds it"))
}

// Unwrap lets errors.Is see the context error.
func (e *LockTimeoutError) Unwrap() error { return e.Err }

// OutOfTimeError is returned when the caller's deadline had passed before
// the wait began and nobody holds the lock: the time went to the caller's
// earlier work, not to a holder, so naming a holder would mislead. It unwraps to
// context.DeadlineExceeded.
type OutOfTimeError struct {
	// Path is the lock file.
	Path string
	// Err is the context error.
	Err error
}

func (e *OutOfTimeError) Error() string {
	return "no time left to take lock " + e.Path + ": the deadline passed before the wait began (nobody holds it)"
}

// Unwrap lets errors.Is see the context error.
func (e *OutOfTimeError) Unwrap() error { return e.Err }

// Lock is an exclusive lock held on a lock file. Release it on every path.
type Lock struct {
	path    string
	fl      *flock.Flock
	slot    chan struct{}
	release sync.Once
}

// Path is the lock file.
func (l *Lock) Path() string { return l.path }

// Release lets the lock go. It may be called more than once. An error of
// the unlock itself is not reported: closing the file, which Release
// always does, drops the flock anyway.
func (l *Lock) Release() {
	l.release.Do(func() {
		_ = l.fl.Unlock()
		<-l.slot
	})
}

// slots holds, per lock path, a one-slot channel that the goroutines of
// this process take before the flock: they queue on it without polling,
// and the protocol stays correct where the OS lock is per process rather
// than per open file (fcntl locks, which flock uses on some systems).
var slots sync.Map // lock path -> chan struct{}

func slotFor(path string) chan struct{} {
	if ch, ok := slots.Load(path); ok {
		return ch.(chan struct{})
	}
	ch, _ := slots.LoadOrStore(path, make(chan struct{}, 1))
	return ch.(chan struct{})
}

// LockError is a lock that could not be taken for a reason other than
// someone holding it: the lock file cannot be created or opened, or
// something that is not a regular file sits at its path and cannot be
// removed. Callers report it as a local file problem.
type LockError struct {
	Path string
	Err  error
}

func (e *LockError) Error() string { return "lock " + e.Path + ": " + e.Err.Error() }
func (e *LockError) Unwrap() error { return e.Err }

// Acquire takes the exclusive lock on the lock file at path, creating the
// file (0600) if it is missing. It waits at most timeout (DefaultLockTimeout
// when not positive) and no longer than ctx allows: a wait that runs out of
// time returns a *LockTimeoutError, one whose ctx is cancelled returns an
// error wrapping ErrLockWaitCanceled and context.Canceled.
//
// One rule for every lock file rolecall takes (cache, config, credentials,
// IAM Identity Center token): something at path that is not a regular file
// (a FIFO, a symlink, an empty directory) is no lock any rolecall can
// hold, so it is removed, never opened or followed, and the lock is taken
// on a new file. What cannot be removed is a *LockError wrapping
// ErrNotRegular.
func Acquire(ctx context.Context, path string, timeout time.Duration) (*Lock, error) {
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// A select with both cases ready picks one at random: look at the
	// context first, so that a caller who has already given up (Ctrl-C)
	// never gets the lock.
	if wctx.Err() != nil {
		return nil, waitError(ctx, wctx, path, start, heldNow(path))
	}
	slot := slotFor(path)
	select {
	case slot <- struct{}{}:
	case <-wctx.Done():
		return nil, waitError(ctx, wctx, path, start, true)
	}
	for replaced := false; ; {
		fl, ok, err := tryFlock(path)
		if err != nil && !replaced && errors.Is(err, ErrNotRegular) {
			replaced = true
			if err = removeNotRegular(path, err); err == nil {
				continue
			}
		}
		if err != nil {
			<-slot
			return nil, &LockError{Path: path, Err: err}
		}
		if ok {
			return &Lock{path: path, fl: fl, slot: slot}, nil
		}
		select {
		case <-wctx.Done():
			<-slot
			return nil, waitError(ctx, wctx, path, start, true)
		case <-time.After(LockRetryDelay):
		}
	}
}

// TryAcquire takes the lock on path only if nobody holds it; ok is false if
// someone does. Errors, and what is not a regular file, are Acquire's.
func TryAcquire(path string) (l *Lock, ok bool, err error) {
	slot := slotFor(path)
	select {
	case slot <- struct{}{}:
	default:
		return nil, false, nil
	}
	fl, ok, err := tryFlock(path)
	if err != nil && errors.Is(err, ErrNotRegular) {
		if err = removeNotRegular(path, err); err == nil {
			fl, ok, err = tryFlock(path)
		}
	}
	if err != nil {
		<-slot
		return nil, false, &LockError{Path: path, Err: err}
	}
	if !ok {
		<-slot
		return nil, false, nil
	}
	return &Lock{path: path, fl: fl, slot: slot}, true, nil
}

// removeNotRegular removes what is at a lock path that is not a regular
// file (notRegular says what), so that a lock can be taken on a new file.
// os.Remove removes a symlink itself, never its target.
func removeNotRegular(path string, notRegular error) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w, and removing it failed: %w", notRegular, err)
	}
	return nil
}

// lockFlags open a lock file without following a symlink (whose target
// O_CREATE would make) and without blocking on a FIFO.
func lockFlags() int {
	flag := os.O_CREATE | os.O_RDONLY
	switch runtime.GOOS {
	case "aix", "solaris", "illumos":
		// fcntl, which flock uses there, needs a writable file for an
		// exclusive lock.
		flag = os.O_CREATE | os.O_RDWR
	}
	return flag | noFollow | nonBlock
}

// tryFlock makes one attempt at the flock on path. ok is false when
// someone holds it, and also when the file was deleted or replaced between
// the open and the flock (the caller tries again).
func tryFlock(path string) (fl *flock.Flock, ok bool, err error) {
	// Look before opening: nothing that is not a regular file is opened
	// at all. The fstat below closes the race this leaves.
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, false, &NotRegularError{Mode: fi.Mode().Type()}
	}
	fl = flock.New(path, flock.SetFlag(lockFlags()), flock.SetPermissions(0o600))
	ok, err = fl.TryLock()
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, false, &NotRegularError{Mode: fi.Mode().Type()}
		}
		return nil, false, err
	}
	if !ok {
		return nil, false, nil
	}
	held, err := fl.Stat() // an fstat of the open file, while locked
	if err != nil {
		_ = fl.Unlock()
		return nil, false, err
	}
	if !held.Mode().IsRegular() {
		_ = fl.Unlock()
		return nil, false, &NotRegularError{Mode: held.Mode().Type()}
	}
	if !sameFile(held, path) {
		// The holder deleted the file while we waited on it: the lock
		// guards nothing. The caller locks the path's new file instead,
		// after a pause, so that a directory that keeps vanishing (deleted
		// under a running rolecall) cannot spin its loop.
		_ = fl.Unlock()
		return nil, false, nil
	}
	return fl, true, nil
}

// sameFile reports whether held is still the file at path.
func sameFile(held fs.FileInfo, path string) bool {
	current, err := os.Lstat(path)
	return err == nil && os.SameFile(held, current)
}

// heldNow reports whether another process holds the lock at path at this
// moment, taking it for no longer than the look.
func heldNow(path string) bool {
	fl, ok, err := tryFlock(path)
	if ok {
		_ = fl.Unlock()
	}
	return err == nil && !ok
}

// waitError explains why waiting for the lock at path ended: the caller
// cancelled, the caller's time was up before anyone was seen holding it, or
// the wait for a holder ran out of time.
func waitError(ctx, wctx context.Context, path string, start time.Time, held bool) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("stopped waiting for lock %s (%w): %w", path, ErrLockWaitCanceled, ctx.Err())
	}
	if !held {
		return &OutOfTimeError{Path: path, Err: wctx.Err()}
	}
	return &LockTimeoutError{Path: path, Waited: time.Since(start), Err: wctx.Err()}
}
