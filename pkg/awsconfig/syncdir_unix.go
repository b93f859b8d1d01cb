//go:build unix

package awsconfig

import "os"

// syncDir makes a rename in dir durable: on Unix the new directory entry
// reaches the disk only when the directory itself is synced.
func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // the directory of the AWS file being written
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}
