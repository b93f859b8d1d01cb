//go:build unix

package console

import (
	"os"
	"syscall"
)

// ownedByMe reports whether this user owns fi: in a shared /tmp, another
// user's directory with a matching name is not ours to remove.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}
