package awsconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/ini.v1"
)

const fuzzSection = "fuzz-target"

// FuzzINIRoundTrip writes a credentials section into arbitrary content that
// gopkg.in/ini.v1 accepts. A file the AWS CLI could not parse (a repeated
// section or key included) must be refused and left as it was; any other
// must take the write, read back with
// the written keys, keep every other section's keys, and keep its bytes
// outside the section. The seed corpus (testdata/fuzz/FuzzINIRoundTrip)
// runs with every go test.
func FuzzINIRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, content string) {
		if _, err := ini.LoadSources(iniOptions, []byte(content)); err != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "credentials")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		oldDoc, parseErr := parseDocument(path, []byte(content))
		if parseErr == nil {
			parseErr = oldDoc.firstIssue(path)
		}
		want := testCreds("ASIAFUZZFUZZFUZZFUZZ")
		err := WriteCredentialsSection(t.Context(), path, fuzzSection, want, WriteOptions{Force: true})
		after := readFile(t, path)
		if parseErr != nil {
			if err == nil {
				t.Fatalf("wrote into a file the AWS CLI cannot parse (%v)", parseErr)
			}
			if after != content {
				t.Fatal("a refused write changed the file")
			}
			return
		}
		if err != nil {
			t.Fatalf("write refused: %v", err)
		}

		newDoc, err := parseDocument(path, []byte(after))
		if err != nil {
			t.Fatalf("the written file does not parse: %v", err)
		}
		e := sectionEdit{match: func(s string) bool { return s == fuzzSection }}
		oldT, newT := targetsOf(oldDoc, e), targetsOf(newDoc, e)

		// The section reads back with the written values.
		got := merged(newT)
		for k, v := range map[string]string{
			"aws_access_key_id":     want.AccessKeyID,
			"aws_secret_access_key": want.SecretAccessKey,
			"aws_session_token":     want.SessionToken,
			ExpiresKey:              "2030-01-02T03:04:05Z",
			ManagedKey:              "true",
		} {
			if got[k] != v {
				t.Errorf("%s reads back as %q, want %q", k, got[k], v)
			}
		}
		// A file the AWS CLI reads: Load must give the keys back.
		c, err := Load(Files{Credentials: path})
		if err != nil {
			t.Fatalf("Load after the write: %v", err)
		}
		pd := c.profiles[fuzzSection]
		if pd == nil {
			t.Fatalf("Load after the write has no [%s]", fuzzSection)
		}
		for k, v := range map[string]string{"aws_access_key_id": want.AccessKeyID, "aws_secret_access_key": want.SecretAccessKey, "aws_session_token": want.SessionToken} {
			if pd.keys[k].value != v {
				t.Errorf("Load gives %s back as %q, want %q", k, pd.keys[k].value, v)
			}
		}

		// Every other section keeps its keys, and the bytes outside the
		// section are the same.
		if !sameSections(others(oldDoc, oldT), others(newDoc, newT)) {
			t.Error("another section's keys changed")
		}
		before, rest := outside(oldDoc, oldT), outside(newDoc, newT)
		if len(oldT) == 0 {
			tail, ok := strings.CutPrefix(rest, before)
			if !ok || strings.Trim(tail, "\r\n") != "" {
				t.Errorf("bytes outside the new section changed: %q -> %q", before, rest)
			}
		} else if rest != before {
			t.Errorf("bytes outside the section changed: %q -> %q", before, rest)
		}
	})
}
