//go:build !unix

package cache

import "io/fs"

// checkPerms is off outside Unix: on Windows access is governed by ACLs,
// and the user's profile directory (where the default cache lives) already
// grants access to the user, SYSTEM and administrators only. Mode bits there
// mean nothing, so they are neither checked nor fixed.
const checkPerms = false

func currentUID() int { return -1 }

func privateFile(fi fs.FileInfo, _ int) bool { return fi.Mode().IsRegular() }

func checkDirOwner(string, fs.FileInfo, int) error { return nil }
