package awsconfig

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoveStaticKeys removes a profile's keys and nothing else, and
// removes nothing when the section no longer holds the key that was stored
// elsewhere (another writer changed it in between).
func TestRemoveStaticKeys(t *testing.T) {
	const before = "# keys\r\n[work]\r\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\r\n; note\r\naws_secret_access_key = s3cr3t\r\nregion = eu-west-1\r\n\r\n[other]\r\naws_access_key_id = AKIAOTHER0000000000\r\naws_secret_access_key = other"
	const after = "# keys\r\n[work]\r\n; note\r\nregion = eu-west-1\r\n\r\n[other]\r\naws_access_key_id = AKIAOTHER0000000000\r\naws_secret_access_key = other"
	path := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err := RemoveStaticKeys(ctx, path, "work", "AKIAIOSFODNN7CHANGED", WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "another access key") {
		t.Fatalf("a changed key: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != before {
		t.Fatalf("the file changed although nothing may be removed:\n%q", got)
	}
	if err := RemoveStaticKeys(ctx, path, "work", "AKIAIOSFODNN7EXAMPLE", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != after {
		t.Fatalf("after the removal:\n%q\nwant\n%q", got, after)
	}
	if err := RemoveStaticKeys(ctx, path, "work", "AKIAIOSFODNN7EXAMPLE", WriteOptions{}); err == nil || !strings.Contains(err.Error(), "no aws_access_key_id any more") {
		t.Fatalf("a second removal: %v", err)
	}
}
