package format

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"

	"github.com/rolecall/rolecall/pkg/creds"
)

// processCases are credentials the process format must hand to the SDK
// unchanged, including values JSON has to escape.
func processCases() []struct {
	name string
	c    creds.Credentials
} {
	cases := []struct {
		name string
		c    creds.Credentials
	}{
		{"temporary", testCreds()},
		{"long-term", longTermCreds()},
	}
	for _, h := range hazards {
		c := testCreds()
		c.SecretAccessKey = h.value
		c.SessionToken = h.value + `\`
		cases = append(cases, struct {
			name string
			c    creds.Credentials
		}{"hazard-" + h.name, c})
	}
	return cases
}

// TestProcessParsedBySDK runs aws-sdk-go-v2's credential_process provider
// against a command that prints the rendered JSON, as an SDK does with
// `credential_process = rolecall process …`.
func TestProcessParsedBySDK(t *testing.T) {
	for _, tt := range processCases() {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "process.json")
			if err := os.WriteFile(path, render(t, Process, tt.c, Options{}), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := processcreds.NewProvider("cat " + QuotePOSIX(path)).Retrieve(context.Background())
			if err != nil {
				t.Fatalf("processcreds: %v", err)
			}
			if got.AccessKeyID != tt.c.AccessKeyID {
				t.Errorf("AccessKeyID = %q, want %q", got.AccessKeyID, tt.c.AccessKeyID)
			}
			if err := sameValue(tt.c.SecretAccessKey, got.SecretAccessKey); err != nil {
				t.Errorf("SecretAccessKey %v", err)
			}
			if err := sameValue(tt.c.SessionToken, got.SessionToken); err != nil {
				t.Errorf("SessionToken %v", err)
			}
			if got.CanExpire != !tt.c.Expiration.IsZero() || (got.CanExpire && !got.Expires.Equal(tt.c.Expiration)) {
				t.Errorf("CanExpire, Expires = %v, %v; want expiration %v", got.CanExpire, got.Expires, tt.c.Expiration)
			}
			if want := tt.c.AccountID(); got.AccountID != want {
				t.Errorf("AccountID = %q, want %q", got.AccountID, want)
			}
		})
	}
}

// TestProcessSurvivesWindowsQuoteRewrite: on Windows the SDK replaces every
// \" in the process output with " before parsing. The rendered JSON has no
// \" to replace, so values with quotes and backslashes still parse exactly.
func TestProcessSurvivesWindowsQuoteRewrite(t *testing.T) {
	for _, tt := range processCases() {
		t.Run(tt.name, func(t *testing.T) {
			out := render(t, Process, tt.c, Options{})
			if bytes.Contains(out, []byte(`\"`)) {
				t.Fatalf(`output contains \", which the Windows SDK rewrites`)
			}
			rewritten := bytes.ReplaceAll(out, []byte(`\"`), []byte(`"`)) // processcreds/provider.go on windows
			var resp processcreds.CredentialProcessResponse
			if err := json.Unmarshal(rewritten, &resp); err != nil {
				t.Fatalf("parse after the Windows rewrite: %v", err)
			}
			if resp.Version != 1 {
				t.Errorf("Version = %d, want 1", resp.Version)
			}
			if err := sameValue(tt.c.SecretAccessKey, resp.SecretAccessKey); err != nil {
				t.Errorf("SecretAccessKey %v", err)
			}
			if err := sameValue(tt.c.SessionToken, resp.SessionToken); err != nil {
				t.Errorf("SessionToken %v", err)
			}
		})
	}
}

func TestEscapeQuotesAndBackslashes(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"a\"b"`, `"a\u0022b"`},
		{`"a\\"`, `"a\u005c"`},
		{`"\\\""`, `"\u005c\u0022"`},
		{`"\n\u00e9\\n"`, `"\n\u00e9\u005cn"`},
		{`{"k": 1}`, `{"k": 1}`},
	}
	// Not JSON, but no panic either: a lone backslash at the end is kept.
	if got := string(escapeQuotesAndBackslashes([]byte(`a\`))); got != `a\` {
		t.Errorf("escapeQuotesAndBackslashes(a\\) = %s, want it unchanged", got)
	}
	for _, tt := range tests {
		got := string(escapeQuotesAndBackslashes([]byte(tt.in)))
		if got != tt.want {
			t.Errorf("escapeQuotesAndBackslashes(%s) = %s, want %s", tt.in, got, tt.want)
		}
		var a, b any
		if json.Unmarshal([]byte(tt.in), &a) != nil || json.Unmarshal([]byte(got), &b) != nil {
			t.Errorf("%s or %s is not valid JSON", tt.in, got)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c := testCreds()
	c.SecretAccessKey = hazardValue(t, "everything")
	out := render(t, JSON, c, Options{Region: "eu-central-1"})
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AccessKeyId":     c.AccessKeyID,
		"SecretAccessKey": c.SecretAccessKey,
		"SessionToken":    c.SessionToken,
		"Expiration":      "2030-01-02T03:04:05Z",
		"AssumedRoleArn":  c.AssumedRoleARN,
		"AccountId":       "123456789012",
		"Region":          "eu-central-1",
	}
	if len(got) != len(want) {
		t.Errorf("got fields %v, want %d fields", keys(got), len(want))
	}
	for k, w := range want {
		if err := sameValue(w, got[k]); err != nil {
			t.Errorf("%s %v", k, err)
		}
	}

	// Long-term keys: no token, no expiration, no ARN.
	got = nil
	if err := json.Unmarshal(render(t, JSON, longTermCreds(), Options{}), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["AccessKeyId"] == "" || got["SecretAccessKey"] == "" {
		t.Errorf("long-term keys render fields %v, want only AccessKeyId and SecretAccessKey", keys(got))
	}
}

// dockerEnvFile reads an env file the way docker run --env-file does
// (docker/cli opts/envfile.go, parseKeyValueFile): leading blanks of a line
// trimmed, blank and # lines skipped, split at the first =, the value taken
// literally.
func dockerEnvFile(t *testing.T, content string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(content))
	for sc.Scan() {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || strings.ContainsFunc(name, unicode.IsSpace) {
			t.Fatalf("docker would reject line for %q", name)
		}
		vars[name] = value
	}
	return vars
}

// gitlabDotenv reads a dotenv report the way GitLab does
// (app/services/ci/parse_dotenv_artifact_service.rb): each line matched by
// /^(.*?)=(.*)$/, key and value stripped, keys limited to [a-zA-Z0-9_].
func gitlabDotenv(t *testing.T, content string) map[string]string {
	t.Helper()
	line := regexp.MustCompile(`^(.*?)=(.*)$`)
	key := regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	vars := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("GitLab would reject a line")
		}
		k, v := strings.Trim(m[1], " \t\n\v\f\r\x00"), strings.Trim(m[2], " \t\n\v\f\r\x00")
		if !key.MatchString(k) {
			t.Fatalf("GitLab would reject key %q", k)
		}
		vars[k] = v
	}
	return vars
}

// TestDotenvReaders: every value the dotenv format accepts reads back
// exactly with docker's rules, GitLab's rules and python-dotenv (with
// interpolation on, its default); every value it refuses is one of the
// hazards those readers disagree on.
func TestDotenvReaders(t *testing.T) {
	py := requirePython(t, "dotenv")
	dir := t.TempDir()
	type accepted struct {
		name, file string
		want       []Var
	}
	var all []accepted
	cases := append([]hazard{{"temporary", ""}}, hazards...)
	for i, h := range cases {
		c, opt := testCreds(), Options{Region: "eu-central-1"}
		if h.name != "temporary" {
			c, opt = hazardCreds(h.value)
		}
		var out bytes.Buffer
		err := Render(&out, Dotenv, c, opt)
		if err != nil {
			if !isUnrepresentable(err, Dotenv) {
				t.Errorf("%s: Render = %v, want an UnrepresentableError", h.name, err)
			}
			if !strings.ContainsAny(h.value, "\r\n\t\x01#$\\'\"` ") {
				t.Errorf("%s: refused, but the value has none of the dotenv hazards", h.name)
			}
			continue
		}
		file := filepath.Join(dir, strings.Repeat("x", i+1)+".env")
		if err := os.WriteFile(file, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		all = append(all, accepted{h.name, file, EnvVars(c, opt)})
		for reader, got := range map[string]map[string]string{
			"docker": dockerEnvFile(t, out.String()),
			"gitlab": gitlabDotenv(t, out.String()),
		} {
			for _, v := range EnvVars(c, opt) {
				if err := sameValue(v.Value, got[v.Name]); err != nil {
					t.Errorf("%s: %s reads %s %v", h.name, reader, v.Name, err)
				}
			}
		}
	}
	if len(all) < 5 {
		t.Fatalf("only %d cases accepted; the test checks too little", len(all))
	}

	// One python process reads every accepted file.
	script := `import json, sys
from dotenv import dotenv_values
json.dump([dotenv_values(p) for p in sys.argv[1:]], sys.stdout)`
	args := []string{"-c", script}
	for _, a := range all {
		args = append(args, a.file)
	}
	cmd := exec.CommandContext(t.Context(), py, args...)
	cmd.Env = hermeticEnv(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python-dotenv: %v", err)
	}
	var parsed []map[string]string
	if err := json.Unmarshal(out, &parsed); err != nil {
		t.Fatal(err)
	}
	for i, a := range all {
		for _, v := range a.want {
			if err := sameValue(v.Value, parsed[i][v.Name]); err != nil {
				t.Errorf("%s: python-dotenv reads %s %v", a.name, v.Name, err)
			}
		}
	}
}

// TestINIReadByBotocore: the ini section, appended to a credentials file,
// gives botocore (the AWS CLI's credential resolver) these credentials.
// One python process reads every case: importing botocore is slow.
func TestINIReadByBotocore(t *testing.T) {
	py := requirePython(t, "botocore.session")
	tests := []struct {
		name    string
		c       creds.Credentials
		profile string
	}{
		{"temporary", testCreds(), "deploy"},
		{"long-term", longTermCreds(), "default"},
		{"section name with punctuation", testCreds(), "team.deploy@prod"},
	}
	dir := t.TempDir()
	script := `import json, sys, botocore.session
out = []
for path, profile in zip(sys.argv[1::2], sys.argv[2::2]):
    s = botocore.session.Session(profile=profile)
    s.set_config_variable("credentials_file", path)
    s.set_config_variable("config_file", path + ".missing")
    c = s.get_credentials().get_frozen_credentials()
    out.append([c.access_key, c.secret_key, c.token or ""])
json.dump(out, sys.stdout)`
	args := []string{"-c", script}
	for i, tt := range tests {
		path := filepath.Join(dir, fmt.Sprintf("credentials%d", i))
		existing := "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n\n"
		if err := os.WriteFile(path, append([]byte(existing), render(t, INI, tt.c, Options{ProfileName: tt.profile})...), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, path, tt.profile)
	}
	cmd := exec.CommandContext(t.Context(), py, args...)
	cmd.Env = hermeticEnv(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("botocore: %v", err)
	}
	var got [][]string
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(tests) {
		t.Fatalf("botocore printed %d results (%v), want %d", len(got), err, len(tests))
	}
	for i, tt := range tests {
		want := []string{tt.c.AccessKeyID, tt.c.SecretAccessKey, tt.c.SessionToken}
		for j := range want {
			if err := sameValue(want[j], got[i][j]); err != nil {
				t.Errorf("%s: field %d %v", tt.name, j, err)
			}
		}
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestINIProfileNameFollowsWriteProfilesRule: -f ini refuses exactly the
// section names --write-profile refuses (one rule, awsconfig's).
func TestINIProfileNameFollowsWriteProfilesRule(t *testing.T) {
	for _, name := range []string{"", "DEFAULT", "a#b", "a;b", "my profile", "x\u2028y", "[x]", `q"`} {
		var w bytes.Buffer
		err := Render(&w, INI, testCreds(), Options{ProfileName: name})
		var ue *UnrepresentableError
		if !errors.As(err, &ue) || w.Len() != 0 {
			t.Errorf("-f ini --profile-name %q: %v (wrote %d bytes), want a refusal", name, err, w.Len())
		}
	}
}
