package format

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/pkg/creds"
)

// allEnvNames are the variables a shell format may set or clear.
var allEnvNames = []string{
	envAccessKeyID, envSecretAccessKey, envSessionToken, envSecurityToken,
	envExpiration, envRegion, envDefaultRegion, envProfile, envDefaultProfile,
}

// shell describes how to evaluate rendered output in one real shell the way
// a user does, then dump each variable byte for byte into its own file
// (present only when the variable is set).
type shell struct {
	program string
	format  Format
	args    func(script string) []string
	script  func(names []string) string
}

func posixShell(program string, flags ...string) shell {
	return shell{
		program: program,
		format:  Env,
		args: func(script string) []string {
			return append(append([]string{}, flags...), "-c", script, "sh")
		},
		script: func(names []string) string {
			var b strings.Builder
			b.WriteString(`eval "$(cat "$1")" || exit 97` + "\n")
			for _, n := range names {
				b.WriteString(`if [ "${` + n + `+set}" = set ]; then printf '%s' "$` + n + `" > "$2/` + n + `"; fi` + "\n")
			}
			return b.String() + "exit 0\n"
		},
	}
}

var fishShell = shell{
	program: "fish",
	format:  Fish,
	args: func(script string) []string {
		return []string{"--no-config", "-c", script}
	},
	script: func(names []string) string {
		var b strings.Builder
		b.WriteString("cat $argv[1] | source; or exit 97\n")
		for _, n := range names {
			b.WriteString("set -q " + n + "; and printf '%s' $" + n + " > $argv[2]/" + n + "\n")
		}
		return b.String() + "exit 0\n"
	},
}

// shells are the real shells the env and fish formats are checked with.
var shells = []shell{
	posixShell("bash", "--norc", "--noprofile"),
	posixShell("zsh", "-f"),
	posixShell("dash"),
	fishShell,
}

// evalInShell evaluates rendered output in sh and returns the variables
// that are set afterwards. Anything on the shell's stderr fails the test:
// the hazards that run commands print there if they escape their quotes.
func evalInShell(t testing.TB, sh shell, rendered []byte) map[string]string {
	t.Helper()
	return evalShell(t, sh, rendered, allEnvNames)
}

// evalInShellEnv is evalInShell in a shell whose environment also has env
// (NAME=value entries).
func evalInShellEnv(t testing.TB, sh shell, rendered []byte, env ...string) map[string]string {
	t.Helper()
	return evalShell(t, sh, rendered, allEnvNames, env...)
}

// evalNamesInShell is evalInShell for the variables in names.
func evalNamesInShell(t testing.TB, sh shell, rendered []byte, names []string) map[string]string {
	t.Helper()
	return evalShell(t, sh, rendered, names)
}

// evalShell evaluates rendered in sh, with env added to the shell's
// environment, and returns the variables in names that are set afterwards.
func evalShell(t testing.TB, sh shell, rendered []byte, names []string, env ...string) map[string]string {
	t.Helper()
	path := requireProgram(t, sh.program)
	dir := t.TempDir()
	in := filepath.Join(dir, "rendered")
	out := filepath.Join(dir, "vars")
	if err := os.WriteFile(in, rendered, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), path, append(sh.args(sh.script(names)), in, out)...)
	cmd.Env = append(hermeticEnv(t), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		// stderr may echo a line of the input, which holds only test values.
		t.Fatalf("%s: eval failed: %v\n%s", sh.program, err, stderr.Bytes())
	}
	got := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(out, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got[n] = string(b)
	}
	return got
}

// checkShellVars compares what a shell ended up with against EnvVars,
// and checks that the variables the format clears are unset.
func checkShellVars(t testing.TB, want []Var, got map[string]string) {
	t.Helper()
	for _, v := range want {
		g, ok := got[v.Name]
		if !ok {
			t.Errorf("%s is not set", v.Name)
			continue
		}
		if err := sameValue(v.Value, g); err != nil {
			t.Errorf("%s: %v", v.Name, err)
		}
		delete(got, v.Name)
	}
	for name := range got {
		t.Errorf("%s is set, but the credentials have no value for it", name)
	}
}

func TestShellsEvaluateHazardsExactly(t *testing.T) {
	for _, sh := range shells {
		t.Run(sh.program, func(t *testing.T) {
			requireProgram(t, sh.program)
			for _, h := range hazards {
				t.Run(h.name, func(t *testing.T) {
					c, opt := hazardCreds(h.value)
					got := evalInShell(t, sh, render(t, sh.format, c, opt))
					checkShellVars(t, EnvVars(c, opt), got)
				})
			}
		})
	}
}

// TestShellsClearStaleToken: long-term keys come without a session token
// or expiration, so the output unsets the ones a previous eval left.
func TestShellsClearStaleToken(t *testing.T) {
	for _, sh := range shells {
		t.Run(sh.program, func(t *testing.T) {
			stale := render(t, sh.format, testCreds(), Options{})
			fresh := render(t, sh.format, longTermCreds(), Options{})
			got := evalInShell(t, sh, append(stale, fresh...))
			checkShellVars(t, EnvVars(longTermCreds(), Options{}), got)
		})
	}
}

// TestShellsClearProfile: with AWS_PROFILE set in the shell, the AWS SDK for
// JavaScript v3 ignores exported keys, so every shell format unsets the
// profile variables; the credentials are then the only source left.
func TestShellsClearProfile(t *testing.T) {
	for _, sh := range shells {
		t.Run(sh.program, func(t *testing.T) {
			for _, c := range []struct {
				name  string
				creds func() creds.Credentials
			}{{"temporary", testCreds}, {"long-term", longTermCreds}} {
				t.Run(c.name, func(t *testing.T) {
					got := evalInShellEnv(t, sh, render(t, sh.format, c.creds(), Options{}),
						"AWS_PROFILE=base", "AWS_DEFAULT_PROFILE=base")
					checkShellVars(t, EnvVars(c.creds(), Options{}), got)
				})
			}
		})
	}
}

func TestShellFormatsRefuseNUL(t *testing.T) {
	for _, f := range []Format{Env, Fish, PowerShell, Cmd} {
		// In the middle, and first: a NUL at index 0 is a NUL too.
		for _, token := range []string{"a\x00b", "\x00ab"} {
			t.Run(string(f)+fmt.Sprintf("/%q", token), func(t *testing.T) {
				c := testCreds()
				c.SessionToken = token
				var out bytes.Buffer
				err := Render(&out, f, c, Options{})
				if !isUnrepresentable(err, f) || !strings.Contains(err.Error(), "NUL") {
					t.Fatalf("Render = %v, want an UnrepresentableError for the NUL", err)
				}
				if out.Len() != 0 {
					t.Errorf("Render wrote %d bytes before failing", out.Len())
				}
			})
		}
	}
}

// TestQuoteEmpty: the empty string is a quoted empty word in every shell.
func TestQuoteEmpty(t *testing.T) {
	for name, quote := range map[string]func(string) string{"POSIX": QuotePOSIX, "fish": QuoteFish, "PowerShell": QuotePowerShell} {
		if got := quote(""); got != "''" {
			t.Errorf("%s quotes the empty string as %q, want ''", name, got)
		}
	}
}

// TestPowerShellExpressionKeepsPrintableASCIILiteral: printable ASCII,
// space to ~, stays in single quotes; the characters either side of that
// range are [char] codes.
func TestPowerShellExpressionKeepsPrintableASCIILiteral(t *testing.T) {
	tests := []struct{ in, want string }{
		{" ~", "' ~'"},
		{"\x1fa", "'' + [char]0x001F + 'a'"},
		{"a\x7f", "'a' + [char]0x007F"},
	}
	for _, tt := range tests {
		if got := powerShellExpression(tt.in); got != tt.want {
			t.Errorf("powerShellExpression(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestQuotePOSIX(t *testing.T) {
	tests := []struct{ in, want string }{
		{"rolecall", "rolecall"},
		{"/usr/local/bin/rolecall", "/usr/local/bin/rolecall"},
		{"--profile", "--profile"},
		{"arn:aws:iam::123456789012:role/deploy", "arn:aws:iam::123456789012:role/deploy"},
		{"", "''"},
		{"a b", "'a b'"},
		{"it's", `'it'\''s'`},
		{"a=b", "'a=b'"},
		{"~", "'~'"},
		{"$x", "'$x'"},
		{"/Users/me/My Tools/rolecall", "'/Users/me/My Tools/rolecall'"},
		// The ends of each safe range are safe; their neighbours are not.
		{"azAZ09", "azAZ09"},
		{"`", "'`'"},
		{"{", "'{'"},
		{"[", "'['"},
		{"<", "'<'"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := QuotePOSIX(tt.in); got != tt.want {
				t.Errorf("QuotePOSIX(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestQuotePOSIXWordsInBash: a command line of quoted words reaches the
// program as exactly those arguments (how configure writes
// credential_process, which the Go SDK runs with sh -c).
func TestQuotePOSIXWordsInBash(t *testing.T) {
	bash := requireProgram(t, "bash")
	dir := t.TempDir()
	var words []string
	for _, h := range hazards {
		words = append(words, h.value)
	}
	words = append(words, "", "plain-word", "/abs/path")
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = QuotePOSIX(w)
	}
	out := filepath.Join(dir, "args")
	script := `for a in "$@"; do printf '%s\0' "$a"; done > ` + QuotePOSIX(out)
	cmd := exec.CommandContext(t.Context(), bash, "-c", "set -- "+strings.Join(quoted, " ")+"\n"+script)
	cmd.Env = hermeticEnv(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
	if len(got) != len(words) {
		t.Fatalf("bash saw %d arguments, want %d", len(got), len(words))
	}
	for i := range words {
		if err := sameValue(words[i], got[i]); err != nil {
			t.Errorf("word %d: %v", i, err)
		}
	}
}

// TestCmdTakesAllPrintableASCII: cmd carries every printable ASCII
// character but % ! and ", space and ~ (the ends of the range) included.
func TestCmdTakesAllPrintableASCII(t *testing.T) {
	var printable strings.Builder
	for r := rune(0x20); r <= 0x7e; r++ {
		if !strings.ContainsRune(`%!"`, r) {
			printable.WriteRune(r)
		}
	}
	c := testCreds()
	c.SecretAccessKey = printable.String()
	out := render(t, Cmd, c, Options{})
	if want := "set \"AWS_SECRET_ACCESS_KEY=" + printable.String() + "\"\r\n"; !strings.Contains(string(out), want) {
		t.Errorf("cmd output lacks %q:\n%s", want, out)
	}
}
