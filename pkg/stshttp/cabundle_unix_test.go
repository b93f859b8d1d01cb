//go:build unix

package stshttp

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// TestCABundleFIFO: a FIFO has no writer here, so opening it would block
// for ever; the bundle must be refused from its stat alone.
func TestCABundleFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bundle.pem")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mkfifo, which CI's file systems allow: %v", err)
		}
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := NewClient(Options{CABundle: path})
		done <- err
	}()
	select {
	case err := <-done:
		var be *CABundleError
		if !errors.As(err, &be) || !errors.Is(err, safefile.ErrNotRegular) {
			t.Errorf("error = %v, want CABundleError: not a regular file", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hung: NewClient still blocked on a FIFO after 30s")
	}
}
