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
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

// hazard is a value that breaks naive quoting somewhere.
type hazard struct {
	name  string
	value string
}

// hazards are the quoting hazards every shell format must carry exactly
// (or, where it cannot, refuse). They also seed the fuzz corpus.
var hazards = []hazard{
	{"plain", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
	{"single-quote", "it's"},
	{"only-single-quotes", "''''"},
	{"quote-at-both-ends", "'x'"},
	{"posix-escaped-quote", `'\''`},
	{"double-quote", `say "hi"`},
	{"backslash", `a\b\\c`},
	{"trailing-backslash", `abc\`},
	{"backslash-quote", `\'`},
	{"command-substitution", "$(echo pwned >&2)"},
	{"backticks", "`echo pwned >&2`"},
	{"variable", "$HOME ${HOME} $1 $$ $? $@"},
	{"ansi-c-quote", `$'\n'`},
	{"history-expansion", "!! !$ !-1 ^a^b"},
	{"separators", "a; b && c || d | e & f"},
	{"redirections", "<in >out 2>&1"},
	{"newline", "line1\nline2"},
	{"trailing-newlines", "abc\n\n"},
	{"leading-newline", "\nabc"},
	{"carriage-return", "a\rb\r\n"},
	{"tab", "a\tb\t"},
	{"glob", "*?[a-z]{1,2}"},
	{"tilde", "~root/~"},
	{"hash", "#not a comment # either"},
	{"percent", "%PATH% 100%"},
	{"bang", "wow!"},
	{"unicode", "café ñ 日本語"},
	{"typographic-quotes", "\u2018a\u2019 \u201ab\u201b"},
	{"rtl-marks", "\u200fabc\u202edef\u202c\u200e"},
	{"emoji", "key\U0001F511"},
	{"leading-dash", "-n"},
	{"double-dash", "--help"},
	{"equals", "=a=b="},
	{"spaces", "  spaced  out  "},
	{"control-chars", "\x01\x1b[31mred\x7f"},
	{"fish-escape", `\x41\n\'`},
	{"powershell-subexpression", "$(Get-Date) @(1) `n"},
	{"cmd-specials", "^&|<>()"},
	{"heredoc-eof", "EOF\nEOF"},
	{"everything", "'\"\\$(x)`y`$Z!;&&|\n\r\t*?[~#%é\u2019\u200f-=EOF"},
	{"long", strings.Repeat("AbC+/=", 10240/6+1)[:10240]},
}

// testCreds are realistic temporary credentials.
func testCreds() creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		SessionToken:    "IQoJb3JpZ2luX2VjEXAMPLETOKEN//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==",
		Expiration:      time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		AssumedRoleARN:  "arn:aws:sts::123456789012:assumed-role/deploy/rolecall-alice",
	}
}

// longTermCreds are IAM user keys: no token, no expiration.
func longTermCreds() creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
		SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	}
}

// hazardCreds puts a hazard in every field a shell format writes.
func hazardCreds(v string) (creds.Credentials, Options) {
	c := testCreds()
	c.AccessKeyID = "AK" + v
	c.SecretAccessKey = v
	c.SessionToken = v + "T"
	return c, Options{Region: "r" + v, ProfileName: "default"}
}

// requireProgram finds a program the test runs. Missing is a failure when
// CI is set (the CI image must have it) and a skip on a developer machine.
func requireProgram(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return path
}

// requirePython finds a python3 that can import every module.
func requirePython(t testing.TB, modules ...string) string {
	t.Helper()
	py := requireProgram(t, "python3")
	for _, m := range modules {
		if out, err := exec.CommandContext(t.Context(), py, "-c", "import "+m).CombinedOutput(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("python module %s is required in CI: %v\n%s", m, err, out)
			}
			t.Skipf("python module %s not installed: %v", m, err)
		}
	}
	return py
}

// render runs Render into a buffer and fails the test on error.
func render(t testing.TB, f Format, c creds.Credentials, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, f, c, opt); err != nil {
		t.Fatalf("Render(%s): %v", f, err)
	}
	return b.Bytes()
}

// hermeticEnv is a minimal environment for child programs, with no AWS_*
// variables and no rc files to read.
func hermeticEnv(t testing.TB) []string {
	t.Helper()
	home := t.TempDir()
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"LANG=C.UTF-8",
		"LC_ALL=C.UTF-8",
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// sameValue compares two values without printing either in full: test
// values stand in for secrets, so failures show only where they differ.
func sameValue(want, got string) error {
	if want == got {
		return nil
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	window := func(s string) string {
		end := min(i+8, len(s))
		return fmt.Sprintf("%q", s[i:end])
	}
	return fmt.Errorf("differs at byte %d (lengths %d and %d): want %s…, got %s…", i, len(want), len(got), window(want), window(got))
}

// isUnrepresentable reports whether err says f cannot represent a value.
func isUnrepresentable(err error, f Format) bool {
	var ue *UnrepresentableError
	return errors.As(err, &ue) && ue.Format == f
}

// hazardValue looks a hazard up by name.
func hazardValue(t testing.TB, name string) string {
	t.Helper()
	for _, h := range hazards {
		if h.name == name {
			return h.value
		}
	}
	t.Fatalf("no hazard %q", name)
	return ""
}
