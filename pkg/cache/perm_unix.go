//go:build unix

package cache

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// checkPerms is on for Unix: the owner and mode of the directory and of
// every entry are checked.
const checkPerms = true

// currentUID is the uid files must be owned by.
func currentUID() int { return os.Getuid() }

// ownerOf returns the uid that owns fi, or -1 if it is unknown.
func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// privateFile reports whether an entry file can be trusted: a regular file
// of ours that nobody else can read or write.
func privateFile(fi fs.FileInfo, uid int) bool {
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o077 == 0 && ownerOf(fi) == uid
}

// checkDirOwner refuses a directory that another user owns: they could read
// the credentials or plant an entry of their own.
func checkDirOwner(dir string, fi fs.FileInfo, uid int) error {
	if owner := ownerOf(fi); owner != uid {
		return fmt.Errorf("cache directory %s is owned by uid %d, not by you (uid %d): refusing to use it; fix its owner or pass another --cache-dir", dir, owner, uid)
	}
	return nil
}
