package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular is wrapped by every error about a path that holds something
// other than a regular file (see NotRegularError).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by ReadFile's error for a file over its limit.
var ErrTooLarge = errors.New("file too large")

// NotRegularError is a path that holds a directory, symlink, FIFO, socket
// or device where a regular file was expected. Its message says which, in
// the words of a shell ("is a directory").
type NotRegularError struct {
	// Mode is the type of what was found.
	Mode fs.FileMode
}

// Error names what was found.
func (e *NotRegularError) Error() string {
	switch {
	case e.Mode.IsDir():
		return "is a directory"
	case e.Mode&fs.ModeSymlink != 0:
		return "is a symlink"
	case e.Mode&fs.ModeNamedPipe != 0:
		return "is a named pipe (FIFO)"
	case e.Mode&fs.ModeSocket != 0:
		return "is a socket"
	case e.Mode&fs.ModeDevice != 0:
		return "is a device"
	}
	return "is not a regular file"
}

// Is makes errors.Is(err, ErrNotRegular) true.
func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// ReadOptions say what ReadFile accepts.
type ReadOptions struct {
	// MaxSize is the most bytes the file may hold; a bigger file is an
	// error wrapping ErrTooLarge. It must be positive: every read is capped.
	MaxSize int64
	// NoFollow refuses a symlink at the path itself (a *NotRegularError)
	// instead of reading its target.
	NoFollow bool
	// Check, if set, sees the opened file's fstat before a byte is read
	// and may refuse it (an owner or mode that cannot be trusted).
	Check func(fs.FileInfo) error
	// EmptyDevice accepts a character device that reads empty (/dev/null,
	// which the AWS CLI takes for an empty file) as an empty file. The
	// device is read once, without waiting: one that has bytes to give
	// (/dev/zero) or would block (a terminal) is still a *NotRegularError.
	EmptyDevice bool
}

// ReadFile reads the regular file at path. It opens without blocking and
// checks with fstat that what it opened is a regular file before reading,
// so a FIFO or a device put at path is an error, never a hang.
func ReadFile(path string, opt ReadOptions) ([]byte, error) {
	if opt.MaxSize <= 0 {
		return nil, fmt.Errorf("read %s: no size limit given", path)
	}
	f, fi, err := openRegular(path, os.O_RDONLY, opt.NoFollow)
	if opt.EmptyDevice && isCharDevice(err) {
		return readEmptyDevice(path, opt.NoFollow)
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only: nothing to lose
	if opt.Check != nil {
		if err := opt.Check(fi); err != nil {
			return nil, err
		}
	}
	if fi.Size() > opt.MaxSize {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrTooLarge}
	}
	// The limit holds even when the size lied: a file still being
	// appended to, or one of /proc's that reports size 0.
	data, err := io.ReadAll(io.LimitReader(f, opt.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > opt.MaxSize {
		return nil, &fs.PathError{Op: "read", Path: path, Err: ErrTooLarge}
	}
	return data, nil
}

// openRegular opens path with flag plus O_NONBLOCK (and O_NOFOLLOW when
// noFollowLink) and returns it only if fstat says it is a regular file.
func openRegular(path string, flag int, noFollowLink bool) (*os.File, fs.FileInfo, error) {
	flag |= nonBlock
	if noFollowLink {
		flag |= noFollow
	}
	f, err := os.OpenFile(path, flag, 0o600) //nolint:gosec // callers pass their own files; O_NOFOLLOW and fstat guard the rest
	if err != nil {
		// The errno for O_NOFOLLOW on a link differs between systems
		// (ELOOP, EMLINK, EFTYPE): ask the file system what is there.
		if noFollowLink {
			if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return nil, nil, &fs.PathError{Op: "open", Path: path, Err: &NotRegularError{Mode: fi.Mode().Type()}}
			}
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: path, Err: &NotRegularError{Mode: fi.Mode().Type()}}
	}
	return f, fi, nil
}

func isCharDevice(err error) bool {
	var nr *NotRegularError
	return errors.As(err, &nr) && nr.Mode&fs.ModeCharDevice != 0
}

// readEmptyDevice reads the character device at path once, without
// waiting, and returns no bytes if it reads empty (end of file at once).
func readEmptyDevice(path string, noFollowLink bool) ([]byte, error) {
	flag := os.O_RDONLY | nonBlock
	if noFollowLink {
		flag |= noFollow
	}
	f, err := os.OpenFile(path, flag, 0) //nolint:gosec // as openRegular
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	notRegular := &fs.PathError{Op: "open", Path: path, Err: &NotRegularError{Mode: fi.Mode().Type()}}
	if fi.Mode()&fs.ModeCharDevice == 0 {
		return nil, notRegular
	}
	if n, err := readNoWait(f); err != nil || n != 0 {
		return nil, notRegular
	}
	return []byte{}, nil
}
