package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReferenceDocsUpToDate regenerates the command reference with the
// generator scripts/gen-docs.sh runs (run, in this process: no go run, so
// a test run builds nothing more), into a temporary directory, and
// compares it with the checked-in docs/reference: a flag or help text
// changed without regenerating fails here, naming the page.
func TestReferenceDocsUpToDate(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	if err := run(fresh, "", "unused"); err != nil {
		t.Fatal(err)
	}

	checkedIn := filepath.Join(repo, "docs", "reference")
	want := markdownFiles(t, fresh)
	got := markdownFiles(t, checkedIn)
	if len(want) == 0 {
		t.Fatal("the generator wrote no pages")
	}
	for _, name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("docs/reference/%s is missing: run scripts/gen-docs.sh", name)
			continue
		}
		if !bytes.Equal(readTestFile(t, filepath.Join(fresh, name)), readTestFile(t, filepath.Join(checkedIn, name))) {
			t.Errorf("docs/reference/%s is stale: run scripts/gen-docs.sh", name)
		}
	}
	for _, name := range got {
		if !slices.Contains(want, name) {
			t.Errorf("docs/reference/%s documents no command: run scripts/gen-docs.sh", name)
		}
	}
}

func markdownFiles(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(matches))
	for i, m := range matches {
		names[i] = filepath.Base(m)
	}
	return names
}

func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEveryManPageInTheCask: the Homebrew cask lists its man pages one by
// one (.goreleaser.yaml, homebrew_casks manpages), so a new command's page
// must be added there; release-check.sh checks the same on a snapshot,
// this catches it in the test run.
func TestEveryManPageInTheCask(t *testing.T) {
	dir := t.TempDir()
	if err := run("", dir, "test"); err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("the generator wrote no man pages (%v)", err)
	}
	config := string(readTestFile(t, filepath.Join("..", "..", ".goreleaser.yaml")))
	for _, page := range pages {
		entry := "      - manpages/" + filepath.Base(page) + ".gz\n"
		if !strings.Contains(config, entry) {
			t.Errorf(".goreleaser.yaml: the homebrew_casks manpages list lacks manpages/%s.gz", filepath.Base(page))
		}
	}
}
