package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// DefaultRefreshWindow is how much validity a cached entry must have left to
// be used: enough for a long AWS CLI command started with it to finish.
const DefaultRefreshWindow = 15 * time.Minute

// DefaultLockTimeout bounds the wait for another process's fetch when
// Options.LockTimeout is zero.
const DefaultLockTimeout = 30 * time.Second

const (
	entrySuffix = ".json"
	lockSuffix  = ".lock"

	// maxEntrySize caps what Lookup reads: an entry is about 2 KiB, so a
	// bigger file is not ours and is not worth decoding.
	maxEntrySize = 64 << 10
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Now is the clock that decides freshness and stamps CreatedAt;
	// nil means time.Now.
	Now func() time.Time
	// LockTimeout bounds how long Fetch and Remove wait for another
	// process holding an entry's lock; zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// Warn receives problems that do not stop the credentials: a directory
	// whose mode was fixed, a cache that cannot be used. It is called from
	// the goroutine that called the Store and never with a secret.
	Warn func(msg string)
	// Trace, if set, reports a wait on another process's lock for
	// --debug; it never receives a secret.
	Trace func(format string, args ...any)
}

// Store is a credential cache directory. Its methods are safe for concurrent
// use, and for use by many processes at once on the same directory.
type Store struct {
	dir         string
	now         func() time.Time
	lockTimeout time.Duration
	warn        func(string)
	trace       func(string, ...any)
	uid         int

	// unusable, when set, is why the directory cannot be used at all: the
	// Store then passes every Fetch straight to its fetch function.
	unusable error

	warnMu sync.Mutex
	warned bool
}

// Open returns the Store for dir, creating the directory (0700) if needed
// and tightening a mode that lets other users in.
//
// A directory that cannot be used (it cannot be created, it is a file, it
// belongs to another user, its mode cannot be fixed) is not an error: the
// credentials can still be fetched, so Open reports the problem through
// Options.Warn and returns a Store that bypasses the cache (Lookup always
// misses, Fetch always fetches, List and Remove return the problem). Open
// fails only when dir is empty.
func Open(dir string, opt Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("open credential cache: no directory given")
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	s := &Store{
		dir:         dir,
		now:         opt.Now,
		lockTimeout: cmp.Or(opt.LockTimeout, DefaultLockTimeout),
		warn:        opt.Warn,
		trace:       opt.Trace,
		uid:         currentUID(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.warn == nil {
		s.warn = func(string) {}
	}
	if err := s.prepareDir(); err != nil {
		s.unusable = err
		s.warnUnusable(err)
	}
	return s, nil
}

// prepareDir makes s.dir exist as a private directory of the current user.
func (s *Store) prepareDir() error {
	fi, err := os.Stat(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return fmt.Errorf("cannot create cache directory: %w", err)
		}
		fi, err = os.Stat(s.dir)
	}
	if err != nil {
		return fmt.Errorf("cannot use cache directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cache directory %s exists and is not a directory", s.dir)
	}
	if !checkPerms {
		return nil
	}
	if err := checkDirOwner(s.dir, fi, s.uid); err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(s.dir, 0o700); err != nil { //nolint:gosec // a directory needs x; 0700 is owner-only
			return fmt.Errorf("cache directory %s has mode %#o, open to other users, and cannot be made 0700: %w", s.dir, uint32(perm), err)
		}
		s.warn(fmt.Sprintf("cache directory %s had mode %#o, open to other users: changed it to 0700", s.dir, uint32(perm)))
	}
	return nil
}

// warnUnusable reports, once per Store, that the cache cannot be used.
func (s *Store) warnUnusable(err error) {
	s.warnMu.Lock()
	defer s.warnMu.Unlock()
	if s.warned {
		return
	}
	s.warned = true
	s.warn(fmt.Sprintf("%v: credentials will not be cached", err))
}

// Dir returns the cache directory (made absolute).
func (s *Store) Dir() string { return s.dir }

func (s *Store) entryPath(key string) string {
	return s.dir + string(os.PathSeparator) + key + entrySuffix
}
func (s *Store) lockPath(key string) string {
	return s.dir + string(os.PathSeparator) + key + lockSuffix
}

// Lookup returns the entry for key if it has more than window left. It is
// the hot path of every credential_process call: one open, fstat and read of
// one file and a JSON decode; no lock, no directory scan, no write. Any
// problem with the file is a miss.
func (s *Store) Lookup(key string, window time.Duration) (Entry, bool) {
	if s.unusable != nil || !validKey(key) {
		return Entry{}, false
	}
	e, err := readEntry(s.entryPath(key), key, s.uid)
	if err != nil || !e.freshAt(s.now(), window) {
		return Entry{}, false
	}
	return e, true
}

var errNotPrivate = errors.New("cache entry is not a private file of the current user")

// readEntry reads and validates the entry file at path, written for key.
// The file is opened without following a symlink and without blocking, and
// its fstat must show a regular file of uid's that nobody else can read or
// write: anything else at path (a link, a FIFO, a planted file) is refused
// before a byte is read.
func readEntry(path, key string, uid int) (Entry, error) {
	data, err := safefile.ReadFile(path, safefile.ReadOptions{
		MaxSize:  maxEntrySize,
		NoFollow: true,
		Check: func(fi fs.FileInfo) error {
			if !privateFile(fi, uid) {
				return errNotPrivate
			}
			return nil
		},
	})
	if err != nil {
		return Entry{}, err
	}
	e, err := decodeEntry(data)
	if err != nil {
		return Entry{}, err
	}
	if e.Key != key {
		return Entry{}, fmt.Errorf("%w: written for another key", errInvalidEntry)
	}
	return e, nil
}

// Result is how Fetch got its entry.
type Result int

const (
	// Hit means a fresh entry was in the cache before any lock was taken.
	Hit Result = iota + 1
	// HitAfterLock means the entry was missing, and after waiting for the
	// lock it was there: another process fetched it meanwhile.
	HitAfterLock
	// Fetched means the fetch function was called.
	Fetched
)

// String names r for --debug.
func (r Result) String() string {
	switch r {
	case Hit:
		return "cache hit"
	case HitAfterLock:
		return "cache hit after waiting for the lock"
	case Fetched:
		return "fetched"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// Outcome says what Fetch did, for --debug.
type Outcome struct {
	Result Result
	// LockWait is how long Fetch waited for the entry's lock.
	LockWait time.Duration
	// Stored reports whether a fetched entry was written to the cache.
	Stored bool
	// NotStored says why a fetched entry was not written, when it was not.
	NotStored string
}

// String describes o in one line; it never contains a secret.
func (o Outcome) String() string {
	switch {
	case o.Result == HitAfterLock:
		return fmt.Sprintf("cache hit after waiting %s for the lock: another process fetched", o.LockWait.Round(time.Millisecond))
	case o.Result == Fetched && o.Stored:
		return fmt.Sprintf("fetched and cached (lock wait %s)", o.LockWait.Round(time.Millisecond))
	case o.Result == Fetched:
		return "fetched, not cached: " + o.NotStored
	}
	return o.Result.String()
}

// Fetch returns the entry for key: from the cache if it has more than
// window left, else from fetch, whose result it stores.
//
// Concurrent Fetches of one key, in this process or others, call fetch
// once: the first takes the key's lock and fetches, the others wait for the
// lock (at most Options.LockTimeout, and no longer than ctx allows) and then
// find its entry. A wait that times out returns an error wrapping a
// *safefile.LockTimeoutError.
//
// To force new credentials (--refresh), pass a window larger than any
// lifetime, such as math.MaxInt64: no entry is then fresh enough, and the
// fetched one replaces it.
//
// Fetch fills in the entry's Version, Key and, if zero, CreatedAt. An entry
// that is not valid for the cache (no expiration, no session token) is
// returned but not stored. A cache that cannot be written (read-only or full
// disk, directory gone) is reported once through Options.Warn and the
// fetched entry is still returned: the cache never costs the credentials.
// Errors from fetch are returned as they are.
func (s *Store) Fetch(ctx context.Context, key string, window time.Duration, fetch func(ctx context.Context) (Entry, error)) (Entry, Outcome, error) {
	if !validKey(key) {
		return Entry{}, Outcome{}, fmt.Errorf("fetch credentials: %q is not a cache key", key)
	}
	if s.unusable != nil {
		return s.fetchUncached(ctx, key, fetch, Outcome{NotStored: "cache unusable: " + s.unusable.Error()})
	}
	if e, ok := s.Lookup(key, window); ok {
		return e, Outcome{Result: Hit}, nil
	}
	start := time.Now()
	l, err := s.lock(ctx, key)
	out := Outcome{LockWait: time.Since(start)}
	if err != nil {
		var timeout *safefile.LockTimeoutError
		if errors.As(err, &timeout) || ctx.Err() != nil {
			return Entry{}, out, err
		}
		// The lock file cannot be created or locked: the directory is
		// not writable. Fetch without the cache rather than fail.
		s.warnUnusable(err)
		out.NotStored = err.Error()
		return s.fetchUncached(ctx, key, fetch, out)
	}
	defer l.Release()
	if e, ok := s.Lookup(key, window); ok {
		out.Result = HitAfterLock
		return e, out, nil
	}
	e, err := fetch(ctx)
	if err != nil {
		return Entry{}, out, err
	}
	out.Result = Fetched
	e = s.complete(e, key)
	if err := e.validate(); err != nil {
		out.NotStored = err.Error()
		return e, out, nil
	}
	if err := s.write(key, e); err != nil {
		s.warnUnusable(err)
		out.NotStored = err.Error()
		return e, out, nil
	}
	out.Stored = true
	return e, out, nil
}

func (s *Store) fetchUncached(ctx context.Context, key string, fetch func(ctx context.Context) (Entry, error), out Outcome) (Entry, Outcome, error) {
	e, err := fetch(ctx)
	if err != nil {
		return Entry{}, out, err
	}
	out.Result = Fetched
	return s.complete(e, key), out, nil
}

// complete fills in what Fetch owns in an entry.
func (s *Store) complete(e Entry, key string) Entry {
	e.Version = CurrentVersion
	e.Key = key
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	return e
}

// write stores e atomically: a reader sees the old entry or the new one,
// and whatever was at the entry's path (a corrupt file, a link, a FIFO) is
// replaced, never written through.
func (s *Store) write(key string, e Entry) error {
	data, err := encodeEntry(e)
	if err != nil {
		return err
	}
	if err := safefile.Replace(s.entryPath(key), data); err != nil {
		return fmt.Errorf("cannot write to the cache: %w", err)
	}
	return nil
}

// removeStaleTemps deletes the temporary files of every entry left by
// writers that died between create and rename (see safefile.Replace).
func (s *Store) removeStaleTemps() {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	seen := map[string]bool{}
	for _, de := range ents {
		target, ok := safefile.TempTarget(de.Name())
		if key, entry := strings.CutSuffix(target, entrySuffix); ok && entry && validKey(key) && !seen[target] {
			seen[target] = true
			safefile.RemoveStaleTemps(s.entryPath(key))
		}
	}
}

// keys returns the keys of the entry files in the directory.
func (s *Store) keys() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("read cache directory: %w", err)
	}
	var keys []string
	for _, de := range ents {
		if key, ok := strings.CutSuffix(de.Name(), entrySuffix); ok && validKey(key) {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// List returns every readable entry, expired ones included, sorted by label
// then expiration. Entries that Lookup would ignore at any window (corrupt,
// unknown version, impossible times, not a private regular file) are left
// out.
func (s *Store) List() ([]Entry, error) {
	if s.unusable != nil {
		return nil, s.unusable
	}
	keys, err := s.keys()
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(keys))
	now := s.now()
	for _, key := range keys {
		if e, err := readEntry(s.entryPath(key), key, s.uid); err == nil && e.plausibleAt(now) {
			e.decodeRequest()
			entries = append(entries, e)
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int {
		return cmp.Or(
			cmp.Compare(a.Label, b.Label),
			a.Credentials.Expiration.Compare(b.Credentials.Expiration),
			cmp.Compare(a.Key, b.Key))
	})
	return entries, nil
}

// Remove deletes every entry for which match returns true and returns how
// many it deleted. An entry that cannot be read is offered to match as the
// zero Entry, so a match that accepts everything (clear --all) removes
// corrupt entries too. Each entry is deleted under its lock, together with
// its lock file, so a Fetch in progress finishes first. Lock files without
// an entry that nobody holds, and stale temporary files, are removed as
// well.
func (s *Store) Remove(match func(Entry) bool) (int, error) {
	if s.unusable != nil {
		return 0, s.unusable
	}
	keys, err := s.keys()
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, key := range keys {
		e, err := readEntry(s.entryPath(key), key, s.uid)
		if err != nil {
			e = Entry{}
		}
		if !match(e) {
			continue
		}
		removed, err := s.removeKey(key)
		if err != nil {
			errs = append(errs, err)
		}
		if removed {
			n++
		}
	}
	s.removeOrphanLocks()
	s.removeStaleTemps()
	return n, errors.Join(errs...)
}

// removeOrphanLocks deletes the lock files of keys that have no entry (a
// fetch that failed leaves one), unless someone holds them: that is a
// fetch in progress.
func (s *Store) removeOrphanLocks() {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, de := range ents {
		key, ok := strings.CutSuffix(de.Name(), lockSuffix)
		if !ok || !validKey(key) {
			continue
		}
		l, ok, err := safefile.TryAcquire(s.lockPath(key))
		if errors.Is(err, safefile.ErrNotRegular) {
			// No rolecall can hold what is not a regular file.
			_ = os.Remove(s.lockPath(key))
			continue
		}
		if !ok || err != nil {
			continue
		}
		if _, err := os.Lstat(s.entryPath(key)); errors.Is(err, fs.ErrNotExist) {
			_ = os.Remove(s.lockPath(key))
		}
		l.Release()
	}
}

// removeKey deletes key's entry and lock file while holding its lock.
func (s *Store) removeKey(key string) (bool, error) {
	l, err := s.lock(context.Background(), key)
	if err != nil {
		return false, fmt.Errorf("remove cache entry: %w", err)
	}
	defer l.Release()
	err = os.Remove(s.entryPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove cache entry: %w", err)
	}
	// Deleting a held lock file is safe: a waiter that locks the old file
	// sees that the path no longer names it and starts over (see lock).
	// Windows refuses to delete an open file; the empty lock file then
	// stays, which is harmless.
	_ = os.Remove(s.lockPath(key))
	return true, nil
}
