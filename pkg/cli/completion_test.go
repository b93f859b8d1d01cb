package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/format"
)

const completionConfig = `[default]
region = us-east-1

[profile base]
region = eu-west-1

[profile deploy]
role_arn = arn:aws:iam::123456789012:role/deploy
source_profile = base

[sso-session corp]
sso_start_url = https://example.awsapps.com/start

[profile dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = ReadOnlyAccess
`

// completionCredentials holds AWS's documented example keys.
//

const completionCredentials = `[base]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[ci]
aws_access_key_id = AKIAI44QH8DHBEXAMPLE
aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY
`

// complete runs `rolecall __complete args...`, the hidden command every
// shell's completion script calls, and returns the candidates (with their
// descriptions) and the directive.
func complete(t *testing.T, env map[string]string, args ...string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	var out, errOut bytes.Buffer
	io := &IO{
		In:     strings.NewReader(""),
		Out:    &out,
		ErrOut: &errOut,
		Getenv: func(k string) string { return env[k] },
		Now:    time.Now,
	}
	if code := Run(context.Background(), io, append([]string{cobra.ShellCompRequestCmd}, args...)); code != ExitOK {
		t.Fatalf("__complete %q: exit %d: %s", args, code, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, ":") {
		t.Fatalf("__complete %q: no directive line in %q", args, out.String())
	}
	var d int
	for _, c := range last[1:] {
		d = d*10 + int(c-'0')
	}
	return lines[:len(lines)-1], cobra.ShellCompDirective(d)
}

func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	credentials := filepath.Join(dir, "credentials")
	writeFile(t, config, completionConfig, 0o600)
	writeFile(t, credentials, completionCredentials, 0o600)
	env := map[string]string{"AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials, "HOME": dir}

	allProfiles := []string{"base", "ci", "default", "deploy\tarn:aws:iam::123456789012:role/deploy", "dev"}
	// A ROLE is a profile that names a role (issue 23, item 11): a profile
	// of keys or settings alone is refused there.
	roleProfiles := []string{"deploy\tarn:aws:iam::123456789012:role/deploy", "dev"}
	noFiles := cobra.ShellCompDirectiveNoFileComp
	tests := []struct {
		name          string
		args          []string
		want          []string
		wantDirective cobra.ShellCompDirective
	}{
		{"assume role", []string{"assume", ""}, roleProfiles, noFiles},
		{"assume role prefix", []string{"assume", "de"}, roleProfiles, noFiles},
		{"assume second role", []string{"assume", "base", "de"}, []string{"deploy\tarn:aws:iam::123456789012:role/deploy"}, noFiles},
		{"process role", []string{"process", "c"}, nil, noFiles},
		{"process role d", []string{"process", "d"}, roleProfiles, noFiles},
		{"console role", []string{"console", "c"}, nil, noFiles},
		{"profile flag", []string{"assume", "--profile", ""}, allProfiles, noFiles},
		{"profile flag on whoami", []string{"whoami", "--profile", "b"}, []string{"base"}, noFiles},
		{"source-profile flag", []string{"configure", "new", "--source-profile", "b"}, []string{"base"}, noFiles},
		{"format flag", []string{"assume", "-f", ""}, format.Names(), noFiles},
		{"format flag long", []string{"assume", "deploy", "--format", ""}, format.Names(), noFiles},
		{"whoami format", []string{"whoami", "--format", ""}, []string{"text", "json"}, noFiles},
		{"exec role", []string{"exec", ""}, roleProfiles, noFiles},
		{"exec after the role", []string{"exec", "deploy", ""}, nil, cobra.ShellCompDirectiveDefault},
		{"exec command", []string{"exec", "deploy", "--", ""}, nil, cobra.ShellCompDirectiveDefault},
		{"cache clear", []string{"cache", "clear", "ba"}, []string{"base"}, noFiles},
		{"shell-init", []string{"shell-init", ""}, []string{"bash", "zsh", "fish", "powershell"}, noFiles},
		{"completion shells", []string{"completion", ""}, []string{"bash", "fish", "powershell", "zsh"}, noFiles},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, d := complete(t, env, tt.args...)
			got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
			if tt.name == "completion shells" { // Cobra's own descriptions
				for i := range got {
					got[i], _, _ = strings.Cut(got[i], "\t")
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("candidates %q, want %q", got, tt.want)
			}
			if d != tt.wantDirective {
				t.Errorf("directive %d, want %d", d, tt.wantDirective)
			}
		})
	}
}

// TestCompletionWithoutConfig: no files, or a broken one, give no
// candidates and no error; completion never gets in the way.
func TestCompletionWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	writeFile(t, broken, "[profile x\nrole_arn = \n", 0o600)
	tests := []struct {
		name   string
		config string
	}{
		{"missing files", filepath.Join(dir, "nope")},
		{"malformed file", broken},
		{"a directory", dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"AWS_CONFIG_FILE": tt.config, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"), "HOME": dir}
			got, d := complete(t, env, "assume", "")
			if len(slices.DeleteFunc(got, func(s string) bool { return s == "" })) != 0 {
				t.Errorf("candidates %q, want none", got)
			}
			if d != cobra.ShellCompDirectiveNoFileComp {
				t.Errorf("directive %d, want %d (no file names for a role)", d, cobra.ShellCompDirectiveNoFileComp)
			}
		})
	}
}

// TestCompletionScriptsParse checks that Cobra's scripts for our tree are
// valid in the real shells (syntax only: they call rolecall __complete,
// tested above).
func TestCompletionScriptsParse(t *testing.T) {
	tests := []struct {
		shell string
		check []string // the shell's parse-only invocation, reading the script from stdin
	}{
		{"bash", []string{"bash", "-n"}},
		{"zsh", []string{"zsh", "-n"}},
		{"fish", []string{"fish", "--no-execute"}},
	}
	for _, tt := range tests {
		t.Run(tt.shell, func(t *testing.T) {
			shell := requireShell(t, tt.check[0])
			var out, errOut bytes.Buffer
			io := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: os.Getenv, Now: time.Now}
			if code := Run(context.Background(), io, []string{"completion", tt.shell}); code != ExitOK {
				t.Fatalf("completion %s: exit %d: %s", tt.shell, code, errOut.String())
			}
			if !strings.Contains(out.String(), "__complete") {
				t.Fatalf("completion %s does not call __complete:\n%s", tt.shell, out.String())
			}
			cmd := exec.CommandContext(t.Context(), shell, tt.check[1:]...)
			cmd.Stdin = &out
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s rejects the completion script: %v\n%s", tt.shell, err, msg)
			}
		})
	}
}
