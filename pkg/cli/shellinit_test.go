package cli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/format"
)

var updateShellInit = flag.Bool("update-shellinit", false, "rewrite the shell-init golden files in testdata/shellinit")

// hazardCreds are credentials whose every value would do harm if the shell
// function evaluated them unquoted or evaluated rolecall's output twice.
var hazardCreds = creds.Credentials{
	AccessKeyID:     `ASIA'"$(touch pwned)` + "`touch pwned`",
	SecretAccessKey: "s3cr'et\"with $HOME and \\ and\nnewline; touch pwned && echo |",
	SessionToken:    strings.Repeat("Tok/+=", 400) + " ’quote’ $(touch pwned)",
	Expiration:      time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
}

// fakeRolecall stands in for rolecall on PATH: the real one needs an STS.
// It answers shell-init with the real functions, and assume with the real
// format package's rendering of hazardCreds (or, with $FAKE_DIR/fail, a
// half line of exports and exit 4). It records each call's arguments and
// environment, so the test sees what the function passed on.
const fakeRolecall = `#!/bin/sh
D="$FAKE_DIR"
if [ "$1" = shell-init ]; then cat "$D/init.$2"; exit 0; fi
n=$(cat "$D/calls" 2>/dev/null || echo 0); n=$((n+1)); echo "$n" > "$D/calls"
printf '%s\n' "$@" > "$D/args.$n"
env -0 > "$D/rolecall-env.$n"
for a in "$@"; do
  if [ "$a" = --help ]; then echo 'Usage: rolecall assume' >&2; exit 0; fi
done
if [ -e "$D/fail" ]; then
  printf 'export AWS_ACCESS_KEY_ID=partial\nset -gx AWS_ACCESS_KEY_ID partial\n'
  echo 'rolecall: error: AccessDenied' >&2
  exit 4
fi
cat "$D/out.$3"
`

// The drivers run the same steps in each shell, dumping the exported
// environment (env -0) and the status after each:
//
//	0: nothing yet         1: assume fails       2: assume succeeds
//	3: assume another role 4: assume fails while assumed
//	5: unassume            6: unassume again (nothing to do)
//	7: assume again        8: assume --help (rolecall prints nothing on stdout)
const posixDriver = `set -u
eval "$(rolecall shell-init SHELL --name NAME)"
step() { echo "$1" > "$FAKE_DIR/status.$2"; env -0 > "$FAKE_DIR/env.$2"; }
step 0 0
touch "$FAKE_DIR/fail"; NAME deploy; step $? 1; rm "$FAKE_DIR/fail"
NAME --profile base --region us-west-2 deploy; step $? 2
NAME -f env other --no-cache; step $? 3
touch "$FAKE_DIR/fail"; NAME third; step $? 4; rm "$FAKE_DIR/fail"
unassume; step $? 5
unassume; step $? 6
NAME deploy; step $? 7
NAME --help; step $? 8
`

const fishDriver = `rolecall shell-init fish --name NAME | source
function step; echo $argv[1] > $FAKE_DIR/status.$argv[2]; env -0 > $FAKE_DIR/env.$argv[2]; end
step 0 0
touch $FAKE_DIR/fail; NAME deploy; step $status 1; rm $FAKE_DIR/fail
NAME --profile base --region us-west-2 deploy; step $status 2
NAME -f env other --no-cache; step $status 3
touch $FAKE_DIR/fail; NAME third; step $status 4; rm $FAKE_DIR/fail
unassume; step $status 5
unassume; step $status 6
NAME deploy; step $status 7
NAME --help; step $status 8
`

func TestShellInitInRealShells(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake rolecall is a POSIX shell script")
	}
	tests := []struct {
		shell  string
		name   string
		driver string
	}{
		{"bash", "assume", posixDriver},
		{"zsh", "assume", posixDriver},
		{"fish", "assume", fishDriver},
		{"bash", "aws-assume", posixDriver},
		{"fish", "aws-assume", fishDriver},
	}
	for _, tt := range tests {
		t.Run(tt.shell+"/"+tt.name, func(t *testing.T) {
			shellPath := requireShell(t, tt.shell)
			dir := fakeRolecallDir(t, tt.shell, tt.name)
			driver := strings.NewReplacer("SHELL", tt.shell, "NAME", tt.name).Replace(tt.driver)

			cmd := exec.CommandContext(t.Context(), shellPath, "-c", driver)
			cmd.Dir = dir
			cmd.Env = []string{
				"PATH=" + dir + string(os.PathListSeparator) + os.Getenv("PATH"),
				"HOME=" + dir,
				"FAKE_DIR=" + dir,
				"AWS_REGION=user-region",
				"AWS_PROFILE=base-profile",
				"AWS_DEFAULT_PROFILE=base-default",
				"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"), // no user fish config
				"XDG_DATA_HOME=" + filepath.Join(dir, "data"),
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%s: %v\n%s", tt.shell, err, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
				t.Fatalf("a credential value was executed as a command")
			}

			start := readEnvDump(t, dir, 0)
			credNames, _ := shellInitVarNames()
			want := map[string]string{}
			for _, v := range format.EnvVars(hazardCreds, format.Options{Region: "us-west-2"}) {
				want[v.Name] = v.Value
			}

			// 1: a failing rolecall leaves the shell as it was, and its
			// status comes back.
			assertStatus(t, dir, 1, 4)
			assertSameEnv(t, start, readEnvDump(t, dir, 1))

			// 2: success sets exactly the rendered values.
			assertStatus(t, dir, 2, 0)
			assumed := readEnvDump(t, dir, 2)
			for name, value := range want {
				if assumed[name] != value {
					t.Errorf("after assume, %s is not the rendered value (got %d bytes, want %d)", name, len(assumed[name]), len(value))
				}
			}
			if got := assumed["ROLECALL_ROLE"]; got != "deploy" {
				t.Errorf("ROLECALL_ROLE = %q, want deploy (the role among the flags)", got)
			}
			for _, name := range format.ProfileEnvVars() {
				if v, ok := assumed[name]; ok {
					t.Errorf("after assume, %s=%q is still set: the JavaScript SDK v3 would use it instead of the keys", name, v)
				}
			}
			first := readEnvFile(t, filepath.Join(dir, "rolecall-env.2"))
			if got := first[shellInitEnv]; got != shellFormat(tt.shell) {
				t.Errorf("rolecall ran with %s=%q, want %q", shellInitEnv, got, shellFormat(tt.shell))
			}
			if first["AWS_PROFILE"] != "base-profile" {
				t.Errorf("the first assume ran rolecall with AWS_PROFILE=%q, want the user's base-profile", first["AWS_PROFILE"])
			}
			if _, ok := assumed["ROLECALL_SET_VARS"]; ok {
				t.Errorf("ROLECALL_SET_VARS is exported; it is the shell's own bookkeeping")
			}
			if got := readLines(t, filepath.Join(dir, "args.2")); strings.Join(got, " ") != "assume -f "+shellFormat(tt.shell)+" --profile base --region us-west-2 deploy" {
				t.Errorf("rolecall called with %q", got)
			}

			// 3: the next assume runs rolecall without the first role's
			// credentials, and with the user's own region.
			assertStatus(t, dir, 3, 0)
			seen := readEnvFile(t, filepath.Join(dir, "rolecall-env.3"))
			for _, name := range credNames {
				if _, ok := seen[name]; ok {
					t.Errorf("the second assume passed the first role's %s to rolecall", name)
				}
			}
			if seen["AWS_REGION"] != "user-region" {
				t.Errorf("the second assume ran rolecall with AWS_REGION=%q, want the user's user-region", seen["AWS_REGION"])
			}
			if _, ok := seen["AWS_DEFAULT_REGION"]; ok {
				t.Errorf("the second assume passed the first role's AWS_DEFAULT_REGION to rolecall")
			}
			if seen["AWS_PROFILE"] != "base-profile" || seen["AWS_DEFAULT_PROFILE"] != "base-default" {
				t.Errorf("the second assume ran rolecall with AWS_PROFILE=%q AWS_DEFAULT_PROFILE=%q, want the user's (the first role's output unset them)",
					seen["AWS_PROFILE"], seen["AWS_DEFAULT_PROFILE"])
			}
			second := readEnvDump(t, dir, 3)
			if got := second["ROLECALL_ROLE"]; got != "other" {
				t.Errorf("ROLECALL_ROLE = %q, want other", got)
			}

			// 4: failing while assumed keeps the role.
			assertStatus(t, dir, 4, 4)
			assertSameEnv(t, second, readEnvDump(t, dir, 4))

			// 5: unassume removes what assume set and puts the region back.
			assertStatus(t, dir, 5, 0)
			assertSameEnv(t, start, readEnvDump(t, dir, 5))

			// 6: a second unassume has nothing to do.
			assertStatus(t, dir, 6, 0)
			assertSameEnv(t, start, readEnvDump(t, dir, 6))

			// 8: rolecall succeeded but printed nothing (its help went to
			// stderr): the role of step 7 stays.
			assertStatus(t, dir, 7, 0)
			assertStatus(t, dir, 8, 0)
			assertSameEnv(t, readEnvDump(t, dir, 7), readEnvDump(t, dir, 8))
		})
	}
}

// requireShell finds a shell: with CI set, a missing one fails the test.
func requireShell(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI requires it", name)
		}
		t.Skipf("%s is not installed (with CI set this fails)", name)
	}
	return p
}

func shellFormat(shell string) string {
	return string(shellInitShells[shell].format)
}

// fakeRolecallDir makes a directory with the fake rolecall, the real
// shell-init output, and the real renderings of hazardCreds.
func fakeRolecallDir(t *testing.T, shell, name string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "rolecall"), fakeRolecall, 0o755)
	script, err := shellInitScript(shell, name)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "init."+shell), string(script), 0o644)
	for _, f := range []format.Format{format.Env, format.Fish} {
		var b bytes.Buffer
		if err := format.Render(&b, f, hazardCreds, format.Options{Region: "us-west-2"}); err != nil {
			t.Fatalf("render %s: %v", f, err)
		}
		writeFile(t, filepath.Join(dir, "out."+string(f)), b.String(), 0o644)
	}
	return dir
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// readTestFile reads a file the test wrote (t.TempDir) or keeps (testdata).
func readTestFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b := readTestFile(t, path)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func assertStatus(t *testing.T, dir string, step, want int) {
	t.Helper()
	got := readLines(t, filepath.Join(dir, "status."+strconv.Itoa(step)))
	if len(got) != 1 || got[0] != strconv.Itoa(want) {
		t.Errorf("step %d: status %q, want %d", step, got, want)
	}
}

func readEnvDump(t *testing.T, dir string, step int) map[string]string {
	t.Helper()
	return readEnvFile(t, filepath.Join(dir, "env."+strconv.Itoa(step)))
}

// readEnvFile parses `env -0` output. Shells add variables of their own
// (PWD, SHLVL, _, …) that change from step to step; those are dropped.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	b := readTestFile(t, path)
	env := map[string]string{}
	for _, kv := range strings.Split(string(b), "\x00") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "_" || name == "SHLVL" || name == "PWD" || name == "OLDPWD" {
			continue
		}
		env[name] = value
	}
	return env
}

func assertSameEnv(t *testing.T, want, got map[string]string) {
	t.Helper()
	for name, v := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s was removed", name)
		} else if g != v {
			t.Errorf("%s changed (%d bytes, was %d)", name, len(g), len(v))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s was added", name)
		}
	}
}

// TestShellInitGolden pins the text of every shell's functions. PowerShell
// is checked only here: no pwsh on the test machines.
func TestShellInitGolden(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			got, err := shellInitScript(shell, "assume")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "shellinit", shell+".golden")
			if *updateShellInit {
				if err := os.MkdirAll(filepath.Dir(golden), 0o750); err != nil {
					t.Fatal(err)
				}
				writeFile(t, golden, string(got), 0o644)
			}
			if _, err := os.Stat(golden); err != nil {
				t.Fatalf("%v (run go test ./pkg/cli -run TestShellInitGolden -update-shellinit)", err)
			}
			want := readTestFile(t, golden)
			if !bytes.Equal(got, want) {
				t.Errorf("shell-init %s differs from %s (rerun with -update-shellinit and review the diff)", shell, golden)
			}
		})
	}
}

func TestShellInitCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // a line the output must contain
		wantErr  string
	}{
		{"bash", []string{"shell-init", "bash"}, ExitOK, "assume() {", ""},
		{"zsh", []string{"shell-init", "zsh"}, ExitOK, `command rolecall assume -f env "$@"`, ""},
		{"fish", []string{"shell-init", "fish"}, ExitOK, "rolecall assume -f fish $argv", ""},
		{"powershell", []string{"shell-init", "powershell"}, ExitOK, "assume -f powershell @args", ""},
		{"pwsh alias", []string{"shell-init", "pwsh"}, ExitOK, "function global:assume {", ""},
		{"name", []string{"shell-init", "bash", "--name", "role"}, ExitOK, "role() {", ""},
		{"unknown shell", []string{"shell-init", "tcsh"}, ExitUsage, "", `unknown shell "tcsh"`},
		{"no shell", []string{"shell-init"}, ExitUsage, "", "needs one shell name"},
		{"bad name", []string{"shell-init", "bash", "--name", "a;rm"}, ExitUsage, "", "cannot be a function name"},
		{"name clash", []string{"shell-init", "fish", "--name", "unassume"}, ExitUsage, "", "cannot be a function name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			io := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }, Now: time.Now}
			code := Run(context.Background(), io, tt.args)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, out.String())
			}
			if tt.wantErr != "" && !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q: %s", tt.wantErr, errOut.String())
			}
			if tt.wantCode != ExitOK && out.Len() != 0 {
				t.Errorf("stdout not empty on failure: %q", out.String())
			}
		})
	}
}

func TestAssumeValueFlags(t *testing.T) {
	flags := assumeValueFlags()
	for _, want := range []string{"--profile", "--region", "-f", "--format", "--duration"} {
		if !slices.Contains(flags, want) {
			t.Errorf("value flags lack %s: %v", want, flags)
		}
	}
	for _, boolFlag := range []string{"--no-cache", "--refresh", "--debug", "-q"} {
		if slices.Contains(flags, boolFlag) {
			t.Errorf("value flags hold the bool flag %s", boolFlag)
		}
	}
}

// TestCheckShellInitAssume: inside shell-init's assume function (the marker
// set to the shell's format), the flags whose output the function must not
// evaluate are refused; everything else passes, and outside the function
// nothing is refused.
func TestCheckShellInitAssume(t *testing.T) {
	tests := []struct {
		name    string
		marker  string
		args    []string
		wantErr string // "" for allowed
	}{
		{"no marker", "", []string{"-f", "json"}, ""},
		{"own format", "env", []string{"-f", "env"}, ""},
		{"own format by alias", "env", []string{"-f", "zsh"}, ""},
		{"own format in another case", "fish", []string{"--format=FISH"}, ""},
		{"default format after the function's -f", "powershell", []string{"-f", "powershell", "--region", "x"}, ""},
		{"json", "env", []string{"-f", "env", "-f", "json"}, "-f json is not that"},
		{"json glued", "env", []string{"-fjson"}, "-f json is not that"},
		{"long form", "fish", []string{"--format=ini"}, "-f ini is not that"},
		{"another shell", "env", []string{"-f", "fish"}, "evaluates -f env output"},
		{"dotenv", "env", []string{"-f", "dotenv"}, "-f dotenv is not that"},
		{"write-profile", "env", []string{"--write-profile", "work"}, "--write-profile writes a file"},
		{"write-profile with =", "fish", []string{"--write-profile=work"}, "--write-profile writes a file"},
		{"bad marker", "bogus", nil, "is not a format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io := &IO{Getenv: func(k string) string {
				if k == shellInitEnv {
					return tt.marker
				}
				return ""
			}}
			cmd, _, err := NewCmdRoot(io).Find([]string{"assume"})
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err = checkShellInitAssume(io, cmd)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if code, _, _ := classify(err); code != ExitUsage {
				t.Errorf("exit code %d, want %d", code, ExitUsage)
			}
		})
	}
}

// TestShellInitAssumeRefusalAndHelp runs the whole command line: a refusal
// exits 2 with nothing on stdout (the function then evaluates nothing), and
// help goes to stderr so that the function has nothing to evaluate.
func TestShellInitAssumeRefusalAndHelp(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"json", []string{"assume", "-f", "env", "deploy", "-f", "json"}, ExitUsage, "rolecall: hint: to print them, run: rolecall assume -f json"},
		{"write-profile", []string{"assume", "-f", "env", "--write-profile", "x", "deploy"}, ExitUsage, "rolecall: error: the shell's assume function sets credentials"},
		{"help", []string{"assume", "-f", "env", "--help"}, ExitOK, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			io := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Now: time.Now, Getenv: func(k string) string {
				if k == shellInitEnv {
					return "env"
				}
				return ""
			}}
			if code := Run(context.Background(), io, tt.args); code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut.String())
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: the function would evaluate %q", out.String())
			}
			if !strings.Contains(errOut.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, errOut.String())
			}
		})
	}
}
