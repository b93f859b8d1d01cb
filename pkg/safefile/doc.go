// Package safefile is the one place where rolecall replaces, locks and
// reads the files it shares with other processes: the credential cache's
// entries and the AWS config and credentials files.
//
// # Atomic replace
//
// Replace writes the new content to a temporary file in the target's
// directory, named ".TARGET.rolecall-RANDOM.tmp" and created with O_EXCL,
// O_NOFOLLOW and mode 0600 (so no other user can ever open it and a planted
// symlink is never followed), fsyncs it, renames it over the target, and
// fsyncs the directory (Unix). A reader therefore sees the old file or the
// new one, and a crash leaves one of them, never a mix. A writer killed
// before its rename leaves its temporary file behind; the next Replace of
// the same target removes those older than StaleTempAge, an age no live
// writer reaches.
//
// # Lock protocol
//
// Acquire takes an exclusive flock (github.com/gofrs/flock) on a lock file,
// creating it 0600 if needed. The goroutines of one process first queue on
// an in-process slot per path, so they wait without polling and stay
// correct where the OS lock is per process (fcntl emulation). flock(2) has
// no wait a context can cancel, so a waiter polls every LockRetryDelay until
// the lock is free, its timeout passes (a *LockTimeoutError naming the lock
// file) or its context ends. The kernel drops a flock when its holder dies,
// so a killed process never blocks the next one.
//
// A lock file may be deleted or replaced while someone waits on it (the
// cache deletes an entry's lock with the entry); a locker therefore checks,
// once it holds the lock, that the path still names the file it locked, and
// starts over if not.
//
// A lock file is opened with O_NOFOLLOW and O_NONBLOCK and must be a
// regular file: a symlink (whose target would otherwise be created), a
// FIFO (whose open would block) or anything else there is an error wrapping
// ErrNotRegular, found before any blocking open.
//
// # Reads
//
// ReadFile opens without blocking (O_NONBLOCK, and O_NOFOLLOW when asked),
// checks with fstat that it opened a regular file, and reads at most a
// given size: a FIFO, a device or an endless file at a path rolecall reads
// is an error, never a hang.
package safefile
