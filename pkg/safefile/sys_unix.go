//go:build unix

package safefile

import (
	"os"
	"syscall"
)

// noFollow makes an open fail (ELOOP) on a symlink instead of following it.
const noFollow = syscall.O_NOFOLLOW

// nonBlock makes the open of a FIFO or device return at once instead of
// waiting for a peer; reads of a regular file are not affected by it.
const nonBlock = syscall.O_NONBLOCK

// syncDir makes a rename in dir durable: without it a crash can lose the
// rename even though the file's data was fsynced.
func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // the directory of a file being replaced
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// OwnedByMe reports whether this user owns fi: in a shared /tmp, another
// user's file or directory with a matching name is not ours to remove.
func OwnedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
