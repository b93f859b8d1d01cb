package awsconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

var testExpiry = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testCreds(id string) creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: "secret-for-" + id,
		SessionToken:    "token-for-" + id,
		Expiration:      testExpiry,
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteCredentialsSectionExact(t *testing.T) {
	const managed = "aws_access_key_id = ASIAOLD\naws_secret_access_key = old\naws_session_token = oldtok\nx_security_token_expires = 2020-01-01T00:00:00Z\nx_rolecall_managed = true\n"
	newKeys := "aws_access_key_id = ASIANEW\naws_secret_access_key = secret-for-ASIANEW\naws_session_token = token-for-ASIANEW\nx_security_token_expires = 2030-01-02T03:04:05Z\nx_rolecall_managed = true\n"
	tests := []struct {
		name   string
		before string // "" = no file
		after  string
	}{
		{"new file", "", "[work]\n" + newKeys},
		{"append after one blank line", "[other]\nk = v\n", "[other]\nk = v\n\n[work]\n" + newKeys},
		{"append keeps existing blank line", "[other]\nk = v\n\n", "[other]\nk = v\n\n[work]\n" + newKeys},
		{"append to a file without final newline", "[other]\nk = v", "[other]\nk = v\n\n[work]\n" + newKeys},
		{"append with CRLF", "[other]\r\nk = v\r\n", "[other]\r\nk = v\r\n\r\n[work]\r\n" + strings.ReplaceAll(newKeys, "\n", "\r\n")},
		{
			"refresh in place keeps spacing and neighbours",
			"# top\n[a]\nx=1\n\n[work]\naws_access_key_id=ASIAOLD\naws_secret_access_key   =   old\naws_session_token = oldtok\nx_security_token_expires = 2020-01-01T00:00:00Z\nx_rolecall_managed = true\n# about b\n\n[b]\ny = 2\n",
			"# top\n[a]\nx=1\n\n[work]\naws_access_key_id=ASIANEW\naws_secret_access_key   =   secret-for-ASIANEW\naws_session_token = token-for-ASIANEW\nx_security_token_expires = 2030-01-02T03:04:05Z\nx_rolecall_managed = true\n# about b\n\n[b]\ny = 2\n",
		},
		{
			"refresh at end without final newline",
			"[work]\n" + strings.TrimSuffix(managed, "\n"),
			"[work]\n" + strings.TrimSuffix(newKeys, "\n"),
		},
		{
			"refresh with CRLF",
			"[work]\r\n" + strings.ReplaceAll(managed, "\n", "\r\n") + "[b]\r\ny = 2\r\n",
			"[work]\r\n" + strings.ReplaceAll(newKeys, "\n", "\r\n") + "[b]\r\ny = 2\r\n",
		},
		{
			"missing keys go after the last key, before trailing comments",
			"[work]\nx_rolecall_managed = true\nregion = eu-west-1\n; keep me\n\n[b]\n",
			"[work]\nx_rolecall_managed = true\nregion = eu-west-1\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-for-ASIANEW\naws_session_token = token-for-ASIANEW\nx_security_token_expires = 2030-01-02T03:04:05Z\n; keep me\n\n[b]\n",
		},
		{
			"stale legacy token is removed",
			"[work]\n" + managed + "aws_security_token = oldtok\n",
			"[work]\n" + newKeys,
		},
		{
			"an empty value is filled after the key as written",
			"[work]\nx_rolecall_managed = true\naws_access_key_id =\naws_secret_access_key = \naws_session_token=old\n",
			"[work]\nx_rolecall_managed = true\naws_access_key_id = ASIANEW\naws_secret_access_key = secret-for-ASIANEW\naws_session_token=token-for-ASIANEW\nx_security_token_expires = 2030-01-02T03:04:05Z\n",
		},
		{
			// More line breaks than text: the size of the result is no
			// sum that could go negative.
			"a file of blank lines",
			strings.Repeat("\n", 500),
			strings.Repeat("\n", 500) + "[work]\n" + newKeys,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			if tt.before != "" {
				writeFile(t, path, tt.before)
			}
			if err := WriteCredentialsSection(t.Context(), path, "work", testCreds("ASIANEW"), WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.after {
				t.Errorf("file after write:\n%q\nwant:\n%q", got, tt.after)
			}
		})
	}
}

func TestWriteCredentialsSectionManaged(t *testing.T) {
	tests := []struct {
		name    string
		before  string
		force   bool
		wantErr string
	}{
		{name: "own section is refreshed", before: "[work]\naws_access_key_id = ASIAOLD\naws_secret_access_key = x\nx_rolecall_managed = true\n"},
		{name: "empty existing section is filled", before: "[work]\n# nothing yet\n"},
		{name: "unmanaged section is refused", before: "[work]\nregion = us-east-1\n", wantErr: "was not written by rolecall; use --force"},
		{name: "long-term keys are refused", before: "[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n", wantErr: "long-term access keys"},
		{name: "the refusal names the section's line", before: "# mine\n\n[work]\nregion = us-east-1\n", wantErr: "(line 3) was not written by rolecall"},
		{name: "long-term keys are refused even if marked", before: "[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\nx_rolecall_managed = true\n", wantErr: "long-term access keys"},
		{name: "force overrides unmanaged", before: "[work]\nregion = us-east-1\n", force: true},
		{name: "force overrides long-term keys", before: "[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n", force: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials")
			writeFile(t, path, tt.before)
			err := WriteCredentialsSection(t.Context(), path, "work", testCreds("ASIANEW"), WriteOptions{Force: tt.force})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "pick another name") {
					t.Fatalf("err = %v, want one containing %q and a way out", err, tt.wantErr)
				}
				if !errors.Is(err, ErrUnmanagedSection) {
					t.Errorf("err does not wrap ErrUnmanagedSection: %v", err)
				}
				if strings.Contains(err.Error(), "AKIAIOSFODNN7EXAMPLE") {
					t.Errorf("error quotes the access key: %v", err)
				}
				if got := readFile(t, path); got != tt.before {
					t.Errorf("refused write changed the file:\n%q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := mustLoad(t, Files{Credentials: path})
			p, err := c.Profile("work")
			if err != nil {
				t.Fatal(err)
			}
			if p.StaticKeys == nil || p.StaticKeys.AccessKeyID != "ASIANEW" || p.StaticKeys.SecretAccessKey != "secret-for-ASIANEW" {
				t.Errorf("keys after write = %v", p.StaticKeys)
			}
			if p.keys[ManagedKey].value != "true" {
				t.Error("section is not marked as managed")
			}
		})
	}
}

func TestWriteConfigProfile(t *testing.T) {
	tests := []struct {
		name   string
		before string
		prof   string
		keys   []KeyValue
		remove []string
		after  string
	}{
		{
			name: "new profile at the end", before: "[default]\nregion = eu-west-1\n", prof: "rc",
			keys:  []KeyValue{{"credential_process", "/usr/bin/rolecall process arn:aws:iam::1:role/x"}, {"region", "us-east-1"}},
			after: "[default]\nregion = eu-west-1\n\n[profile rc]\ncredential_process = /usr/bin/rolecall process arn:aws:iam::1:role/x\nregion = us-east-1\n",
		},
		{
			name: "default profile uses [default]", before: "", prof: "default",
			keys:  []KeyValue{{"region", "us-east-1"}},
			after: "[default]\nregion = us-east-1\n",
		},
		{
			name: "update and remove keys in place", prof: "rc",
			before: "[profile rc]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\nregion=eu-west-1 # keep? no\n\n[profile z]\nregion = x\n",
			keys:   []KeyValue{{"credential_process", "rolecall process"}, {"region", "us-east-1"}},
			remove: []string{"role_arn", "source_profile", "credential_source"},
			after:  "[profile rc]\nregion=us-east-1\ncredential_process = rolecall process\n\n[profile z]\nregion = x\n",
		},
		{
			name: "quoted profile header is the same profile", prof: "rc",
			before: "[profile \"rc\"]\nregion = eu-west-1\n",
			keys:   []KeyValue{{"region", "us-east-1"}},
			after:  "[profile \"rc\"]\nregion = us-east-1\n",
		},
		{
			name: "[default] and [profile default]: the later is updated, the earlier loses the key", prof: "default",
			before: "[default]\nregion = a\noutput = json\n\n[profile default]\nregion = b\n",
			keys:   []KeyValue{{"region", "c"}},
			after:  "[default]\noutput = json\n\n[profile default]\nregion = c\n",
		},
		{
			name: "multi-line value is replaced whole", prof: "rc",
			before: "[profile rc]\ncredential_process = old\n  continued\n\n  more\nregion = x\n",
			keys:   []KeyValue{{"credential_process", "new"}},
			after:  "[profile rc]\ncredential_process = new\nregion = x\n",
		},
		{
			name: "new lines take the line ending of their neighbours", prof: "rc",
			before: "[a]\nk = v\n\n[profile rc]\r\nregion = x\r\nrole_arn = y",
			keys:   []KeyValue{{"output", "json"}},
			remove: []string{"role_arn"},
			after:  "[a]\nk = v\n\n[profile rc]\r\nregion = x\r\noutput = json",
		},
		{
			name: "indented keys stay indented and the next header stays a header", prof: "rc",
			before: "[profile rc]\n  region = x\n  [profile next]\n  k = v\n",
			keys:   []KeyValue{{"output", "json"}},
			after:  "[profile rc]\n  region = x\n  output = json\n  [profile next]\n  k = v\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			if tt.before != "" {
				writeFile(t, path, tt.before)
			}
			// Force: these profiles were not written by rolecall, and what
			// is tested here is the splice (ownership: see
			// TestWriteConfigProfileUnmanaged).
			if err := WriteConfigProfile(t.Context(), path, tt.prof, tt.keys, WriteOptions{Remove: tt.remove, Force: true}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.after {
				t.Errorf("file after write:\n%q\nwant:\n%q", got, tt.after)
			}
		})
	}
}

// TestWriteRefusesFileTheAWSCLIRefuses: a repeated section or key anywhere
// in the file makes the AWS CLI refuse it, so a write refuses it too, before
// writing, naming the file and the line, with or without force.
func TestWriteRefusesFileTheAWSCLIRefuses(t *testing.T) {
	tests := []struct {
		name, file, before, wantLine string
	}{
		{"repeated target section", "credentials", "[work]\nx_rolecall_managed = true\n\n[work]\nregion = x\n", "line 4: section [work] appears again (first at line 1)"},
		{"repeated other section", "credentials", "[a]\nk = v\n[b]\nk = v\n[a]\nj = w\n", "line 5: section [a] appears again (first at line 1)"},
		{"repeated key in the target", "credentials", "[work]\nx_rolecall_managed = true\naws_access_key_id = A\nAWS_ACCESS_KEY_ID = B\n", "line 4: key aws_access_key_id appears again in section [work] (first at line 3)"},
		{"repeated key elsewhere", "credentials", "[a]\nk = 1\nk = 2\n", "line 3: key k appears again in section [a] (first at line 2)"},
		{"repeated config profile", "config", "[profile rc]\nregion = a\n[profile rc]\noutput = json\n", "line 3: section [profile rc] appears again (first at line 1)"},
	}
	for _, tt := range tests {
		for _, force := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/force=%v", tt.name, force), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), tt.file)
				writeFile(t, path, tt.before)
				var err error
				if tt.file == "config" {
					err = WriteConfigProfile(t.Context(), path, "rc", []KeyValue{{"region", "b"}}, WriteOptions{Force: force})
				} else {
					err = WriteCredentialsSection(t.Context(), path, "work", testCreds("ASIANEW"), WriteOptions{Force: force})
				}
				var syntax *SyntaxError
				if !errors.As(err, &syntax) || !strings.Contains(err.Error(), path+" "+tt.wantLine) || !strings.Contains(err.Error(), "left unchanged") {
					t.Fatalf("err = %v, want a *SyntaxError naming %s %s", err, path, tt.wantLine)
				}
				if got := readFile(t, path); got != tt.before {
					t.Errorf("a refused write changed the file: %q", got)
				}
			})
		}
	}
}

// TestWriteConfigProfileUnmanaged: keys a write does not set are kept;
// changing or deleting a value of a profile rolecall did not write needs
// force, and the refusal names what would be replaced.
func TestWriteConfigProfileUnmanaged(t *testing.T) {
	const proc = "/usr/bin/rolecall process arn:aws:iam::1:role/x"
	configure := []KeyValue{{"credential_process", proc}, {ManagedKey, "true"}}
	conflicting := []string{"role_arn", "source_profile", "credential_source"}
	tests := []struct {
		name    string
		before  string
		keys    []KeyValue
		remove  []string
		force   bool
		wantErr string // the keys the refusal names; "" for none
		after   string
	}{
		{
			name:   "a profile with a role is refused",
			before: "[profile rc]\nrole_arn = arn:aws:iam::1:role/old\nsource_profile = base\nregion = eu-west-1\n",
			keys:   configure, remove: conflicting,
			wantErr: "would replace its role_arn, source_profile;",
		},
		{
			name:    "a changed value is refused",
			before:  "[profile rc]\nregion = eu-west-1\n",
			keys:    []KeyValue{{"region", "us-east-1"}},
			wantErr: "would replace its region;",
		},
		{
			name:   "force replaces what it must and keeps the rest",
			before: "[profile rc]\nrole_arn = arn:aws:iam::1:role/old\nsource_profile = base\nregion = eu-west-1\noutput = json\n",
			keys:   configure, remove: conflicting, force: true,
			after: "[profile rc]\nregion = eu-west-1\noutput = json\ncredential_process = " + proc + "\nx_rolecall_managed = true\n",
		},
		{
			name:   "adding keys replaces nothing and needs no force",
			before: "[profile rc]\nregion = eu-west-1\ns3 =\n  addressing_style = path\n",
			keys:   append([]KeyValue{{"region", "eu-west-1"}}, configure...), remove: conflicting,
			after: "[profile rc]\nregion = eu-west-1\ns3 =\n  addressing_style = path\ncredential_process = " + proc + "\nx_rolecall_managed = true\n",
		},
		{
			name:   "a profile rolecall wrote is updated freely, its other keys kept",
			before: "[profile rc]\ncredential_process = old\nx_rolecall_managed = true\nrole_arn = arn:aws:iam::1:role/added-by-hand\nmfa_serial = arn:aws:iam::1:mfa/me\n",
			keys:   configure, remove: conflicting,
			after: "[profile rc]\ncredential_process = " + proc + "\nx_rolecall_managed = true\nmfa_serial = arn:aws:iam::1:mfa/me\n",
		},
		{
			name:   "a new profile needs no force",
			before: "[profile other]\nrole_arn = x\n",
			keys:   configure, remove: conflicting,
			after: "[profile other]\nrole_arn = x\n\n[profile rc]\ncredential_process = " + proc + "\nx_rolecall_managed = true\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config")
			writeFile(t, path, tt.before)
			err := WriteConfigProfile(t.Context(), path, "rc", tt.keys, WriteOptions{Remove: tt.remove, Force: tt.force})
			if tt.wantErr != "" {
				if !errors.Is(err, ErrUnmanagedSection) || !strings.Contains(err.Error(), tt.wantErr) ||
					!strings.Contains(err.Error(), "[profile rc] in "+path+" (line 1)") || !strings.Contains(err.Error(), "--force") {
					t.Fatalf("err = %v, want ErrUnmanagedSection naming the profile, the file and %q", err, tt.wantErr)
				}
				if got := readFile(t, path); got != tt.before {
					t.Errorf("a refused write changed the file: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.after {
				t.Errorf("file after write:\n%q\nwant:\n%q", got, tt.after)
			}
		})
	}
}

// TestWriteThroughSymlinks: a chain of symlinks is followed to the file at
// its end, every link stays a link; a link to a directory is refused.
func TestWriteThroughSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real")
	writeFile(t, target, "[keep]\nk = v\n")
	middle, link := filepath.Join(dir, "middle"), filepath.Join(dir, "credentials")
	if err := os.Symlink(target, middle); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("middle", link); err != nil { // relative, as dotfiles managers make them
		t.Fatal(err)
	}
	if err := WriteCredentialsSection(t.Context(), link, "x", testCreds("ASIAX"), WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, middle} {
		if fi, err := os.Lstat(l); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", filepath.Base(l))
		}
	}
	if got := readFile(t, target); !strings.HasPrefix(got, "[keep]\nk = v\n\n[x]\n") {
		t.Errorf("the file at the end of the links: %q", got)
	}

	toDir := filepath.Join(dir, "to-dir")
	if err := os.Symlink(dir, toDir); err != nil {
		t.Fatal(err)
	}
	err := WriteCredentialsSection(t.Context(), toDir, "x", testCreds("ASIAX"), WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "it is a directory") {
		t.Errorf("a symlink to a directory: %v, want a refusal", err)
	}
}

// TestValidateKeyValue: keys are letters, digits, _ - and . (each range
// checked at both ends and just outside); values have no line break and no
// white space, Python's included, at either end.
func TestValidateKeyValue(t *testing.T) {
	for _, k := range []string{"a", "z", "A", "Z", "0", "9", "_", "-", ".", "aws_access_key_id"} {
		if err := validateKeyValue(KeyValue{k, "v"}); err != nil {
			t.Errorf("key %q: %v", k, err)
		}
	}
	for _, k := range []string{"", "/", ":", "@", "[", "`", "{", "a b", "a=b", "é"} {
		if err := validateKeyValue(KeyValue{k, "v"}); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	for _, v := range []string{"a\nb", "a\rb", " a", "a\t", "a\x1c", "\x1fa"} {
		if err := validateKeyValue(KeyValue{"k", v}); err == nil {
			t.Errorf("value %q accepted", v)
		}
	}
	if err := validateKeyValue(KeyValue{"k", "a\x1bb"}); err != nil {
		t.Errorf("a value with ESC inside: %v", err)
	}
}

// TestSyntaxErrorNamesTheLine: "PATH line N: what", or "PATH: what" for a
// problem of no one line.
func TestSyntaxErrorNamesTheLine(t *testing.T) {
	if got := (&SyntaxError{Path: "config", Line: 1, Msg: "m"}).Error(); got != "config line 1: m" {
		t.Errorf("line 1: %q", got)
	}
	if got := (&SyntaxError{Path: "config", Msg: "m"}).Error(); got != "config: m" {
		t.Errorf("no line: %q", got)
	}
	_, err := Load(writeFiles(t, "[profile a]\nregion = x\n= value\n", ""))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Line != 3 || !strings.Contains(se.Msg, "no key name") {
		t.Errorf("a value with no key: %v, want line 3 saying so", err)
	}
}
