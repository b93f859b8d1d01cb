package format

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// readGitHubEnvFile reads $GITHUB_ENV / $GITHUB_OUTPUT by the runner's
// rules (actions/runner, src/Runner.Worker/FileCommandManager.cs,
// EnvFileKeyValuePairs), written from the documented behaviour: lines end
// at LF, and on Windows also at CRLF; empty lines are skipped; a line is
// NAME=VALUE when = comes before <<, else NAME<<DELIMITER, whose value is
// the text from the next line up to the line ending before the first line
// equal to DELIMITER.
func readGitHubEnvFile(text string, windows bool) ([]Var, error) {
	i := 0
	readLine := func() (line, newline string, ok bool) {
		if i >= len(text) {
			return "", "", false
		}
		start := i
		lf := strings.IndexByte(text[i:], '\n')
		if lf < 0 {
			i = len(text)
			return text[start:], "", true
		}
		lf += i
		if windows {
			if crlf := strings.Index(text[i:], "\r\n"); crlf >= 0 && crlf+i < lf {
				i = crlf + i + 2
				return text[start : i-2], "\r\n", true
			}
		}
		i = lf + 1
		return text[start:lf], "\n", true
	}
	var vars []Var
	for {
		line, _, ok := readLine()
		if !ok {
			return vars, nil
		}
		if line == "" {
			continue
		}
		eq, hd := strings.Index(line, "="), strings.Index(line, "<<")
		switch {
		case eq >= 0 && (hd < 0 || eq < hd):
			vars = append(vars, Var{line[:eq], line[eq+1:]})
		case hd >= 0:
			name, delim := line[:hd], line[hd+2:]
			if name == "" || delim == "" {
				return nil, fmt.Errorf("invalid format %q", line)
			}
			start, end := i, i
			for {
				l, nl, ok := readLine()
				if !ok {
					return nil, fmt.Errorf("matching delimiter not found for %s", name)
				}
				if l == delim {
					break
				}
				if nl == "" {
					return nil, errors.New("EOF marker missing new line")
				}
				end = i - len(nl)
			}
			vars = append(vars, Var{name, text[start:max(start, end)]})
		default:
			return nil, fmt.Errorf("invalid format %q", line)
		}
	}
}

// TestGitHubReaderModel pins the reader to the runner's documented cases.
func TestGitHubReaderModel(t *testing.T) {
	got, err := readGitHubEnvFile("A=1\n\nB<<EOF\nx\ny\nEOF\nC<<X\nX\n", false)
	want := []Var{{"A", "1"}, {"B", "x\ny"}, {"C", ""}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("read = %v, %v; want %v", got, err, want)
	}
	if _, err := readGitHubEnvFile("B<<EOF\nx\n", false); err == nil {
		t.Error("a block without its delimiter line was accepted")
	}
	got, err = readGitHubEnvFile("B<<EOF\r\nx\r\r\nEOF\r\n", true)
	if err != nil || !slices.Equal(got, []Var{{"B", "x\r"}}) {
		t.Errorf("windows read = %q, %v", got, err)
	}
}

func githubValues() []Var {
	return []Var{
		{"PLAIN", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		{"EOF", "EOF"},
		{"EOF_LINES", "EOF\nEOF\n"},
		{"MULTI", "line1\nline2\n\nline4"},
		{"CRLF_INSIDE", "a\r\nb"},
		{"LEADING_NEWLINES", "\n\nx"},
		{"EMPTY", ""},
		{"INJECTION", "x\nEOF\nAWS_ACCESS_KEY_ID=AKIAEVIL\nY<<EOF"},
		{"DELIMITER_LOOKALIKE", "ghadelimiter_00000000000000000000000000000000"},
		{"EQUALS", "=a=b<<c"},
		{"UNICODE", "café \u2019 \u200f 🔑"},
		{"LONG", strings.Repeat("x", 10240)},
	}
}

func TestGitHubEnvFileRoundTrip(t *testing.T) {
	for _, windows := range []bool{false, true} {
		t.Run(fmt.Sprintf("windows=%v", windows), func(t *testing.T) {
			var b bytes.Buffer
			if err := GitHubEnvFile(&b, githubValues(), nil); err != nil {
				t.Fatal(err)
			}
			got, err := readGitHubEnvFile(b.String(), windows)
			if err != nil {
				t.Fatal(err)
			}
			want := githubValues()
			if len(got) != len(want) {
				t.Fatalf("read %d variables %v, want %d", len(got), names(got), len(want))
			}
			for i := range want {
				if got[i].Name != want[i].Name {
					t.Errorf("variable %d is %s, want %s", i, got[i].Name, want[i].Name)
				}
				if err := sameValue(want[i].Value, got[i].Value); err != nil {
					t.Errorf("%s %v", want[i].Name, err)
				}
			}
		})
	}
}

// TestGitHubEnvFileEnvVarsRoundTrip: hazardous credentials, with a
// caller-supplied delimiter generator as the CLI passes one.
func TestGitHubEnvFileEnvVarsRoundTrip(t *testing.T) {
	c, opt := hazardCreds(hazardValue(t, "everything"))
	var b bytes.Buffer
	if err := GitHubEnvFile(&b, EnvVars(c, opt), counterDelimiter()); err != nil {
		t.Fatal(err)
	}
	got, err := readGitHubEnvFile(b.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	want := EnvVars(c, opt)
	if len(got) != len(want) {
		t.Fatalf("read %v, want %v", names(got), names(want))
	}
	for i := range want {
		if got[i].Name != want[i].Name {
			t.Errorf("variable %d is %s, want %s", i, got[i].Name, want[i].Name)
		}
		if err := sameValue(want[i].Value, got[i].Value); err != nil {
			t.Errorf("%s %v", want[i].Name, err)
		}
	}
}

var delimiterLine = regexp.MustCompile(`(?m)^[A-Za-z_][A-Za-z0-9_-]*<<(.+)$`)

func delimiters(t *testing.T, file string) []string {
	t.Helper()
	var out []string
	for _, m := range delimiterLine.FindAllStringSubmatch(file, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestGitHubEnvFileDelimitersDiffer(t *testing.T) {
	seen := map[string]bool{}
	for call := range 2 {
		var b bytes.Buffer
		if err := GitHubEnvFile(&b, EnvVars(testCreds(), Options{Region: "eu-west-1"}), nil); err != nil {
			t.Fatal(err)
		}
		ds := delimiters(t, b.String())
		if len(ds) != 6 {
			t.Fatalf("call %d: found %d delimiters, want 6", call, len(ds))
		}
		for _, d := range ds {
			if seen[d] {
				t.Errorf("delimiter %q used twice", d)
			}
			seen[d] = true
			if len(d) < 32 {
				t.Errorf("delimiter %q is too short to be unguessable", d)
			}
		}
	}
}

func TestGitHubEnvFileRedrawsDelimiterFoundInValue(t *testing.T) {
	draws := []string{"EOF", "", "a\nb", "SAFE"}
	next := func() string {
		d := draws[0]
		draws = draws[1:]
		return d
	}
	var b bytes.Buffer
	if err := GitHubEnvFile(&b, []Var{{"V", "x\nEOF\ny"}}, next); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "V<<SAFE\nx\nEOF\ny\nSAFE\n" {
		t.Errorf("GitHubEnvFile wrote %q", got)
	}

	err := GitHubEnvFile(failWriter{t}, []Var{{"V", "EOF"}}, func() string { return "EOF" })
	if !errors.Is(err, errNoDelimiter) {
		t.Errorf("with only colliding delimiters: %v, want errNoDelimiter", err)
	}
}

func TestGitHubEnvFileRefuses(t *testing.T) {
	tests := []struct {
		name string
		v    Var
	}{
		{"trailing CR", Var{"A", "x\r"}},
		{"NUL", Var{"A", "x\x00y"}},
		{"invalid UTF-8", Var{"A", "\xff"}},
		{"empty name", Var{"", "x"}},
		{"= in name", Var{"A=B", "x"}},
		{"<< in name", Var{"A<<B", "x"}},
		{"newline in name", Var{"A\nB", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A valid variable first: nothing at all may be written.
			err := GitHubEnvFile(failWriter{t}, []Var{{"OK", "fine"}, tt.v}, nil)
			if !isUnrepresentable(err, GitHub) {
				t.Errorf("GitHubEnvFile = %v, want an UnrepresentableError", err)
			}
		})
	}
}

// unescapeCommandData is the runner's reverse of escapeCommandData.
func unescapeCommandData(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%25", "%").Replace(s)
}

func parseMasks(t *testing.T, out string) []string {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("mask output does not end with a newline")
	}
	var masks []string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		v, ok := strings.CutPrefix(line, "::add-mask::")
		if !ok {
			t.Fatalf("line is not an add-mask command: %q", truncate(line))
		}
		if strings.ContainsRune(v, '\r') {
			t.Fatalf("mask holds a raw carriage return")
		}
		masks = append(masks, unescapeCommandData(v))
	}
	return masks
}

func TestGitHubMasks(t *testing.T) {
	c := testCreds()
	c.SecretAccessKey = "100%\r\nsecret%0A"
	var b bytes.Buffer
	if err := GitHubMasks(&b, c); err != nil {
		t.Fatal(err)
	}
	masks := parseMasks(t, b.String())
	want := []string{c.AccessKeyID, c.SecretAccessKey, "100%", "secret%0A", c.SessionToken}
	if !slices.Equal(masks, want) {
		t.Errorf("masks = %q, want %q", masks, want)
	}

	// Nothing but the secrets: not the expiration, ARN, account or region.
	for _, notSecret := range []string{"2030-01-02T03:04:05Z", c.AssumedRoleARN, "123456789012"} {
		if strings.Contains(b.String(), notSecret) {
			t.Errorf("mask output contains %q, which is not a secret", notSecret)
		}
	}

	// Render -f github prints exactly the masks.
	rendered := render(t, GitHub, c, Options{Region: "eu-west-1"})
	if !bytes.Equal(rendered, b.Bytes()) {
		t.Errorf("Render(github) differs from GitHubMasks")
	}
}

func TestGitHubMasksLongTerm(t *testing.T) {
	var b bytes.Buffer
	if err := GitHubMasks(&b, longTermCreds()); err != nil {
		t.Fatal(err)
	}
	if got := parseMasks(t, b.String()); !slices.Equal(got, []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}) {
		t.Errorf("masks = %q", got)
	}
}

// TestGitHubStepOrder follows a -f github step as the CLI runs it: masks to
// stdout first, then the env file. Every secret in the env file has a mask.
func TestGitHubStepOrder(t *testing.T) {
	c := testCreds()
	var stdout, env bytes.Buffer
	if err := Render(&stdout, GitHub, c, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := GitHubEnvFile(&env, EnvVars(c, Options{}), nil); err != nil {
		t.Fatal(err)
	}
	masks := parseMasks(t, stdout.String())
	vars, err := readGitHubEnvFile(env.String(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		secret := v.Name == envAccessKeyID || v.Name == envSecretAccessKey || v.Name == envSessionToken
		if secret != slices.Contains(masks, v.Value) {
			t.Errorf("%s: masked = %v, want %v", v.Name, !secret, secret)
		}
	}
}

func TestGitHubOutputs(t *testing.T) {
	got := GitHubOutputs(testCreds(), Options{Region: "eu-west-1"})
	want := []Var{
		{"aws-account-id", "123456789012"},
		{"authenticated-arn", "arn:aws:sts::123456789012:assumed-role/deploy/rolecall-alice"},
		{"aws-access-key-id", "ASIAIOSFODNN7EXAMPLE"},
		{"aws-secret-access-key", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		{"aws-session-token", testCreds().SessionToken},
		{"aws-expiration", "2030-01-02T03:04:05Z"},
		{"aws-region", "eu-west-1"},
		{"aws-default-region", "eu-west-1"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("GitHubOutputs = %v, want %v", names(got), names(want))
	}
	got = GitHubOutputs(longTermCreds(), Options{})
	if !slices.Equal(names(got), []string{"aws-access-key-id", "aws-secret-access-key"}) {
		t.Errorf("long-term GitHubOutputs = %v", names(got))
	}
}
