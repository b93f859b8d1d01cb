package awsconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveConfigProfile(t *testing.T) {
	const before = "# top\n[profile mine]\nregion = eu-west-1\nx_rolecall_managed = true\n\n# about theirs\n[profile theirs]\nregion = us-east-1\n"
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := RemoveConfigProfile(ctx, path, "theirs", WriteOptions{}); !errors.Is(err, ErrUnmanagedSection) {
		t.Fatalf("removing a profile rolecall did not write: %v, want ErrUnmanagedSection", err)
	}
	if got, _ := os.ReadFile(path); string(got) != before {
		t.Fatalf("a refused removal changed the file:\n%s", got)
	}
	if err := RemoveConfigProfile(ctx, path, "mine", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveConfigProfile(ctx, path, "absent", WriteOptions{}); err != nil {
		t.Fatalf("an absent profile: %v", err)
	}
	const want = "# top\n# about theirs\n[profile theirs]\nregion = us-east-1\n"
	if got, _ := os.ReadFile(path); string(got) != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}
