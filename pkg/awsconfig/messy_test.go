package awsconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/ini.v1"
)

// cutSections removes every section whose header (the bracketed name, as
// written) is in names, from its header line to the next header. It is
// deliberately simpler than the package's parser: a header is any line that
// starts with "[" once trimmed, which is true of the messy test files.
func cutSections(content string, names ...string) string {
	var b strings.Builder
	cutting := false
	for _, line := range strings.SplitAfter(content, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "[") {
			name := trimmed[1:strings.LastIndex(trimmed, "]")]
			cutting = false
			for _, n := range names {
				if n == name {
					cutting = true
				}
			}
		}
		if !cutting {
			b.WriteString(line)
		}
	}
	return b.String()
}

// iniView reads content with gopkg.in/ini.v1 (repeated sections merged, the
// later key winning), as an independent second reader.
func iniView(t *testing.T, content string) map[string]map[string]string {
	t.Helper()
	f, err := ini.LoadSources(ini.LoadOptions{IgnoreInlineComment: true, PreserveSurroundedQuote: true, InsensitiveKeys: true, IgnoreContinuation: true}, []byte(content))
	if err != nil {
		t.Fatalf("ini.v1 cannot read the file: %v", err)
	}
	out := map[string]map[string]string{}
	for _, s := range f.Sections() {
		out[s.Name()] = s.KeysHash()
	}
	return out
}

type messyWrite struct {
	name     string
	file     string // testdata/messy/...
	write    func(path string) error
	sections []string          // headers of the sections that make up the profile
	set      map[string]string // keys the profile must hold afterwards
	gone     []string          // keys it must not hold
	kept     map[string]string // other keys it must still hold
	wantErr  string
	appended bool // the profile is new: its section goes at the end
}

func TestWriteMessyFilesKeepsEverythingElse(t *testing.T) {
	newCreds := testCreds("ASIANEWNEWNEWNEWNEW1")
	credKeys := map[string]string{
		"aws_access_key_id":     newCreds.AccessKeyID,
		"aws_secret_access_key": newCreds.SecretAccessKey,
		"aws_session_token":     newCreds.SessionToken,
		ExpiresKey:              "2030-01-02T03:04:05Z",
		ManagedKey:              "true",
	}
	writeCreds := func(name string, force bool) func(string) error {
		return func(path string) error {
			return WriteCredentialsSection(t.Context(), path, name, newCreds, WriteOptions{Force: force})
		}
	}
	// Config profiles here were not written by rolecall: replacing their
	// values takes force (TestWriteConfigProfileUnmanaged covers that).
	writeProfile := func(name string, kv []KeyValue, remove ...string) func(string) error {
		return func(path string) error {
			return WriteConfigProfile(t.Context(), path, name, kv, WriteOptions{Remove: remove, Force: true})
		}
	}
	proc := "/opt/rolecall/bin/rolecall process --profile base 'arn:aws:iam::111111111111:role/dev'"
	// The .valid files are the messy ones without their repeated sections,
	// which the AWS CLI refuses and so does every write.
	const creds, config = "credentials.valid", "config.valid"
	tests := []messyWrite{
		{name: "refresh a managed section", file: creds, write: writeCreds("rolecall-dev", false),
			sections: []string{"rolecall-dev"}, set: credKeys},
		{name: "new credentials section", file: creds, write: writeCreds("rolecall-new", false),
			sections: []string{"rolecall-new"}, set: credKeys, appended: true},
		{name: "fill an empty section", file: creds, write: writeCreds("empty", false),
			sections: []string{"empty"}, set: credKeys},
		{name: "refuse long-term keys", file: creds, write: writeCreds("base", false),
			sections: []string{"base"}, wantErr: "long-term access keys"},
		{name: "refuse a section rolecall did not write", file: creds, write: writeCreds("saml", false),
			sections: []string{"saml"}, wantErr: "not written by rolecall"},
		{name: "force a section rolecall did not write", file: creds, write: writeCreds("saml", true),
			sections: []string{"saml"}, set: credKeys, kept: map[string]string{"x_principal_arn": "arn:aws:sts::111111111111:assumed-role/Dev/jöhn"}},
		{name: "refuse a credentials file with a repeated section, even with force", file: "credentials", write: writeCreds("rolecall-dev", true),
			sections: []string{"rolecall-dev"}, wantErr: "line 19: section [base] appears again (first at line 2)"},
		{name: "last profile with CRLF lines and no final newline", file: config,
			write:    writeProfile("ci", []KeyValue{{"credential_process", proc}, {"region", "eu-west-3"}}, "role_arn", "credential_source"),
			sections: []string{"profile ci"}, set: map[string]string{"credential_process": proc, "region": "eu-west-3"}, gone: []string{"role_arn", "credential_source"}},
		{name: "profile whose other keys stay", file: config,
			write:    writeProfile("dev", []KeyValue{{"credential_process", proc}, {"region", "us-east-2"}}, "role_arn", "source_profile"),
			sections: []string{"profile dev"}, set: map[string]string{"credential_process": proc, "region": "us-east-2"}, gone: []string{"role_arn", "source_profile"},
			kept: map[string]string{"mfa_serial": "arn:aws:iam::000000000000:mfa/jöhn", "duration_seconds": "3600"}},
		{name: "refuse a config file with a repeated section", file: "config",
			write:    writeProfile("dev", []KeyValue{{"credential_process", proc}}),
			sections: []string{"profile dev"}, wantErr: "line 46: section [profile dev] appears again (first at line 10)"},
		{name: "default profile with odd spacing", file: config,
			write:    writeProfile("default", []KeyValue{{"region", "us-east-1"}, {"output", "yaml"}}),
			sections: []string{"default"}, set: map[string]string{"region": "us-east-1", "output": "yaml"}, kept: map[string]string{"cli_pager": ""}},
		{name: "sso profile becomes a credential_process profile", file: config,
			write:    writeProfile("sso-admin", []KeyValue{{"credential_process", proc}}, "sso_session", "sso_account_id", "sso_role_name"),
			sections: []string{"profile sso-admin"}, set: map[string]string{"credential_process": proc}, gone: []string{"sso_session", "sso_account_id", "sso_role_name"}, kept: map[string]string{"region": "us-east-1"}},
		{name: "new config profile", file: config,
			write:    writeProfile("rolecall-new", []KeyValue{{"credential_process", proc}}),
			sections: []string{"profile rolecall-new"}, set: map[string]string{"credential_process": proc}, appended: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustRead(filepath.Join("testdata", "messy", tt.file))
			path := filepath.Join(t.TempDir(), tt.file)
			writeFile(t, path, before)
			err := tt.write(path)
			after := readFile(t, path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if after != before {
					t.Error("a refused write changed the file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			restBefore, restAfter := cutSections(before, tt.sections...), cutSections(after, tt.sections...)
			if tt.appended {
				tail, ok := strings.CutPrefix(restAfter, restBefore)
				if !ok || strings.Trim(tail, "\r\n") != "" || len(tail) > 4 {
					t.Errorf("outside the new section the file changed by more than line breaks before it:\n%q", tail)
				}
			} else if restAfter != restBefore {
				t.Errorf("the file changed outside %v:\nbefore: %q\nafter:  %q", tt.sections, restBefore, restAfter)
			}

			// A second, independent reader sees the same.
			viewBefore, viewAfter := iniView(t, before), iniView(t, after)
			for name, keys := range viewBefore {
				if contains(tt.sections, name) {
					continue
				}
				if !equalMaps(keys, viewAfter[name]) {
					t.Errorf("ini.v1 sees section [%s] changed:\nbefore %v\nafter  %v", name, keys, viewAfter[name])
				}
			}
			got := viewAfter[tt.sections[0]]
			for k, v := range tt.set {
				if got[k] != v {
					t.Errorf("%s = %q after the write, want %q", k, got[k], v)
				}
			}
			for k, v := range tt.kept {
				if got[k] != v {
					t.Errorf("%s = %q after the write, want it kept as %q", k, got[k], v)
				}
			}
			for _, k := range tt.gone {
				if _, ok := got[k]; ok {
					t.Errorf("%s is still set after the write", k)
				}
			}

			// And so does the package's own reader, for every section the
			// profile is made of (the keys being set are left only in the
			// last).
			doc, err := parseDocument(path, []byte(after))
			if err != nil {
				t.Fatalf("the written file does not parse: %v", err)
			}
			var last *section
			for _, s := range doc.sections {
				if !contains(tt.sections, s.name) {
					continue
				}
				if last != nil {
					for k := range tt.set {
						if _, ok := last.lookup(k); ok {
							t.Errorf("an earlier [%s] still holds %s", s.name, k)
						}
					}
				}
				last = s
			}
			for k, v := range tt.set {
				if o, ok := last.lookup(k); !ok || o.value != v {
					t.Errorf("the last [%s] does not hold %s = %q", last.name, k, v)
				}
			}
		})
	}
}

// TestWriteMessyFilesTwiceIsStable writes the same values twice: the second
// write must not change a byte.
func TestWriteMessyFilesTwiceIsStable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials")
	writeFile(t, path, mustRead("testdata/messy/credentials.valid"))
	c := testCreds("ASIATWICETWICETWICE1")
	if err := WriteCredentialsSection(t.Context(), path, "rolecall-dev", c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	once := readFile(t, path)
	if err := WriteCredentialsSection(t.Context(), path, "rolecall-dev", c, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if twice := readFile(t, path); twice != once {
		t.Errorf("second identical write changed the file:\n%q\n%q", once, twice)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode = %v, want 0600", fi.Mode().Perm())
	}
}
