package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestReferenceDocsUpToDate regenerates the command reference with the same
// generator scripts/gen-docs.sh runs, into a temporary directory, and
// compares it with the checked-in docs/reference: a flag or help text
// changed without regenerating fails here, naming the page.
func TestReferenceDocsUpToDate(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run scripts/gendocs: %v", err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	fresh := t.TempDir()
	cmd := exec.CommandContext(t.Context(), goTool, "run", "./scripts/gendocs", "--markdown", fresh)
	cmd.Dir = repo
	// The Markdown carries no date; an empty SOURCE_DATE_EPOCH proves it.
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./scripts/gendocs: %v\n%s", err, out)
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
