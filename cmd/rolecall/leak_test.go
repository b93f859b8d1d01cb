//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// The leak audit: every command and format, with --debug, against an
// emulator whose user has a canary secret key, on success and on the error
// paths that quote requests back (refusals, bad signatures, expired and
// invalid tokens, faults). Afterwards every secret (the canaries, and every
// secret key and session token the emulator issued) may be only where it
// must be: on the stdout of a credential format, in a cache entry, in the
// written credentials file, in GITHUB_ENV and GITHUB_OUTPUT, each 0600.
// Never on stderr, in an error, in the emulator's call log, in a panic, or
// in any other file. Under strace, every file rolecall creates is created
// without group or other permission bits: there is no window in which
// another user could open it.

// Canaries: secrets the audit plants and then looks for.
const (
	canarySecretKey    = "CANARYsecretKEYcanary/SECRET+canary00001" // the user's long-term secret
	canaryWrongSecret  = "CANARYwrongSECRETcanary/WRONG+canary0002" // a secret STS refuses
	canarySessionToken = "CANARYsessionTOKENcanary/INVALID+canary0003xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	canaryRequestToken = "canary-github-request-token-CANARY0004"
	canaryWrongRequest = "canary-wrong-request-token-CANARY0005"
)

// jwtLike matches a JSON Web Token: a web identity token in the wrong
// place, whoever minted it.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.`)

// leakConfig is the scripts' configuration with canaries for the user's
// secret key and the GitHub request token.
func leakConfig() ststest.Config {
	cfg := testConfig()
	cfg.Users[0].AccessKeys[0].SecretAccessKey = canarySecretKey
	gh := *cfg.GitHub
	gh.RequestToken = canaryRequestToken
	cfg.GitHub = &gh
	return cfg
}

// leakRun is one command of the audit.
type leakRun struct {
	name string
	args []string
	env  map[string]string // changes to the environment for this run
	want int               // the exit code
	// credentials: stdout is a credential format and may hold secrets.
	credentials bool
	// before runs first, e.g. to set a fault.
	before func(e *rcEnv)
	after  func(e *rcEnv)
}

// leakResult is what a run printed.
type leakResult struct {
	leakRun
	runResult
}

func TestLeakAudit(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, leakConfig())
	e.vars["AWS_SECRET_ACCESS_KEY"] = canarySecretKey
	traces := t.TempDir()
	strace := straceCommand(t)

	role := ststest.DemoRoleARN("demo")
	githubEnv, githubOutput := filepath.Join(e.work, "github_env"), filepath.Join(e.work, "github_output")
	tokenFile := filepath.Join(e.work, "token.jwt")
	expiredTokenFile := filepath.Join(e.work, "expired.jwt")
	for path, age := range map[string]time.Duration{tokenFile: 0, expiredTokenFile: -3 * time.Hour} {
		now := e.sts.Now().Add(age)
		token, err := e.sts.WebIdentityToken(ststest.DemoGitHubIssuer, map[string]any{
			"sub": "repo:example/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.writeFile(e.vars["AWS_CONFIG_FILE"], `[profile chain-base]
role_arn = arn:aws:iam::123456789012:role/demo
credential_source = Environment

[profile via-process]
credential_process = rolecall process arn:aws:iam::123456789012:role/demo
`, 0o600)
	github := map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   e.sts.URL() + "/_ststest/github-token?api-version=2.0",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": canaryRequestToken,
		"GITHUB_ENV":                     githubEnv,
		"GITHUB_OUTPUT":                  githubOutput,
		"GITHUB_RUN_ID":                  "4242",
	}
	var issued processCreds // a role session, used below as base credentials
	// The console: the federation endpoint is the emulator's, and BROWSER a
	// script that records its arguments (a page's path, never the link).
	// (Outside the work directory: the script's own file is no file
	// rolecall creates.)
	browserDir := t.TempDir()
	browser, browserArgs := filepath.Join(browserDir, "browser.sh"), filepath.Join(browserDir, "browser.args")
	e.writeFile(browser, "#!/bin/sh\nprintf '%s\\n' \"$@\" >> '"+browserArgs+"'\n", 0o700)
	signin := map[string]string{"AWS_ENDPOINT_URL_SIGNIN": e.sts.URL(), "BROWSER": browser}
	noBrowser := map[string]string{"AWS_ENDPOINT_URL_SIGNIN": e.sts.URL(), "BROWSER": ""}
	consoleDest := e.sts.URL() + "/console/home"

	runs := []leakRun{
		{name: "process", args: []string{"process", role}, credentials: true},
		{name: "process hit", args: []string{"process", role}, credentials: true},
		{name: "process refresh", args: []string{"process", "--refresh", role}, credentials: true},
		{name: "process no cache", args: []string{"process", "--no-cache", role}, credentials: true},
		{name: "assume env", args: []string{"assume", "-f", "env", role}, credentials: true},
		{name: "assume fish", args: []string{"assume", "-f", "fish", role}, credentials: true},
		{name: "assume powershell", args: []string{"assume", "-f", "powershell", role}, credentials: true},
		{name: "assume cmd", args: []string{"assume", "-f", "cmd", role}, credentials: true},
		{name: "assume dotenv", args: []string{"assume", "-f", "dotenv", role}, credentials: true},
		{name: "assume json", args: []string{"assume", "-f", "json", role}, credentials: true},
		{name: "assume ini", args: []string{"assume", "-f", "ini", "--profile-name", "leak", role}, credentials: true},
		{name: "write profile", args: []string{"assume", "--write-profile", "leak", role}},
		{name: "exec", args: []string{"exec", role, "--", "sh", "-c", `test -n "$AWS_SESSION_TOKEN" && test -n "$AWS_SECRET_ACCESS_KEY"`}},
		{name: "exec failing child", args: []string{"exec", role, "--", "sh", "-c", "exit 3"}, want: 3},
		{name: "chain", args: []string{"assume", "--profile", "chain-base", ststest.DemoRoleARN("chained")}, credentials: true},
		{name: "chain of three", args: []string{"assume", "--profile", "chain-base", ststest.DemoRoleARN("chained"), ststest.DemoRoleARN("third")}, credentials: true},
		{name: "credential_process base", args: []string{"assume", "--profile", "via-process", ststest.DemoRoleARN("chained")}, credentials: true},
		{name: "mfa", args: []string{"assume", "--mfa-serial", ststest.DemoMFASerial, "--mfa-code", "TOTP", ststest.DemoRoleARN("needs-mfa")}, credentials: true},
		{name: "web identity file", args: []string{"assume", "--web-identity-token-file", tokenFile, ststest.DemoRoleARN("ci-deploy")}, credentials: true},
		{name: "github", args: []string{"assume", "--oidc", "github", "-f", "github", "--github-output", ststest.DemoRoleARN("ci-deploy")}, env: github, credentials: true},
		{name: "whoami", args: []string{"whoami"}},
		{name: "whoami json", args: []string{"whoami", "-f", "json", "--profile", "via-process"}},
		{name: "console print", args: []string{"console", "--print", "--destination", consoleDest, role}, env: signin, credentials: true},
		{name: "console federated user", args: []string{"console", "--print", "--destination", consoleDest}, env: signin, credentials: true},
		{name: "console with a console duration", args: []string{"console", "--print", "--destination", consoleDest, "--console-duration", "1h", role}, env: signin, credentials: true},
		{name: "console browser", args: []string{"console", "--destination", consoleDest, role}, env: signin},
		{name: "console no browser", args: []string{"console", "--destination", consoleDest, role}, env: noBrowser, credentials: true},
		{name: "cache list", args: []string{"cache", "list"}},
		{name: "configure", args: []string{"configure", "leak-profile", "--role-arn", role}},
		{name: "shell-init", args: []string{"shell-init", "bash"}},
		{name: "version", args: []string{"version"}},

		// Error paths: refusals quote the request; none may quote a secret.
		{name: "access denied", args: []string{"assume", "--no-cache", ststest.DemoRoleARN("needs-external-id")}, want: 4},
		{name: "wrong mfa code", args: []string{"assume", "--no-cache", "--mfa-serial", ststest.DemoMFASerial, "--mfa-code", "000000", ststest.DemoRoleARN("needs-mfa")}, want: 4},
		{name: "wrong secret", args: []string{"assume", "--no-cache", role}, want: 4,
			env: map[string]string{"AWS_SECRET_ACCESS_KEY": canaryWrongSecret}},
		{name: "invalid session token", args: []string{"assume", "--no-cache", role}, want: 4,
			env: map[string]string{"AWS_SESSION_TOKEN": canarySessionToken}},
		{name: "expired session token", args: []string{"assume", "--no-cache", ststest.DemoRoleARN("chained")}, want: 4,
			before: func(e *rcEnv) {
				e.vars["AWS_ACCESS_KEY_ID"], e.vars["AWS_SECRET_ACCESS_KEY"], e.vars["AWS_SESSION_TOKEN"] = issued.AccessKeyID, issued.SecretAccessKey, issued.SessionToken
				e.sts.Advance(2 * time.Hour)
			},
			after: func(e *rcEnv) {
				e.sts.Advance(-2 * time.Hour)
				e.vars["AWS_ACCESS_KEY_ID"], e.vars["AWS_SECRET_ACCESS_KEY"] = ststest.DemoAccessKeyID, canarySecretKey
				delete(e.vars, "AWS_SESSION_TOKEN")
			}},
		{name: "STS failing", args: []string{"process", "--refresh", role}, want: 5,
			before: func(e *rcEnv) { e.sts.SetFaults(ststest.Fault{Kind: ststest.FaultInternal}) },
			after:  func(e *rcEnv) { e.sts.SetFaults() }},
		{name: "answer cut short", args: []string{"process", "--refresh", role}, want: 5,
			before: func(e *rcEnv) { e.sts.SetFaults(ststest.Fault{Kind: ststest.FaultTruncate}) },
			after:  func(e *rcEnv) { e.sts.SetFaults() }},
		{name: "expired web identity token", args: []string{"assume", "--no-cache", "--web-identity-token-file", expiredTokenFile, ststest.DemoRoleARN("ci-deploy")}, want: 4},
		{name: "github wrong request token", args: []string{"assume", "--oidc", "github", "-f", "github", ststest.DemoRoleARN("ci-deploy")}, want: 4,
			env: mergeEnv(github, map[string]string{"ACTIONS_ID_TOKEN_REQUEST_TOKEN": canaryWrongRequest, "GITHUB_ENV": filepath.Join(e.work, "github_env_refused")})},
		{name: "console refused duration", args: []string{"console", "--print", "--console-duration", "1h", ststest.DemoRoleARN("demo"), ststest.DemoRoleARN("chained")}, env: signin, want: 2},
		{name: "console expired session", args: []string{"console", "--print", "--destination", consoleDest, role}, env: signin, want: 4,
			before: func(e *rcEnv) { e.sts.Advance(2 * time.Hour) },
			after:  func(e *rcEnv) { e.sts.Advance(-2 * time.Hour) }},
		{name: "console endpoint unreachable", args: []string{"console", "--print", "--federation-url", "http://127.0.0.1:1", role}, env: signin, want: 5},
		{name: "cache clear", args: []string{"cache", "clear", role}},
		{name: "cache clear all", args: []string{"cache", "clear", "--all"}},
	}

	var results []leakResult
	for i, run := range runs {
		if run.before != nil {
			run.before(e)
		}
		args := append([]string{"--debug"}, run.args...)
		for j, a := range args {
			if a == "TOTP" {
				args[j] = e.sts.TOTP(ststest.DemoMFASerial)
			}
		}
		r := e.runTraced(strace, filepath.Join(traces, strconv.Itoa(i)), run.env, args...)
		if run.after != nil {
			run.after(e)
		}
		if r.code != run.want {
			t.Fatalf("%s: exit %d, want %d\n%s", run.name, r.code, run.want, clip(redact(r.stderr)))
		}
		if run.name == "process" {
			issued = parseProcess(t, r.stdout)
		}
		results = append(results, leakResult{run, r})
	}

	secrets := append([]string{canarySecretKey, canaryWrongSecret, canarySessionToken, canaryRequestToken, canaryWrongRequest},
		e.sts.IssuedSecrets()...)
	if len(secrets) < 5+2*10 {
		t.Fatalf("the emulator issued %d secrets; the audit expected many more", len(secrets)-5)
	}
	found := func(text string) string {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				return "a secret"
			}
		}
		if jwtLike.MatchString(text) {
			return "a web identity token"
		}
		return ""
	}

	debugLines := 0
	for _, r := range results {
		if what := found(r.stderr); what != "" {
			t.Errorf("%s: stderr holds %s", r.name, what)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
			t.Errorf("%s: stderr holds a panic:\n%s", r.name, clip(redact(r.stderr)))
		}
		if !r.credentials {
			if what := found(r.stdout); what != "" {
				t.Errorf("%s: stdout holds %s", r.name, what)
			}
		} else if r.code == 0 && found(r.stdout) == "" {
			t.Errorf("%s: a credential format printed no secret: the audit is not looking at the right values", r.name)
		}
		debugLines += strings.Count(r.stderr, "rolecall: debug: ")
	}
	if debugLines < len(results) {
		t.Errorf("only %d debug lines in %d runs: --debug is not tracing", debugLines, len(results))
	}

	// The emulator's call log, in memory and as served.
	calls, err := json.Marshal(e.sts.Calls())
	if err != nil {
		t.Fatal(err)
	}
	served := httpGet(t, e.sts.URL()+"/_ststest/calls")
	for name, log := range map[string]string{"Calls()": string(calls), "GET /_ststest/calls": served} {
		if what := found(log); what != "" {
			t.Errorf("the emulator's call log (%s) holds %s", name, what)
		}
	}
	redacted := 0
	for _, c := range e.sts.Calls() {
		if c.Params["WebIdentityToken"] == "<redacted>" {
			redacted++
		}
	}
	if redacted == 0 {
		t.Error("the call log shows no redacted web identity token: the audit did not exercise web identity")
	}

	// Files: only the allowed ones hold secrets, and those are 0600.
	allowed := map[string]bool{
		e.vars["AWS_SHARED_CREDENTIALS_FILE"]: true,
		githubEnv:                             true,
		githubOutput:                          true,
		tokenFile:                             true, // the test's input
		expiredTokenFile:                      true,
	}
	holding, pages := 0, 0
	err = filepath.WalkDir(e.work, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		what := found(string(data))
		if what == "" {
			return nil
		}
		entry := filepath.Dir(path) == e.cache && strings.HasSuffix(path, ".json")
		// The page `rolecall console` hands the browser holds the sign-in link.
		page := strings.HasPrefix(path, filepath.Join(e.tmp, "rolecall-console-")) && filepath.Base(path) == "signin.html"
		if page {
			pages++
		}
		if !entry && !page && !allowed[path] {
			t.Errorf("%s holds %s", strings.TrimPrefix(path, e.work+"/"), what)
			return nil
		}
		holding++
		if fi, err := d.Info(); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s holds secrets with mode %v, want 0600", strings.TrimPrefix(path, e.work+"/"), fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pages != 1 {
		t.Errorf("%d sign-in pages hold the link, want the one of the console browser run", pages)
	}
	args, err := os.ReadFile(browserArgs)
	if err != nil || found(string(args)) != "" || strings.Contains(string(args), "SigninToken") {
		t.Errorf("the browser's command line: %v, holds a secret or the link: %v", err, found(string(args)) != "")
	}
	federationCalls := 0
	for _, c := range e.sts.Calls() {
		if c.Service == ststest.ServiceSignin {
			federationCalls++
			if v, ok := c.Params["Session"]; ok && v != "<redacted>" {
				t.Error("the call log shows a Session unredacted")
			}
		}
	}
	if federationCalls < 5 {
		t.Errorf("%d federation calls: the audit did not exercise the console", federationCalls)
	}
	if holding < 4 {
		t.Errorf("only %d files hold secrets: the audit did not write the cache, credentials and GitHub files", holding)
	}
	if strace != nil {
		checkCreateModes(t, traces, e.work)
	}
	t.Logf("%d runs, %d secrets looked for, %d debug lines, %d files holding secrets, strace: %t", len(results), len(secrets), debugLines, holding, strace != nil)
}

// mergeEnv returns a's entries overridden by b's.
func mergeEnv(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// redact hides secret-looking runs in text a failure prints.
func redact(s string) string { return redactLog(s) }

func httpGet(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// straceCommand is strace tracing the file system calls that create files
// or change their mode, or nil where strace cannot run (then only the final
// modes are checked; CI has strace and must use it).
func straceCommand(t *testing.T) []string {
	t.Helper()
	path, err := exec.LookPath("strace")
	if err == nil {
		err = exec.CommandContext(context.Background(), path, "-qq", "-e", "trace=none", "true").Run()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("strace cannot run, and CI must check how files are created: %v", err)
		}
		t.Logf("no strace (%v): checking final file modes only", err)
		return nil
	}
	return []string{path, "-f", "-qq", "-y", "-e", "trace=openat,open,creat,chmod,fchmod,fchmodat,rename,renameat,renameat2"}
}

// runTraced runs rolecall with umask 000, so that a file created with a
// loose mode keeps it, under strace when there is one (its log goes to
// trace).
func (e *rcEnv) runTraced(strace []string, trace string, env map[string]string, args ...string) runResult {
	e.t.Helper()
	saved := map[string]*string{}
	for k, v := range env {
		if old, ok := e.vars[k]; ok {
			saved[k] = &old
		} else {
			saved[k] = nil
		}
		e.vars[k] = v
	}
	defer func() {
		for k, old := range saved {
			if old == nil {
				delete(e.vars, k)
			} else {
				e.vars[k] = *old
			}
		}
	}()
	argv := append([]string{"sh", "-c", `umask 000; exec "$0" "$@"`, e.bin}, args...)
	if strace != nil {
		argv = append(append(slices.Clone(strace), "-o", trace, "--"), argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = e.work
	cmd.Env = e.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := runResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		e.t.Fatalf("rolecall %s hung: still running after %s\n%s", strings.Join(args, " "), hangGuard, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		e.t.Fatalf("run rolecall: %v", err)
	}
	return r
}

// straceCall matches the calls straceCommand traces, as strace -y prints
// them: openat(AT_FDCWD</dir>, "/path", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0600) = 9</path>
// or, when another thread's call interleaves, cut after the arguments:
// openat(…, 0600 <unfinished ...>.
var (
	straceOpen  = regexp.MustCompile(`^\d+ +(?:openat\([^,]+, |open\()"([^"]+)", ([A-Z_|]+)(?:, (0[0-7]*))?(?:\) = (-?\d+)| <unfinished)`)
	straceChmod = regexp.MustCompile(`^\d+ +(?:chmod\(|fchmodat\([^,]+, )"([^"]+)", (0[0-7]*)`)
	straceFchm  = regexp.MustCompile(`^\d+ +fchmod\(\d+<([^>]+)>, (0[0-7]*)\)`)
)

// checkCreateModes reads the strace logs: every file created under root
// must be created with no group or other permission bits, and no mode
// change may add any.
func checkCreateModes(t *testing.T, traces, root string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(traces, "*"))
	if err != nil {
		t.Fatal(err)
	}
	created := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var path, mode string
			switch {
			case straceOpen.MatchString(line):
				m := straceOpen.FindStringSubmatch(line)
				if !strings.Contains(m[2], "O_CREAT") || strings.HasPrefix(m[4], "-") {
					continue
				}
				path, mode = m[1], m[3]
				created++
			case straceChmod.MatchString(line):
				m := straceChmod.FindStringSubmatch(line)
				path, mode = m[1], m[2]
			case straceFchm.MatchString(line):
				m := straceFchm.FindStringSubmatch(line)
				path, mode = m[1], m[2]
			default:
				continue
			}
			if !strings.HasPrefix(path, root+"/") {
				continue
			}
			perm, err := strconv.ParseUint(mode, 8, 32)
			if err != nil || perm&0o077 != 0 {
				t.Errorf("%s: %s", strings.TrimPrefix(path, root+"/"), strings.TrimPrefix(line, line[:strings.IndexByte(line, ' ')+1]))
			}
		}
	}
	if created == 0 {
		var sample []byte
		if len(files) > 0 {
			sample, _ = os.ReadFile(files[0])
		}
		t.Errorf("strace saw no file created: the trace is not working; %d trace files, the first begins:\n%s", len(files), clip(string(sample)))
	}
	t.Logf("strace: %d file creations checked", created)
}
