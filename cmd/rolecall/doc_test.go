//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestDocCommands runs every shell command of README.md and docs/*.md, so
// that a page cannot drift from what rolecall does: each fenced block
// marked sh (or bash, zsh, fish) runs in that shell, and each console block's
// `$ ` commands in bash, against the STS emulator, with a hermetic HOME whose
// AWS files hold what the pages assume (docFiles). The test fails if a
// command fails, or if a block's output lacks what the page states it
// prints (docresult_test.go: identities, outputs named in comments, a
// console block's lines).
//
// A page's blocks run in order, each in a new shell that has shell-init's
// functions loaded, as a reader's would; the AWS files and rolecall's cache
// carry over from block to block. aws and terraform are stand-ins that
// check their credentials with rolecall whoami (the commands docs show are
// about S3 or plans, which the emulator does not serve).
//
// A block that needs real AWS, a network download or minutes of work is
// skipped by a comment on the line before it, with the reason:
//
//	<!-- notest: downloads from the network -->
//
// Keep those few: the test lists them.
func TestDocCommands(t *testing.T) {
	t.Parallel()
	pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{filepath.Join("..", "..", "README.md")}, pages...)
	for _, page := range pages {
		blocks, err := docBlocks(page)
		if err != nil {
			t.Fatal(err)
		}
		if len(blocks) == 0 {
			continue
		}
		name := strings.TrimPrefix(filepath.ToSlash(page), "../../")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fx := newDocFixture(t)
			for _, b := range blocks {
				if b.notest != "" {
					t.Logf("%s:%d: not run: %s", name, b.line, b.notest)
					continue
				}
				fx.run(t, name, b)
			}
		})
	}
}

// docBlock is one fenced block of shell commands.
type docBlock struct {
	line   int    // of the opening fence, 1-based
	lang   string // sh, bash, zsh or fish
	text   string
	shows  []string // a console block's output lines
	notest string   // the reason it is not run, or ""
}

var notestComment = regexp.MustCompile(`^<!-- notest(?::\s*(.*?))?\s*-->$`)

// docBlocks returns the shell blocks of a Markdown file. A notest comment
// without a reason is an error: say why.
func docBlocks(path string) ([]docBlock, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks   []docBlock
		cur      *docBlock
		body     strings.Builder
		prev     string // the last non-blank line outside a block
		lineNum  int
		inFence  bool
		shellish = map[string]bool{"sh": true, "bash": true, "zsh": true, "fish": true, "console": true}
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lineNum++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !inFence {
			if lang, ok := strings.CutPrefix(trimmed, "```"); ok {
				inFence = true
				lang = strings.Fields(lang + " x")[0]
				if shellish[lang] {
					cur = &docBlock{line: lineNum, lang: lang}
					body.Reset()
					if m := notestComment.FindStringSubmatch(prev); m != nil {
						if m[1] == "" {
							return nil, fmt.Errorf("%s:%d: a notest comment must say why (<!-- notest: REASON -->)", path, lineNum-1)
						}
						cur.notest = m[1]
					}
				}
				continue
			}
			if trimmed != "" {
				prev = trimmed
			}
			continue
		}
		if trimmed == "```" {
			inFence = false
			if cur != nil {
				cur.text = body.String()
				if cur.lang == "console" {
					cur.text, cur.shows = consoleBlock(cur.text)
				}
				blocks = append(blocks, *cur)
				cur = nil
			}
			prev = ""
			continue
		}
		if cur != nil {
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	if inFence {
		return nil, fmt.Errorf("%s: a fenced block is not closed", path)
	}
	return blocks, sc.Err()
}

// docFixture is the machine a page's commands run on.
type docFixture struct {
	work string // the current directory of every block
	env  []string
}

// docFiles are the AWS files the pages assume: long-term keys of the
// emulator's alice as the default credentials and as the profile base, role
// profiles deploy and other, admin, which requires MFA (the emulator's
// device of alice), and the emulator's IAM Identity Center as the
// sso-session corp with an SSO profile dev (docs/sso.md).
var docFiles = map[string]string{
	".aws/credentials": `[default]
aws_access_key_id = ` + ststest.DemoAccessKeyID + `
aws_secret_access_key = ` + ststest.DemoSecretAccessKey + `

[base]
aws_access_key_id = ` + ststest.DemoAccessKeyID + `
aws_secret_access_key = ` + ststest.DemoSecretAccessKey + `
`,
	".aws/config": `[profile deploy]
role_arn = arn:aws:iam::123456789012:role/deploy
source_profile = base
region = eu-west-1

[profile other]
role_arn = arn:aws:iam::123456789012:role/other
source_profile = base

[profile admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = base
mfa_serial = ` + ststest.DemoMFASerial + `

[sso-session corp]
sso_start_url = ` + ststest.DemoSSOStartURL + `
sso_region = ` + ststest.DemoSSORegion + `
sso_registration_scopes = sso:account:access

[profile dev]
sso_session = corp
sso_account_id = ` + ststest.DemoAccount + `
sso_role_name = ReadOnlyAccess
`,
}

// docMFACode stands in for the programs docs/mfa.md gets codes from (ykman,
// op): it prints the emulator's current code for the demo device.
const docMFACode = `#!/bin/sh
curl -fsS "$AWS_ENDPOINT_URL_STS/_ststest/totp?serial=$ROLECALL_MFA_SERIAL"
`

// docStandIn replaces a program the pages run for its effect on AWS: it
// checks that the credentials it got (its --profile, or the environment)
// work, and says what it stood in for.
const docStandIn = `#!/bin/sh
profile=
for a in "$@"; do
  case $prev in --profile) profile=$a ;; esac
  case $a in --profile=*) profile=${a#*=} ;; esac
  prev=$a
done
rolecall whoami ${profile:+--profile "$profile"} > "${TMPDIR:-/tmp}/standin.out" || exit 1
echo "$(basename "$0") (doc test stand-in) ran as $(sed -n 's/^ARN: *//p' "${TMPDIR:-/tmp}/standin.out")"
`

func newDocFixture(t *testing.T) *docFixture {
	t.Helper()
	root := t.TempDir()
	home := filepath.Join(root, "home")
	work := filepath.Join(root, "work")
	bin := filepath.Join(root, "bin")
	tmp := filepath.Join(root, "tmp")
	for _, d := range []string{filepath.Join(home, ".aws"), work, bin, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range docFiles {
		writeDocFile(t, filepath.Join(home, name), content, 0o600)
	}
	for _, prog := range []string{"aws", "terraform"} {
		writeDocFile(t, filepath.Join(bin, prog), docStandIn, 0o755)
	}
	for _, prog := range []string{"ykman", "op"} {
		writeDocFile(t, filepath.Join(bin, prog), docMFACode, 0o755)
	}
	writeDocFile(t, filepath.Join(work, "deploy.sh"), docStandIn, 0o755)

	cfg := testConfig()
	for _, role := range []string{"deploy", "other", "admin"} {
		cfg.Roles = append(cfg.Roles, ststest.Role{
			ARN: ststest.DemoRoleARN(role), MaxSessionDuration: 12 * 3600,
			Trust: ststest.Trust{Principals: []string{ststest.DemoUserARN, ststest.SSORoleARN(ststest.DemoAccount, "ReadOnlyAccess")}, RequireMFA: role == "admin"},
		})
	}
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)

	fx := &docFixture{
		work: work,
		env: []string{
			// testscript.Main put rolecall (and ststest) on the test's PATH.
			"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOME=" + home,
			"USER=alice",
			"TMPDIR=" + tmp,
			"LANG=C.UTF-8",
			"AWS_EC2_METADATA_DISABLED=true",
			"AWS_ENDPOINT_URL_STS=" + s.URL(),
			"URL=" + s.URL(), // what docs/ststest.md's console blocks call the emulator
			// rolecall console: the emulator's federation endpoint. IAM
			// Identity Center, and a person at a browser who signs in to it;
			// the console's sign-in page that browser leaves alone.
			"AWS_ENDPOINT_URL_SIGNIN=" + s.URL(),
			"AWS_ENDPOINT_URL_SSO=" + s.URL(),
			"AWS_ENDPOINT_URL_SSO_OIDC=" + s.URL(),
			"AWS_ENDPOINT_URL_IAM=" + s.URL(), // rolecall keys rotate (docs/keys.md)
			"BROWSER=ststest-browser",
			"GORACE=" + raceOptions(),
			"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
			"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		},
	}
	// A machine in use: deploy's credentials are cached, as the pages
	// about the cache assume.
	fx.run(t, "(fixture)", docBlock{lang: "sh", text: "rolecall process deploy > /dev/null\n"})
	return fx
}

func writeDocFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// run runs one block in its shell, with shell-init's functions loaded, and
// fails the test if a command in it fails.
func (fx *docFixture) run(t *testing.T, page string, b docBlock) {
	t.Helper()
	var program string
	var args []string
	switch b.lang {
	case "sh", "bash", "console":
		program, args = "bash", []string{"--norc", "--noprofile", "-c",
			"set -e -o pipefail\neval \"$(rolecall shell-init bash)\"\n" + b.text}
	case "zsh":
		program, args = "zsh", []string{"-f", "-c",
			"set -e; setopt pipe_fail\neval \"$(rolecall shell-init zsh)\"\n" + b.text}
	case "fish":
		// fish has no set -e: each line is followed by a check of its status.
		var script strings.Builder
		script.WriteString("rolecall shell-init fish | source\n")
		for _, line := range strings.Split(strings.TrimRight(b.text, "\n"), "\n") {
			script.WriteString(line + "\nor exit 1\n")
		}
		program, args = "fish", []string{"--no-config", "-c", script.String()}
	}
	if ok, err := haveProgram("have:" + program); err != nil {
		t.Fatalf("%s:%d: %v", page, b.line, err)
	} else if !ok {
		t.Logf("%s:%d: not run: no %s (with CI set this fails)", page, b.line, program)
		return
	}

	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, args...)
	cmd.Dir, cmd.Env = fx.work, fx.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group, so that anything a block left running in the
	// background is stopped with it; WaitDelay, so that such a process
	// holding the output pipe cannot keep Wait waiting.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s:%d: hung: the %s block still running after %s; its output:\n%s", page, b.line, b.lang, hangGuard, redactLog(out.String()))
	}
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
			t.Fatalf("%s:%d: %v", page, b.line, err)
		}
		t.Errorf("%s:%d: the %s block failed (%v); its output:\n%s\nthe block:\n%s",
			page, b.line, b.lang, err, redactLog(out.String()), b.text)
		return
	}
	if err := checkStated(out.String(), statedResults(b)); err != nil {
		t.Errorf("%s:%d: %v; the %s block printed:\n%s\nthe block:\n%s",
			page, b.line, err, b.lang, redactLog(out.String()), b.text)
	}
}

// ststestProgram stands in for cmd/ststest in docs/ststest.md's recipe, from
// the test binary (TestMain): --listen ADDR, the URL on the first line of
// stdout, the demo configuration served until SIGINT or SIGTERM.
func ststestProgram() int {
	flags := flag.NewFlagSet("ststest", flag.ContinueOnError)
	listen := flags.String("listen", "127.0.0.1:0", "address to listen on")
	if err := flags.Parse(os.Args[1:]); err != nil {
		return 2
	}
	s, err := ststest.Start(ststest.DemoConfig(), *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ststest: error: %v\n", err)
		return 1
	}
	defer s.Close()
	fmt.Println(s.URL())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return 0
}

// TestDocBlocks checks the extraction TestDocCommands relies on.
func TestDocBlocks(t *testing.T) {
	t.Parallel()
	page := "# Page\n\n```sh\necho one\n```\n\n<!-- notest: needs real AWS -->\n```sh\naws s3 ls\n```\n\n" +
		"```ini\n[profile x]\n```\n\n1. a list item:\n\n   ```fish\n   echo two\n   ```\n\n```zsh\necho three\n```\n"
	path := filepath.Join(t.TempDir(), "page.md")
	writeDocFile(t, path, page, 0o600)
	got, err := docBlocks(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []docBlock{
		{line: 3, lang: "sh", text: "echo one\n"},
		{line: 8, lang: "sh", text: "aws s3 ls\n", notest: "needs real AWS"},
		{line: 18, lang: "fish", text: "   echo two\n"},
		{line: 22, lang: "zsh", text: "echo three\n"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d blocks, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("block %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	writeDocFile(t, path, "<!-- notest -->\n```sh\nx\n```\n", 0o600)
	if _, err := docBlocks(path); err == nil || !strings.Contains(err.Error(), "must say why") {
		t.Errorf("a notest comment without a reason: err = %v", err)
	}
	writeDocFile(t, path, "```sh\nx\n", 0o600)
	if _, err := docBlocks(path); err == nil {
		t.Errorf("an unclosed block: no error")
	}
}
