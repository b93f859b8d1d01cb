package safefile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// heldElsewhere locks path through a handle of its own, as another
// process would; unlock (or the end of the test) lets it go.
func heldElsewhere(t *testing.T, path string) (unlock func()) {
	t.Helper()
	fl := flock.New(path)
	if ok, err := fl.TryLock(); !ok || err != nil {
		t.Fatalf("lock %s for the test: %v, %v", path, ok, err)
	}
	unlock = func() { _ = fl.Unlock() }
	t.Cleanup(unlock)
	return unlock
}

func TestAcquireCreatesPrivateLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	l, err := safefile.Acquire(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.Path() != path {
		t.Errorf("Path() = %q, want %q", l.Path(), path)
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("lock file: %v, %v", fi, err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode = %#o, want 0600", fi.Mode().Perm())
	}
	// Held: nobody else gets it, in this process or another.
	if _, ok, err := safefile.TryAcquire(path); ok || err != nil {
		t.Errorf("TryAcquire while held = %v, %v; want false, nil", ok, err)
	}
	if ok, err := flock.New(path).TryLock(); ok || err != nil {
		t.Errorf("another handle's TryLock while held = %v, %v; want false, nil", ok, err)
	}
	l.Release()
	l.Release() // twice is harmless
	again, ok, err := safefile.TryAcquire(path)
	if !ok || err != nil {
		t.Fatalf("TryAcquire after Release = %v, %v; want the lock", ok, err)
	}
	again.Release()
}

func TestAcquireTimeoutNamesLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlockOther := heldElsewhere(t, path)

	start := time.Now()
	_, err := safefile.Acquire(context.Background(), path, 50*time.Millisecond)
	var timeout *safefile.LockTimeoutError
	if !errors.As(err, &timeout) {
		t.Fatalf("Acquire error = %v, want a *LockTimeoutError", err)
	}
	if timeout.Path != path || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "retry") {
		t.Errorf("error %q does not name the lock file %s and what to do", err, path)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Error("error does not unwrap to context.DeadlineExceeded")
	}
	if timeout.Waited < 50*time.Millisecond || time.Since(start) > 30*time.Second { // under the default minute, far above load
		t.Errorf("waited %s (%s by the clock), want the timeout and not much more", timeout.Waited, time.Since(start))
	}

	// Released on every path: once the other holder lets go, the lock is
	// free for this process, at once.
	unlockOther()
	l, ok, err := safefile.TryAcquire(path)
	if !ok || err != nil {
		t.Fatalf("TryAcquire after a timed-out wait = %v, %v; want the lock", ok, err)
	}
	l.Release()
}

func TestAcquireEndsWithCallerContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	heldElsewhere(t, path)
	background := context.Background()
	cancelled, cancel := context.WithCancel(background)
	cancel()
	cancelledLater, cancelLater := context.WithCancel(background)
	defer cancelLater()
	short, cancelShort := context.WithTimeout(background, 30*time.Millisecond)
	defer cancelShort()

	for _, tt := range []struct {
		name    string
		ctx     context.Context
		later   func() // ends ctx while Acquire waits
		timeout bool   // a *LockTimeoutError, not a cancellation
		is      error
	}{
		{name: "cancelled before", ctx: cancelled, is: safefile.ErrLockWaitCanceled},
		{name: "cancelled while waiting", ctx: cancelledLater, later: cancelLater, is: safefile.ErrLockWaitCanceled},
		{name: "caller deadline shorter than the timeout", ctx: short, timeout: true, is: context.DeadlineExceeded},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.later != nil {
				time.AfterFunc(30*time.Millisecond, tt.later)
			}
			start := time.Now()
			l, err := safefile.Acquire(tt.ctx, path, time.Hour)
			if err == nil {
				l.Release()
				t.Fatal("Acquire succeeded while another holds the lock")
			}
			var timeout *safefile.LockTimeoutError
			if errors.As(err, &timeout) != tt.timeout || !errors.Is(err, tt.is) || errors.Is(err, context.Canceled) == tt.timeout || !strings.Contains(err.Error(), path) {
				t.Errorf("Acquire error = %v, want timeout=%v wrapping %v and naming the lock", err, tt.timeout, tt.is)
			}
			if d := time.Since(start); d > 30*time.Second { // generous; the alternative is an hour
				t.Errorf("hung: Acquire took %s after its context ended", d)
			}
		})
	}
}

// TestAcquireExcludes has goroutines bump a counter file under the lock,
// half through one lock path and each through its own Acquire: none may
// lose another's increment.
func TestAcquireExcludes(t *testing.T) {
	dir := t.TempDir()
	path, counter := filepath.Join(dir, "x.lock"), filepath.Join(dir, "counter")
	put(t, counter, "0")
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			l, err := safefile.Acquire(context.Background(), path, 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer l.Release()
			data, err := os.ReadFile(counter)
			if err == nil {
				var v int
				v, err = strconv.Atoi(string(data))
				if err == nil {
					err = os.WriteFile(counter, []byte(strconv.Itoa(v+1)), 0o600)
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := content(t, counter); got != strconv.Itoa(n) {
		t.Errorf("counter = %s after %d locked increments", got, n)
	}
}

// TestAcquireGivesNothingToACancelledCaller: a caller who has already given
// up (Ctrl-C before the write began) must not get even a free lock.
func TestAcquireGivesNothingToACancelledCaller(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 20 { // the race it guards is a random choice: try it often
		l, err := safefile.Acquire(ctx, path, time.Minute)
		if err == nil {
			l.Release()
			t.Fatal("Acquire gave a free lock to a cancelled caller")
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire error = %v, want context.Canceled", err)
		}
	}
}

// TestAcquireZeroTimeoutMeansTheDefault: a timeout of zero is "not set"
// (DefaultLockTimeout, a minute), not "give up at once": with the lock
// held, Acquire waits until the caller's 300ms deadline. What is checked is
// that the caller's own context had expired when Acquire returned, not a
// duration: Acquire's Waited starts after the test's deadline was set, so
// under load it can read less than 300ms and still be right.
func TestAcquireZeroTimeoutMeansTheDefault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	heldElsewhere(t, path)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := safefile.Acquire(ctx, path, 0)
	var timeout *safefile.LockTimeoutError
	if !errors.As(err, &timeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire error = %v, want the caller's deadline", err)
	}
	if ctx.Err() == nil {
		t.Errorf("gave up after %s with timeout 0, before the caller's 300ms deadline (0 is the default)", timeout.Waited)
	}
}

// TestAcquireOutOfTimeNamesNoHolder: a caller whose deadline has already
// passed gets an OutOfTimeError, not a LockTimeoutError blaming a holder
// that does not exist; a held lock still gets the LockTimeoutError.
func TestAcquireOutOfTimeNamesNoHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := safefile.Acquire(ctx, path, time.Minute)
	var out *safefile.OutOfTimeError
	var held *safefile.LockTimeoutError
	if !errors.As(err, &out) || errors.As(err, &held) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline passed before the wait: %v (%T), want an OutOfTimeError", err, err)
	}

	l, err := safefile.Acquire(context.Background(), path, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, err = safefile.Acquire(context.Background(), path, 100*time.Millisecond)
	if !errors.As(err, &held) || errors.As(err, &out) {
		t.Fatalf("a held lock: %v (%T), want a LockTimeoutError", err, err)
	}
	_, err = safefile.Acquire(ctx, path, time.Minute)
	if !errors.As(err, &held) || errors.As(err, &out) {
		t.Fatalf("a held lock, deadline passed before the wait: %v (%T), want a LockTimeoutError", err, err)
	}
}
