package safefile_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// must stops the test on an error from setting it up.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// put makes path a private file holding content.
func put(t *testing.T, path, content string) {
	t.Helper()
	must(t, os.WriteFile(path, []byte(content), 0o600))
}

// content is what the file at path holds.
func content(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	return string(data)
}

// names lists dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range ents {
		out = append(out, de.Name())
	}
	return out
}

func TestReplace(t *testing.T) {
	tests := []struct {
		name   string
		before func(t *testing.T, path string) // nil: nothing there
	}{
		{"new file", nil},
		{"existing file", func(t *testing.T, path string) { put(t, path, "old content that is longer than the new") }},
		{"existing loose file", func(t *testing.T, path string) {
			put(t, path, "old")
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "target")
			if tt.before != nil {
				tt.before(t, path)
			}
			if err := safefile.Replace(path, []byte("new")); err != nil {
				t.Fatal(err)
			}
			if got := content(t, path); got != "new" {
				t.Errorf("content = %q, want %q", got, "new")
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if !fi.Mode().IsRegular() || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("mode = %v, want a regular file with 0600", fi.Mode())
			}
			if got := names(t, dir); len(got) != 1 {
				t.Errorf("directory holds %q, want only the target", got)
			}
		})
	}
}

func TestReplaceOntoDirectoryFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	put(t, filepath.Join(path, "x"), "keep")
	err := safefile.Replace(path, []byte("new"))
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Replace onto a directory = %v, want an error naming it", err)
	}
	if got := names(t, dir); len(got) != 1 || got[0] != "target" {
		t.Errorf("directory holds %q after the failure, want no temporary file left", got)
	}
}

func TestReplaceRemovesStaleTempsOfItsTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	stale := filepath.Join(dir, ".target.rolecall-dead.tmp")
	recent := filepath.Join(dir, ".target.rolecall-live.tmp")
	otherStale := filepath.Join(dir, ".other.rolecall-dead.tmp")
	unrelated := filepath.Join(dir, "notes.tmp")
	for _, p := range []string{stale, recent, otherStale, unrelated} {
		put(t, p, "partial")
	}
	// Temp files are aged by the file system's clock, which is the real
	// one: backdate instead of waiting.
	old := time.Now().Add(-2 * safefile.StaleTempAge)
	for _, p := range []string{stale, otherStale, unrelated} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if err := safefile.Replace(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		kept bool
	}{{stale, false}, {recent, true}, {otherStale, true}, {unrelated, true}} {
		_, err := os.Lstat(tt.path)
		if kept := err == nil; kept != tt.kept {
			t.Errorf("%s kept = %v, want %v", filepath.Base(tt.path), kept, tt.kept)
		}
	}
}

func TestTempTarget(t *testing.T) {
	tests := []struct {
		name, target string
		ok           bool
	}{
		{".credentials.rolecall-abc123.tmp", "credentials", true},
		{".0123.json.rolecall-z.tmp", "0123.json", true},
		{".a.rolecall-b.rolecall-c.tmp", "a.rolecall-b", true},
		{".x.rolecall-1.tmp", "x", true}, // a one-character target (the shortest)
		{"credentials.rolecall-abc.tmp", "", false},
		{".credentials.rolecall-.tmp", "", false},
		{"..rolecall-x.tmp", "", false},
		{".credentials.rolecall-abc", "", false},
		{"notes.tmp", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := safefile.TempTarget(tt.name)
			if got != tt.target || ok != tt.ok {
				t.Errorf("TempTarget(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.target, tt.ok)
			}
		})
	}
}

// TestHookRunsBetweenSyncAndRename checks what the kill-mid-write tests of
// the cache and awsconfig rely on: when the hook runs, the temporary file
// is complete and private and the target is still the old file.
func TestHookRunsBetweenSyncAndRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "target")
	put(t, path, "old")
	var seen string
	safefile.SetTestHookBeforeRename(func(tmp string) {
		seen = tmp
		if got := content(t, tmp); got != "new" {
			t.Errorf("temporary file holds %q at the hook, want the complete new content", got)
		}
		if got := content(t, path); got != "old" {
			t.Errorf("target holds %q at the hook, want the old content", got)
		}
		if target, ok := safefile.TempTarget(filepath.Base(tmp)); !ok || target != "target" || filepath.Dir(tmp) != dir {
			t.Errorf("temporary file %s is not named for its target in its directory", tmp)
		}
	})
	t.Cleanup(func() { safefile.SetTestHookBeforeRename(nil) })
	if err := safefile.Replace(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if seen == "" {
		t.Fatal("the hook did not run")
	}
	if _, err := os.Lstat(seen); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file still there after the rename: %v", err)
	}
}
