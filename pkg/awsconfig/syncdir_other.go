//go:build !unix

package awsconfig

// syncDir is a no-op where directories cannot be opened for syncing
// (Windows): there MoveFileEx, behind os.Rename, replaces the file in one
// step and the file's own contents were synced before the rename.
func syncDir(string) error { return nil }
