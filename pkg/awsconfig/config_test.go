package awsconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func envFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaultFiles(t *testing.T) {
	home := filepath.FromSlash("/home/me")
	tests := []struct {
		name string
		env  map[string]string
		want Files
	}{
		{"defaults", nil, Files{filepath.Join(home, ".aws", "config"), filepath.Join(home, ".aws", "credentials")}},
		{"explicit paths", map[string]string{"AWS_CONFIG_FILE": "/etc/aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/creds"},
			Files{"/etc/aws/config", "/etc/aws/creds"}},
		{"tilde", map[string]string{"AWS_CONFIG_FILE": "~/alt/config"}, Files{filepath.Join(home, "alt", "config"), filepath.Join(home, ".aws", "credentials")}},
		{"variables, unset ones kept", map[string]string{"AWS_SHARED_CREDENTIALS_FILE": "$XDG/aws/${NAME}-$NOPE", "XDG": "/x", "NAME": "creds"},
			Files{filepath.Join(home, ".aws", "config"), "/x/aws/creds-$NOPE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultFiles(envFrom(tt.env), home); got != tt.want {
				t.Errorf("DefaultFiles = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestProfileFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, "default"},
		{map[string]string{"AWS_DEFAULT_PROFILE": "old"}, "old"},
		{map[string]string{"AWS_PROFILE": "new", "AWS_DEFAULT_PROFILE": "old"}, "new"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := ProfileFromEnv(envFrom(tt.env)); got != tt.want {
				t.Errorf("ProfileFromEnv = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	writeFile(t, notDir, "x")
	tests := []struct {
		name    string
		files   Files
		wantErr []string
	}{
		{"config is a directory", Files{Config: dir}, []string{dir, "is a directory"}},
		{"credentials under a file", Files{Credentials: filepath.Join(notDir, "credentials")}, []string{"not a directory"}},
		{"repeated section", writeFiles(t, "[default]\nregion = a\n\n[default]\noutput = json\n", ""), []string{"config line 4", "[default] appears again (first at line 1)", "merge the two"}},
		{"repeated key", writeFiles(t, "", "[a]\naws_access_key_id = A\nAWS_ACCESS_KEY_ID = B\n"), []string{"credentials line 3", "key aws_access_key_id appears again"}},
		{"key before a section", writeFiles(t, "region = a\n", ""), []string{"config line 1", "before the first [section]"}},
		{"byte order mark", writeFiles(t, "\ufeff[default]\n", ""), []string{"line 1", "byte order mark"}},
		{"not UTF-8", writeFiles(t, "[default]\n\nregion = \xff\n", ""), []string{"line 3", "UTF-8"}},
		{"nested line without =", writeFiles(t, "[default]\ns3 =\n  path style\n", ""), []string{"line 2", "indented lines under s3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.files)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestLoadMissingFilesAreEmpty(t *testing.T) {
	dir := t.TempDir()
	c, err := Load(Files{Config: filepath.Join(dir, "nope"), Credentials: filepath.Join(dir, "nope2")})
	if err != nil {
		t.Fatal(err)
	}
	if names := c.ProfileNames(); len(names) != 0 {
		t.Errorf("ProfileNames = %v, want none", names)
	}
	if c.HasProfile("default") {
		t.Error("HasProfile(default) in empty config")
	}
}

func TestProfileNamesAndFields(t *testing.T) {
	c := mustLoad(t, Files{Config: "testdata/messy/config.valid", Credentials: "testdata/messy/credentials.valid"})
	wantNames := []string{"base", "ci", "default", "dev", "empty", "prod", "rolecall-dev", "saml", "spaced name", "sso-admin"}
	if got := c.ProfileNames(); !reflect.DeepEqual(got, wantNames) {
		t.Errorf("ProfileNames = %v, want %v", got, wantNames)
	}
	for _, n := range []string{"plugins", "corp", "local-sts", "sso-session corp", "profile dev"} {
		if c.HasProfile(n) {
			t.Errorf("HasProfile(%q) = true; it is no profile", n)
		}
	}
	tests := []struct {
		name  string
		check func(p Profile) bool
	}{
		{"dev", func(p Profile) bool {
			return p.RoleARN == "arn:aws:iam::111111111111:role/dev\t# this comment is part of the value for botocore" &&
				p.MFASerial == "arn:aws:iam::000000000000:mfa/jöhn" && p.RoleSessionName == "jöhn.dœ@example.com" && p.DurationSeconds == 3600
		}},
		{"prod", func(p Profile) bool {
			return p.ExternalID == `"quoted-id"` && p.STSEndpointURL == "http://127.0.0.1:4566" && p.SourceProfile == "dev"
		}},
		{"sso-admin", func(p Profile) bool { return p.SSO && p.Region == "us-east-1" && p.StaticKeys == nil }},
		{"spaced name", func(p Profile) bool {
			return p.Region == "ap-southeast-2" && p.CredentialProcess == "/usr/local/bin/creds --profile 'spaced name'"
		}},
		{"ci", func(p Profile) bool { return p.CredentialSource == "Environment" }},
		{"base", func(p Profile) bool {
			return p.StaticKeys != nil && p.StaticKeys.AccessKeyID == "AKIAIOSFODNN7EXAMPLE" && p.StaticKeys.SessionToken == ""
		}},
		{"default", func(p Profile) bool { return p.Region == "eu-west-1" && p.StaticKeys == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := c.Profile(tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(p) {
				t.Errorf("profile %q read wrong: role_arn %q, region %q, endpoint %q, sso %v", tt.name, p.RoleARN, p.Region, p.STSEndpointURL, p.SSO)
			}
			if !strings.Contains(p.Where(), "testdata/messy/") {
				t.Errorf("Where() = %q, want the file", p.Where())
			}
		})
	}
}

func TestProfileEndpoints(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{
		{"global endpoint_url", "[profile p]\nendpoint_url = https://global\n", "https://global"},
		{"services sts wins", "[profile p]\nendpoint_url = https://global\nservices = s\n[services s]\nsts =\n  endpoint_url = https://sts-only\n", "https://sts-only"},
		{"services without sts falls back", "[profile p]\nendpoint_url = https://global\nservices = s\n[services s]\ns3 =\n  endpoint_url = https://s3\n", "https://global"},
		{"ignore_configured_endpoint_urls", "[profile p]\nendpoint_url = https://global\nignore_configured_endpoint_urls = true\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := mustLoad(t, writeFiles(t, tt.config, "")).Profile("p")
			if err != nil {
				t.Fatal(err)
			}
			if p.STSEndpointURL != tt.want {
				t.Errorf("STSEndpointURL = %q, want %q", p.STSEndpointURL, tt.want)
			}
		})
	}
}

func TestCredentialsFileWinsOverConfig(t *testing.T) {
	c := mustLoad(t, writeFiles(t, "[profile a]\nregion = config-region\naws_access_key_id = AKIACONFIG\naws_secret_access_key = config-secret\n",
		"[a]\naws_access_key_id = AKIACREDS\nregion = creds-region\n"))
	p, err := c.Profile("a")
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "creds-region" || p.StaticKeys.AccessKeyID != "AKIACREDS" || p.StaticKeys.SecretAccessKey != "config-secret" {
		t.Errorf("merged profile: region %q, key %q; want the credentials file's keys over the config file's", p.Region, p.StaticKeys.AccessKeyID)
	}
	if !strings.Contains(p.Where(), "config line 1") || !strings.Contains(p.Where(), "credentials line 1") {
		t.Errorf("Where() = %q, want both files", p.Where())
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	writeFile(t, path, "[default]\nregion = x\n")
	tests := []struct {
		name    string
		prof    string
		keys    []KeyValue
		wantErr string
	}{
		{"name with a space", "a b", nil, "cannot hold"},
		{"name with a bracket", "a]", nil, "cannot hold"},
		{"DEFAULT", "DEFAULT", nil, "reserved"},
		{"empty name", "", nil, "empty"},
		{"value with a newline", "p", []KeyValue{{"region", "a\nb"}}, "line break"},
		{"value with leading space", "p", []KeyValue{{"region", " a"}}, "white space"},
		{"key with a delimiter", "p", []KeyValue{{"re=gion", "a"}}, "letters, digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteConfigProfile(t.Context(), path, tt.prof, tt.keys, WriteOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if got := readFile(t, path); got != "[default]\nregion = x\n" {
				t.Errorf("file changed: %q", got)
			}
		})
	}
}

func TestWriteLeavesUnparsableFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	const broken = "[a]\nk = v\nthis line is broken\n"
	writeFile(t, path, broken)
	err := WriteCredentialsSection(t.Context(), path, "x", testCreds("ASIAX"), WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.Contains(err.Error(), "left unchanged") {
		t.Fatalf("err = %v, want the line and that the file was left unchanged", err)
	}
	if got := readFile(t, path); got != broken {
		t.Errorf("file changed: %q", got)
	}
}

func TestWriteCreatesPrivateDirAndFollowsSymlinks(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".aws", "credentials")
	if err := WriteCredentialsSection(t.Context(), path, "x", testCreds("ASIAX"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("created dir mode = %v, want 0700", fi.Mode().Perm())
	}

	// A credentials file that is a symlink into a dotfiles checkout stays a
	// symlink; its target changes.
	dotfiles := filepath.Join(home, "dotfiles")
	if err := os.Mkdir(dotfiles, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dotfiles, "credentials")
	writeFile(t, target, "[keep]\nk = v\n")
	link := filepath.Join(home, "linked")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredentialsSection(t.Context(), link, "x", testCreds("ASIAX"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced by a file")
	}
	if got := readFile(t, target); !strings.HasPrefix(got, "[keep]\nk = v\n\n[x]\n") {
		t.Errorf("symlink target after write: %q", got)
	}
}

// TestNotFoundSuggestsCloseNames: a missing profile's error names up to
// three profiles within a third of its length in edits (at least two), or
// that contain it when it has three letters or more; nothing far off.
func TestNotFoundSuggestsCloseNames(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		missing string
		want    string // the suggestions as the error lists them; "" for none
	}{
		{"two edits away", "[profile deploy]\n[profile production]\n", "dpeloy", `"deploy"`},
		{"three edits away is too far", "[profile deploy]\n", "dxxxoy", ""},
		{"a third of a long name", "[profile production-eu]\n[profile staging-eu]\n", "prodcton-eu", `"production-eu"`},
		{"contained, three letters", "[profile my-dev-account]\n[profile prod]\n", "dev", `"my-dev-account"`},
		{"contained, two letters is not enough", "[profile my-dv-account]\n", "dv", ""},
		{"three at most, nearest first", "[profile prod-1]\n[profile prod-2]\n[profile prod-3]\n[profile prod-4]\n[profile prod]\n", "prod-",
			`"prod" or "prod-1" or "prod-2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, writeFiles(t, tt.config, ""))
			_, err := c.Profile(tt.missing)
			if err == nil {
				t.Fatal("found a missing profile")
			}
			_, got, _ := strings.Cut(err.Error(), "did you mean ")
			got = strings.TrimSuffix(got, "?")
			if got != tt.want {
				t.Errorf("suggested %q, want %q (error: %v)", got, tt.want, err)
			}
		})
	}
}

// TestDurationSecondsMustBePositive: duration_seconds of 0 or less is an
// error naming where it was set, [DEFAULT] included.
func TestDurationSecondsMustBePositive(t *testing.T) {
	for _, tt := range []struct{ config, want string }{
		{"[profile a]\nrole_arn = x\nduration_seconds = 0\n", "line 3"},
		{"[profile a]\nrole_arn = x\nduration_seconds = -5\n", "line 3"},
		{"[DEFAULT]\n\nduration_seconds = soon\n[profile a]\nrole_arn = x\n", "line 3"},
	} {
		c := mustLoad(t, writeFiles(t, tt.config, ""))
		_, err := c.Profile("a")
		if err == nil || !strings.Contains(err.Error(), "duration_seconds must be a whole number") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one about duration_seconds at %s", tt.config, err, tt.want)
		}
	}
	c := mustLoad(t, writeFiles(t, "[profile a]\nrole_arn = x\nduration_seconds = 1\n", ""))
	if p, err := c.Profile("a"); err != nil || p.DurationSeconds != 1 {
		t.Errorf("duration_seconds = 1: %+v, %v", p.DurationSeconds, err)
	}
}

// TestExpandVars expands $NAME and ${NAME} as Python's os.path.expandvars
// does: names of letters, digits and _, an unset or empty variable left as
// written, a lone $ kept.
func TestExpandVars(t *testing.T) {
	vars := map[string]string{"HOME": "/home/me", "aAzZ09_": "V", "X": "x"}
	getenv := func(k string) string { return vars[k] }
	tests := []struct{ in, want string }{
		{"$HOME/.aws", "/home/me/.aws"},
		{"${HOME}/.aws", "/home/me/.aws"},
		{"a/$HOME/b", "a//home/me/b"},
		{"a${HOME}b", "a/home/meb"},
		{"$aAzZ09_", "V"},
		{"$X/$X:$X@$X[$X`$X{$X.", "x/x:x@x[x`x{x."},
		{"$UNSET/x", "$UNSET/x"},
		{"${UNSET}", "${UNSET}"},
		{"${HOME", "${HOME"},
		{"${}", "${}"},
		{"end$", "end$"},
		{"$", "$"},
		{"$$HOME", "$/home/me"},
		{"no dollar", "no dollar"},
	}
	for _, tt := range tests {
		if got := expandVars(tt.in, getenv); got != tt.want {
			t.Errorf("expandVars(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestExpandPathHome: ~ and ~/ are the home directory; ~\ too, but only
// where \ separates paths (Windows).
func TestExpandPathHome(t *testing.T) {
	getenv := func(string) string { return "" }
	backslash := `~\x`
	if filepath.Separator == '\\' {
		backslash = filepath.Join("/home/me", "x")
	}
	for in, want := range map[string]string{
		"~":      "/home/me",
		"~/x":    filepath.Join("/home/me", "x"),
		`~\x`:    backslash,
		"~x":     "~x",
		"/abs/x": "/abs/x",
	} {
		if got := expandPath(in, getenv, "/home/me"); got != want {
			t.Errorf("expandPath(%q) = %q, want %q", in, got, want)
		}
	}
}
