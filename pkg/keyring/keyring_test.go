package keyring

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	testID     = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// TestMain makes the files cheap to write and read (see
// SetTestScryptWorkFactor). That a user's rolecall writes age's default
// cost, 18, is checked with the real program, without the race detector
// that makes scrypt at that cost take tens of seconds
// (cmd/rolecall/testdata/script/keys_file.txtar).
func TestMain(m *testing.M) {
	SetTestScryptWorkFactor(10)
	os.Exit(m.Run())
}

// TestFileStoreWritesTheWorkFactorSet: the work factor set is the one in
// the file's header, the knob keys_file.txtar leaves at age's default.
func TestFileStoreWritesTheWorkFactorSet(t *testing.T) {
	SetTestScryptWorkFactor(11)
	defer SetTestScryptWorkFactor(10)
	dir := t.TempDir()
	if err := openFileStore(t, dir, "echo right").Set(context.Background(), "work", Item{AccessKeyID: testID, SecretAccessKey: testSecret}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "work.age"))
	if err != nil {
		t.Fatal(err)
	}
	// age's header: a stanza "-> scrypt SALT LOGN" for a passphrase.
	var stanza []string
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "->" && f[1] == "scrypt" {
			stanza = f
		}
	}
	if stanza == nil || stanza[3] != "11" {
		t.Fatalf("scrypt stanza %q, want work factor 11", stanza)
	}
}

func openFileStore(t *testing.T, dir, command string) Store {
	t.Helper()
	vars := map[string]string{DirEnv: dir, PassphraseCommandEnv: command}
	s, err := Open(BackendFile, Options{Getenv: func(k string) string { return vars[k] }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestFileStore: an item survives the round trip, encrypted (the file
// holds no secret); the wrong passphrase, no passphrase, and files rolecall
// did not write are refused with the error the CLI maps to exit 3.
func TestFileStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openFileStore(t, dir, "echo right")
	item := Item{AccessKeyID: testID, SecretAccessKey: testSecret, Added: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := s.Set(ctx, "work", item); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "work.age"))
	if err != nil || strings.Contains(string(raw), testSecret) || !strings.HasPrefix(string(raw), "age-encryption.org/v1") {
		t.Fatalf("stored file: %v, plain secret or no age header", err)
	}
	got, err := s.Get(ctx, "work")
	if err != nil || got.AccessKeyID != testID || got.SecretAccessKey != testSecret || !got.Added.Equal(item.Added) {
		t.Fatalf("Get = %+v, %v", got.Added, err)
	}

	var unavailable *UnavailableError
	if _, err := openFileStore(t, dir, "echo wrong").Get(ctx, "work"); !errors.As(err, &unavailable) || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong passphrase: %v", err)
	}
	if _, err := openFileStore(t, dir, "").Get(ctx, "work"); !errors.As(err, &unavailable) || !strings.Contains(err.Error(), "no passphrase") {
		t.Errorf("no passphrase: %v", err)
	}
	if _, err := openFileStore(t, dir, "false").Get(ctx, "work"); !errors.As(err, &unavailable) {
		t.Errorf("failing passphrase command: %v", err)
	}
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing item: %v", err)
	}

	var invalid *InvalidItemError
	for name, content := range map[string]string{
		"planted": "{\"access_key_id\":\"" + testID + "\"}",
		"huge":    strings.Repeat("x", 2*MaxItemBytes+1),
	} {
		if err := os.WriteFile(filepath.Join(dir, name+".age"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, name); !errors.As(err, &invalid) {
			t.Errorf("%s: %v, want an InvalidItemError", name, err)
		}
	}
	if err := s.Delete(ctx, "work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "work"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
}

// TestDecode refuses what rolecall did not write, without quoting it.
func TestDecode(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"empty", "", "is empty"},
		{"not json", "hunter2", "not written by rolecall"},
		{"no format", `{"access_key_id":"` + testID + `"}`, "not written by rolecall"},
		{"future format", `{"rolecall":2}`, "format 2"},
		{"empty secret", `{"rolecall":1,"access_key_id":"` + testID + `","secret_access_key":""}`, "secret access key is empty"},
		{"temporary key", `{"rolecall":1,"access_key_id":"ASIAIOSFODNN7EXAMPLE","secret_access_key":"` + testSecret + `"}`, "temporary"},
		{"huge", strings.Repeat(" ", MaxItemBytes+1), "larger than 16 KiB"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(BackendSecretService, "work", []byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decode = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error quotes the item: %v", err)
			}
		})
	}
}

// TestCallEndsWithContext: a store that never answers (an unlock prompt
// nobody sees) holds the caller only until the context ends.
func TestCallEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	block := make(chan struct{})
	defer close(block)
	done := make(chan error, 1)
	go func() {
		_, err := call(ctx, BackendSecretService, func() (string, error) { <-block; return "", nil })
		done <- err
	}()
	cancel()
	err := <-done
	var unavailable *UnavailableError
	if !errors.As(err, &unavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("call = %v, want an UnavailableError wrapping the cancellation", err)
	}
}
