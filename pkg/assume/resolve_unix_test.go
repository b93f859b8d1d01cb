//go:build unix

package assume

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestPolicyFileIsBounded: --policy @FILE reads a regular file of at most a
// MiB; /dev/zero, a FIFO nobody writes to and a huge file are refused at
// once, never read whole or waited on.
func TestPolicyFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV0000000000001", "AWS_SECRET_ACCESS_KEY": "s"}
	for _, file := range []string{"/dev/zero", fifo, huge} {
		_, err := resolveIn(t, "", "", keys, Request{Roles: []string{demo}, Policy: "@" + file})
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--policy") {
			t.Errorf("--policy @%s: %v, want a usage error", file, err)
		}
	}
}
