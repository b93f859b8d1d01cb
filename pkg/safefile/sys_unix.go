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

// readNoWait makes one read(2) of f's descriptor, never parking in Go's
// poller: a device with nothing to give now answers EAGAIN instead of
// blocking. It returns how many bytes the read gave (0 at end of file).
func readNoWait(f *os.File) (int, error) {
	raw, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	buf := make([]byte, 1)
	if err := raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), buf)
		return true // done, whatever the answer: never wait
	}); err != nil {
		return 0, err
	}
	return n, rerr
}

// OwnedByMe reports whether this user owns fi: in a shared /tmp, another
// user's file or directory with a matching name is not ours to remove.
func OwnedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
