package awsconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The copies keep every line but the default profile's credential keys,
// so a consumer's SDK finds no credentials in the files and reaches the
// endpoint, while every other setting still applies.
func TestWriteIsolated(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	config := "# my config\n[DEFAULT]\ncredential_process = /bin/creds\ncli_pager =\n\n" +
		"[profile default]\r\naws_access_key_id = AKIAEXAMPLE\r\nretry_mode = standard\r\n" +
		"[default]\nregion = eu-west-1\nrole_arn = arn:aws:iam::123456789012:role/demo\nsource_profile = base\n" +
		"s3 =\n  addressing_style = path\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Admin\n" +
		"[profile other]\nrole_arn = arn:aws:iam::123456789012:role/other\nsource_profile = base\n" +
		"[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
	creds := "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = " + secret + "\n  continued\n; kept comment\n" +
		"[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = " + secret + "\n"
	dir := t.TempDir()
	f := Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	for path, data := range map[string]string{f.Config: config, f.Credentials: creds} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	iso, err := WriteIsolated(out, f)
	if err != nil {
		t.Fatal(err)
	}
	if iso.Config != filepath.Join(out, "config") || iso.Credentials != filepath.Join(out, "credentials") {
		t.Fatalf("isolated = %+v", iso)
	}
	wantConfig := "# my config\n[DEFAULT]\ncli_pager =\n\n" +
		"[profile default]\r\nretry_mode = standard\r\n" +
		"[default]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n" +
		"[profile other]\nrole_arn = arn:aws:iam::123456789012:role/other\nsource_profile = base\n" +
		"[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
	wantCreds := "[default]\n; kept comment\n[base]\naws_access_key_id = AKIABASE\naws_secret_access_key = " + secret + "\n"
	for path, want := range map[string]string{iso.Config: wantConfig, iso.Credentials: wantCreds} {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s:\n%q\nwant\n%q", filepath.Base(path), got, want)
		}
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", path, fi.Mode(), err)
		}
	}
	// As a consumer reads them: the default profile has no source; the
	// others are as they were.
	cfg, err := Load(Files(iso))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := cfg.Chain("default")
	if err != nil || chain.Source.Kind != SourceNone {
		t.Errorf("default profile: %+v, %v; want no source", chain, err)
	}
	if p, err := cfg.Profile("default"); err != nil || p.Region != "eu-west-1" {
		t.Errorf("default profile's region: %+v, %v", p, err)
	}
	if chain, err := cfg.Chain("other"); err != nil || chain.Source.Profile != "base" {
		t.Errorf("profile other: %+v, %v", chain, err)
	}
}

// Files without credentials in the default profile, or no files at all,
// are used as they are: nothing is copied.
func TestWriteIsolatedLeavesCleanFilesAlone(t *testing.T) {
	dir := t.TempDir()
	f := Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "missing")}
	if err := os.WriteFile(f.Config, []byte("[default]\nregion = us-east-1\n[profile x]\naws_access_key_id = AKIAX\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	iso, err := WriteIsolated(out, f)
	if err != nil || iso != (Isolated{}) {
		t.Errorf("isolated = %+v, %v; want nothing", iso, err)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("wrote %d files", len(entries))
	}
}

// A file that cannot be read or parsed stops the endpoint, named, with
// no secret in the message.
func TestWriteIsolatedRefusesUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		want          string
	}{
		{"directory", "", "is a directory"},
		{"duplicate", "[default]\naws_secret_access_key = SECRETVALUE\n[default]\nregion = x\n", "line 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if tc.content == "" {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := WriteIsolated(t.TempDir(), Files{Credentials: path})
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to name %s and %q", err, path, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "SECRETVALUE") {
				t.Error("the message quotes a secret")
			}
		})
	}
}
