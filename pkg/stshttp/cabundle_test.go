package stshttp

import (
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCABundleErrors(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	block, _ := pem.Decode(pki.caPEM)
	huge := filepath.Join(dir, "huge.pem")
	if err := os.WriteFile(huge, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	// Sparse: the size check must refuse it before reading anything.
	if err := os.Truncate(huge, maxCABundleBytes+1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		is   error  // errors.Is target, if any
		msg  string // in the message
	}{
		{"missing", filepath.Join(dir, "missing.pem"), fs.ErrNotExist, "no such file"},
		{"directory", dir, nil, "is a directory"},
		{"too large", huge, nil, "too large for a CA bundle"},
		{"empty", write("empty.pem", nil), errNoCertificates, "no PEM certificate"},
		{"not PEM", write("junk.pem", []byte("hello\n")), errNoCertificates, "no PEM certificate"},
		{"DER, not PEM", write("ca.der", block.Bytes), errNoCertificates, "converted to PEM"},
		{"a key, no certificate", write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})), errNoCertificates, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(Options{CABundle: tt.path})
			var be *CABundleError
			if !errors.As(err, &be) {
				t.Fatalf("NewClient error = %v, want *CABundleError", err)
			}
			if be.Path != tt.path {
				t.Errorf("Path = %q, want %q", be.Path, tt.path)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.msg) || !strings.HasPrefix(msg, "CA bundle "+tt.path+": ") {
				t.Errorf("message %q, want %q after the path", msg, tt.msg)
			}
			if strings.Count(msg, tt.path) != 1 {
				t.Errorf("message %q names the path more than once", msg)
			}
		})
	}
}

func TestCABundleWithOtherBlocks(t *testing.T) {
	// A bundle as people keep them: comments, a key by mistake, two CAs.
	pki, other := newTestPKI(t), newTestPKI(t)
	data := "# corporate proxy CA\n" + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})) +
		string(pki.caPEM) + "\nsome text\n" + string(other.caPEM)
	path := filepath.Join(t.TempDir(), "bundle.pem")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := loadCABundle(path)
	if err != nil {
		t.Fatal(err)
	}
	//nolint:staticcheck // Subjects is deprecated only for system pools
	if n := len(pool.Subjects()); n != 2 {
		t.Errorf("pool has %d certificates, want 2", n)
	}
}
