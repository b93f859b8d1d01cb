// Package cache keeps temporary AWS credentials on disk between rolecall
// runs, so that a credential_process invoked on every AWS CLI call does not
// call STS every time.
//
// # Directory
//
// One flat directory (DefaultDir: $ROLECALL_CACHE_DIR, else the user cache
// directory + /rolecall) with mode 0700, owned by the current user. Open
// tightens a looser mode and refuses, through Options.Warn, a directory owned
// by someone else or a path that is not a directory: the cache is then
// bypassed and every Fetch simply calls STS. On Windows the mode and owner
// checks are skipped: access is governed by ACLs, which the user profile's
// defaults already restrict to the user.
//
// # Files
//
// For a request with cache key K (KeyInput.Key, 64 hex digits):
//
//	K.json                  the entry: versioned JSON (see Entry), mode 0600
//	K.lock                  the lock file (flock), empty, mode 0600
//	.K.json.rolecall-*.tmp  a write in progress; removed after a minute if
//	                        its writer died (cleaned on later writes)
//
// Nothing in the directory is ever opened through a symlink, and nothing
// that is not a regular file is opened blocking (package safefile). An
// entry file is only read if it is a regular file owned by the current user
// with no group or other permission bits; anything else (a symlink, a FIFO,
// a loose mode, another owner, corrupt or truncated JSON, an unknown
// version, an entry written for another key, impossible times such as a
// creation in the future or a life longer than any STS session) is treated
// as a miss and replaced by the next Fetch. Nothing read from the cache is
// ever fatal.
//
// # Lock protocol
//
// Lookup takes no lock: entries are replaced by rename, so a reader sees
// the old file or the new one, never half of one. Fetch takes the per-key
// lock (safefile.Acquire: an exclusive flock on K.lock, plus an in-process
// slot so the goroutines of one process queue without polling), reads the
// entry again, since the process it waited for has usually just written it,
// and calls STS only if it is still missing. The kernel drops a flock when its holder dies,
// so a killed rolecall never blocks the next one; there is no PID file. A
// lock file may be deleted (by Remove, which holds the lock while it deletes
// both files); a locker therefore checks, once it holds the lock, that the
// path still names the file it locked, and starts over if not. Something
// other than a regular file at K.lock is removed, never opened, and a new
// lock file made in its place.
//
// Writes (safefile.Replace) go to a temporary file created with O_EXCL,
// O_NOFOLLOW and mode 0600 (so no other user can ever open it), are
// fsynced, renamed over the entry, and the directory is fsynced (Unix), so
// a crash leaves the old entry or the new one. On Windows a rename over an entry that a reader has open at that
// instant can fail; like every write failure it only costs the caching of
// that fetch (one warning, credentials still returned).
//
// A cache that cannot be written (read-only directory, full disk, directory
// removed) never stops the credentials: Fetch reports it once per Store
// through Options.Warn and returns what it fetched.
package cache
