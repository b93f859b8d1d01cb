package cache

import (
	"context"
	"errors"
	"fmt"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// lock takes key's lock (see the lock protocol in doc.go), waiting at most
// s.lockTimeout and as long as ctx allows.
//
// Something other than a regular file at KEY.lock (a FIFO, a symlink) is
// not a lock any rolecall can hold: safefile.Acquire removes it, without
// opening it, and takes the lock on a new file.
func (s *Store) lock(ctx context.Context, key string) (*safefile.Lock, error) {
	path := s.lockPath(key)
	l, ok, err := safefile.TryAcquire(path)
	if err == nil && ok {
		return l, nil
	}
	if err == nil && s.trace != nil {
		s.trace("waiting for %s: another rolecall is fetching the same credentials", path)
	}
	l, err = safefile.Acquire(ctx, path, s.lockTimeout)
	var timeout *safefile.LockTimeoutError
	switch {
	case errors.As(err, &timeout):
		timeout.Kind = "cache lock"
		timeout.Holder = "another rolecall process is fetching the same credentials (it may be waiting for STS or for an MFA code)"
		return nil, timeout
	case errors.Is(err, context.Canceled):
		return nil, err // already "stopped waiting for lock PATH (interrupted): …"
	case err != nil:
		return nil, fmt.Errorf("cannot lock cache entry: %w", err)
	}
	return l, nil
}
