//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	_ "unsafe" // go:linkname, for rolecall's clock in the real binary

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// The credential endpoint (rolecall serve, rolecall exec --server) with
// real clients: the scripts testdata/script/server_*.txtar, and here what
// needs a terminal, a clock or the JavaScript SDK.

// cliHookNow is pkg/cli's testHookNow: rolecall's clock.
//
//go:linkname cliHookNow github.com/rolecall/rolecall/pkg/cli.testHookNow
var cliHookNow func() time.Time

// clockEnv, when set in rolecall's environment to the emulator's URL, makes
// rolecall's clock the emulator's credential clock, so that moving that
// clock (sts advance, POST /_ststest/clock) moves credentials past their
// expiry for rolecall as for STS.
const clockEnv = "ROLECALL_TEST_CLOCK"

// installClockHook runs in the re-executed binary before cli.Main.
func installClockHook() {
	base := os.Getenv(clockEnv)
	if base == "" {
		return
	}
	client := &http.Client{Timeout: 5 * time.Second}
	// The wall clock once the emulator is gone (a script ends before the
	// endpoint it started).
	cliHookNow = func() time.Time {
		resp, err := client.Get(base + "/_ststest/clock")
		if err != nil {
			return time.Now()
		}
		defer func() { _ = resp.Body.Close() }()
		var v struct{ Now time.Time }
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
			return time.Now()
		}
		return v.Now
	}
}

// goSDKMain is the program `gosdk` in the scripts: aws-sdk-go-v2 with its
// default credential chain, as any program using the SDK has it, calling
// GetCallerIdentity (AWS_ENDPOINT_URL_STS points it at the emulator) and
// printing the ARN. It fails with the SDK's error on stderr.
// AWS_MAX_ATTEMPTS bounds the endpoint provider's attempts as well (the SDK
// gives it a retryer of its own, three attempts with backoff), so that a
// script checking an error need not wait for the retries.
//
// With PROFILE, the program names that profile itself
// (config.WithSharedConfigProfile), as a tool given --profile does.
//
//	gosdk whoami [PROFILE]
func goSDKMain() {
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "gosdk:", err)
		os.Exit(1)
	}
	if len(os.Args) < 2 || len(os.Args) > 3 || os.Args[1] != "whoami" {
		fail(fmt.Errorf("usage: gosdk whoami [PROFILE]"))
	}
	opts := []func(*config.LoadOptions) error{config.WithDefaultRegion("us-east-1")}
	if len(os.Args) == 3 {
		opts = append(opts, config.WithSharedConfigProfile(os.Args[2]))
	}
	if n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS")); err == nil {
		opts = append(opts, config.WithEndpointCredentialOptions(func(o *endpointcreds.Options) {
			o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), n)
		}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		fail(err)
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fail(err)
	}
	fmt.Println(aws.ToString(out.Arn))
}

// onTerminalTyping is onTerminal with a keyboard: what is written to the
// returned file is typed on the terminal (Ctrl-C is "\x03").
func (e *rcEnv) onTerminalTyping(shell string) (*exec.Cmd, *syncBuffer, *os.File) {
	e.t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		if os.Getenv("CI") != "" {
			e.t.Fatal("script (bsdutils) is required when CI is set")
		}
		e.t.Skip("needs script(1) for a terminal")
	}
	cmd := exec.Command("script", "-qfec", shell, "/dev/null")
	cmd.Dir, cmd.Env = e.work, e.environ(clockEnv+"="+e.sts.URL())
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	keyboard, typist, err := os.Pipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdin = keyboard
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	_ = keyboard.Close()
	e.t.Cleanup(func() {
		_ = typist.Close()
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out, typist
}

// TestExecServerCtrlCReachesCommandOnce: Ctrl-C on the terminal reaches
// exec --server's command once (the terminal signals the whole foreground
// group; rolecall does not pass it on a second time), the endpoint keeps
// serving while the command cleans up, and rolecall exits with the
// command's code rather than 130.
func TestExecServerCtrlCReachesCommandOnce(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	pidFile := filepath.Join(e.work, "pid")
	script := `n=0; trap 'n=$((n+1))' INT; echo $$ > "$0"; i=0
while [ $n -eq 0 ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done
sleep 0.3; echo "ints=$n"; gosdk whoami; exit 3`
	cmd, out, keys := e.onTerminalTyping("exec rolecall exec --server " + ststest.DemoRoleARN("demo") +
		" -- sh -c '" + strings.ReplaceAll(script, "'", `'\''`) + "' " + pidFile)
	readPID(t, pidFile)
	if _, err := keys.WriteString("\x03"); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 3 {
		t.Fatalf("exit %d, want the command's 3:\n%s", code, out)
	}
	if !strings.Contains(out.String(), "ints=1") {
		t.Errorf("the command counted other than one SIGINT:\n%s", out)
	}
	if !strings.Contains(out.String(), "assumed-role/demo/rolecall-tester") {
		t.Errorf("the command could not get credentials after Ctrl-C:\n%s", out)
	}
	if strings.Contains(out.String(), "interrupted") {
		t.Errorf("rolecall reported an interrupt over the command's code:\n%s", out)
	}
}

// TestServeMFAPromptsOnce: serve asks for the MFA code on its terminal
// once, at start; an hour later the role is refreshed from the cached MFA
// session, without a prompt.
func TestServeMFAPromptsOnce(t *testing.T) {
	t.Parallel()
	e := mfaProfileEnv(t)
	cmd, out, keys := e.onTerminalTyping("exec rolecall serve admin")
	waitFor(t, "the prompt", func() bool { return strings.Contains(out.String(), "MFA code for") })
	if _, err := keys.WriteString(e.sts.TOTP(ststest.DemoMFASerial) + "\n"); err != nil {
		t.Fatal(err)
	}
	exports := regexp.MustCompile(`export AWS_CONTAINER_CREDENTIALS_FULL_URI='([^']+)'\s+export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='([^']+)'`)
	var m []string
	waitFor(t, "the exports", func() bool { m = exports.FindStringSubmatch(out.String()); return m != nil })
	uri, tokenFile := m[1], m[2]
	client := endpointcreds.New(uri, func(o *endpointcreds.Options) {
		o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
			b, err := os.ReadFile(tokenFile)
			return string(b), err
		})
	})
	first, err := client.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Fifty minutes on, the role's credentials are within the refresh
	// window; the MFA session (12 hours) is not.
	e.sts.Advance(50 * time.Minute)
	second, err := client.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if second.AccessKeyID == first.AccessKeyID {
		t.Error("the same credentials were served past the refresh window")
	}
	if n := strings.Count(out.String(), "MFA code for"); n != 1 {
		t.Errorf("%d prompts, want 1:\n%s", n, out)
	}
	if g, a := e.sts.CallCount("GetSessionToken"), e.sts.CallCount("AssumeRole"); g != 1 || a != 2 {
		t.Errorf("%d GetSessionToken and %d AssumeRole calls, want 1 and 2", g, a)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Errorf("serve exited %d on SIGTERM:\n%s", code, out)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("the token file is still there: %v", err)
	}
}

// nodeDeps is where scripts/node-deps.sh installs the JavaScript SDK:
// ROLECALL_NODE_DEPS, else ${XDG_CACHE_HOME:-$HOME/.cache}/rolecall-dev/node.
func nodeDeps() string {
	if dir := os.Getenv("ROLECALL_NODE_DEPS"); dir != "" {
		return dir
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	return filepath.Join(cache, "rolecall-dev", "node")
}

// needJSSDK skips the test without node and the npm packages
// @aws-sdk/client-sts and @aws-sdk/credential-providers, and fails it
// where CI is set: CI installs them.
func needJSSDK(t *testing.T) (modules string) {
	t.Helper()
	modules = filepath.Join(nodeDeps(), "node_modules")
	_, errNode := exec.LookPath("node")
	_, errSTS := os.Stat(filepath.Join(modules, "@aws-sdk", "client-sts", "package.json"))
	_, errProviders := os.Stat(filepath.Join(modules, "@aws-sdk", "credential-providers", "package.json"))
	for _, err := range []error{errNode, errSTS, errProviders} {
		if err == nil {
			continue
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("the AWS SDK for JavaScript is required when CI is set (scripts/node-deps.sh installs it): %v", err)
		}
		t.Skipf("needs node and the AWS SDK for JavaScript (scripts/node-deps.sh): %v", err)
	}
	return modules
}

// jsClient is the JavaScript SDK v3 calling GetCallerIdentity: with its
// default chain (which tries fromHttp, then fromContainerMetadata, for the
// container variables), or with fromHttp alone, which shows an error
// answer's Code and Message.
const jsClient = `
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { fromHttp } = require("@aws-sdk/credential-providers");
const opts = { region: "us-east-1", endpoint: process.env.STS_URL };
if (process.argv[2] === "fromHttp") opts.credentials = fromHttp({});
new STSClient(opts).send(new GetCallerIdentityCommand({}))
  .then((out) => console.log(out.Arn))
  .catch((err) => { console.error("js:", err.name, err.message, err.Code || "", err.Message || ""); process.exit(1); });
`

// TestServerJSSDK: the JavaScript SDK v3 reads exec --server's endpoint
// (the token in the environment, and in a file) and gets a clear error
// from a wrong token.
func TestServerJSSDK(t *testing.T) {
	t.Parallel()
	modules := needJSSDK(t)
	e := newRCEnv(t, ststest.DemoConfig())
	script := filepath.Join(e.work, "whoami.cjs")
	if err := os.WriteFile(script, []byte(jsClient), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"NODE_PATH=" + modules, "NODE_NO_WARNINGS=1", "STS_URL=" + e.sts.URL()}
	role := ststest.DemoRoleARN("demo")
	for _, tt := range []struct{ name, via, provider string }{
		{"default chain, token in env", "env", "chain"},
		{"fromHttp, token in env", "env", "fromHttp"},
		{"fromHttp, token file", "file", "fromHttp"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.runEnv(env, "exec", "--server", "--token-via", tt.via, role, "--", "node", script, tt.provider)
			if r.code != 0 || strings.TrimSpace(r.stdout) != "arn:aws:sts::123456789012:assumed-role/demo/rolecall-tester" {
				t.Fatalf("exit %d: %s\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
	for _, tt := range []struct {
		name string
		args []string
		vars int
	}{
		{"serve, token file", []string{"--token-via", "file"}, 2},
		{"serve, default exports (the file and the token)", nil, 3},
	} {
		t.Run(tt.name, func(t *testing.T) { serveJS(t, e, env, script, append(tt.args, role), tt.vars) })
	}
	if n := e.sts.CallCount("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls for five clients, want 1 (the cache)", n)
	}
	r := e.runEnv(env, "exec", "--server", role, "--", "sh", "-c",
		`AWS_CONTAINER_AUTHORIZATION_TOKEN=wrong exec node "$0" fromHttp`, script)
	if r.code == 0 || !strings.Contains(r.stderr, "InvalidAuthorization wrong authorization token") {
		t.Errorf("a wrong token: exit %d:\n%s", r.code, r.stderr)
	}
}

// serveJS runs serve with args, and the JavaScript SDK's default chain on
// its exports (n variables).
func serveJS(t *testing.T, e *rcEnv, env []string, script string, args []string, n int) {
	exports := &syncBuffer{}
	serve, stderr := e.start(nil, exports, append([]string{"serve"}, args...)...)
	var vars []string
	waitFor(t, "the exports", func() bool {
		vars = regexp.MustCompile(`(?m)^export (AWS_CONTAINER_\w+)='([^']+)'$`).FindAllString(exports.String(), -1)
		return len(vars) == n
	})
	cmd := exec.Command("node", script, "chain")
	cmd.Dir = e.work
	cmd.Env = append(env, "PATH="+os.Getenv("PATH"), "HOME="+e.home)
	for _, v := range vars {
		cmd.Env = append(cmd.Env, strings.ReplaceAll(strings.TrimPrefix(v, "export "), "'", ""))
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "assumed-role/demo/rolecall-tester") {
		t.Errorf("node: %v\n%s", err, out)
	}
	_ = serve.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, serve); code != 0 {
		t.Errorf("serve exited %d:\n%s", code, stderr)
	}
}

// TestServeStopsOnSignalNotParentDeath: serve outlives the process that
// started it (a script that runs it in the background and exits), and
// stops on SIGTERM, removing its token file. --debug makes the moment it
// sees its parent gone observable: the check that it still serves comes
// after that, not after a guess at how long the watcher takes.
func TestServeStopsOnSignalNotParentDeath(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	exports := filepath.Join(e.work, "exports")
	pidFile, errFile := filepath.Join(e.work, "pid"), filepath.Join(e.work, "serve.stderr")
	// The shell starts serve in the background and exits once serve is
	// serving: serve is then watching it (had the shell gone first, serve
	// would have started as an orphan, with no parent to watch).
	ctx, cancel := context.WithTimeout(t.Context(), hangGuard)
	defer cancel()
	sh := exec.CommandContext(ctx, "sh", "-c", `rolecall serve --debug "$0" > "$1" 2> "$3" & echo $! > "$2"
		until grep -q AUTHORIZATION_TOKEN_FILE "$1"; do sleep 0.01; done`,
		ststest.DemoRoleARN("demo"), exports, pidFile, errFile)
	sh.Dir, sh.Env = e.work, e.environ()
	if out, err := sh.CombinedOutput(); ctx.Err() != nil {
		t.Fatalf("hung: serve printed no exports within %s", hangGuard)
	} else if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	pid := readPID(t, pidFile)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	stderr := func() string { b, _ := os.ReadFile(errFile); return string(b) }
	const keptServing = "the parent process exited: serving on until a signal"
	waitFor(t, "serve sees its parent exit", func() bool {
		return strings.Contains(stderr(), keptServing) || strings.Contains(stderr(), "stopped") || !alive(pid)
	})
	if !alive(pid) || !strings.Contains(stderr(), keptServing) {
		t.Fatalf("serve stopped when the shell that started it exited:\n%s", stderr())
	}
	b, _ := os.ReadFile(exports)
	tokenFile := regexp.MustCompile(`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE='([^']+)'`).FindSubmatch(b)[1]
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "serve to stop", func() bool { return !alive(pid) })
	if !strings.Contains(stderr(), "stopped by SIGTERM") {
		t.Errorf("serve did not say it stopped by SIGTERM:\n%s", stderr())
	}
	if _, err := os.Stat(string(tokenFile)); !os.IsNotExist(err) {
		t.Errorf("the token file outlived serve: %v", err)
	}
}
