//go:build !unix

package safefile

import (
	"errors"
	"os"
)

// Windows has neither symlink-following opens of this kind nor FIFOs that
// block an open, so the flags are empty there.
const (
	noFollow = 0
	nonBlock = 0
)

// readNoWait reports no device as empty where a read cannot be made
// without waiting.
func readNoWait(*os.File) (int, error) { return 0, errors.ErrUnsupported }

// syncDir does nothing: Windows cannot open a directory for fsync, and
// MoveFileEx, behind os.Rename, replaces the file in one journalled step.
func syncDir(string) error { return nil }

// OwnedByMe is true where the temporary directory is the user's own
// (Windows' %TEMP% is under the user's profile).
func OwnedByMe(os.FileInfo) bool { return true }
