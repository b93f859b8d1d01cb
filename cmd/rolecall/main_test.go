//go:build unix

// The end-to-end suite drives the real binary through sh, bash, zsh, fish,
// the AWS CLIs and Unix signals: it runs on Unix only (release-check.sh
// still compiles the package for Windows).

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/gofrs/flock"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rolecall/rolecall/pkg/cli"
	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestMain lets testscript run this test binary as the real `rolecall`
// program, in its own process, from the scripts' PATH.
func TestMain(m *testing.M) {
	testscript.Main(plainPrograms{m}, map[string]func(){
		"rolecall": func() {
			// The file keyring's scrypt at its real cost takes tens of
			// seconds under -race on a busy machine; keys_file.txtar
			// checks the default with ROLECALL_TEST_SCRYPT=default.
			if os.Getenv("ROLECALL_TEST_SCRYPT") != "default" {
				keyring.SetTestScryptWorkFactor(10)
			}
			installFaultHooks()
			installClockHook()
			installKeysHook()
			os.Exit(cli.Main())
		},
		"ststest":         func() { os.Exit(ststestProgram()) },
		"ststest-browser": func() { os.Exit(ststestBrowser(os.Args[1:])) },
		// aws-sdk-go-v2 as a program of its own, reading its environment
		// as any SDK user's program does (see server_test.go).
		"gosdk": goSDKMain,
		// A Python client run in a zygote (zygote_test.go).
		"zrun": zrunMain,
	})
}

// plainPrograms runs the tests with the programs above (rolecall, the
// emulator, gosdk, zrun) first on PATH as a build without the race
// detector, when this test binary has it. The suite starts about 1,650 of
// these processes: a race-instrumented one costs 43 ms of CPU to start
// against 13 ms, and its work several times more, which was a fifth of
// the suite's CPU. The race detector finds races within one process, and
// each package's own tests run with it in-process; the scripts whose
// rolecall serves many clients at once (server_*) still run the race
// build, which stays on PATH as $RACE_BIN (see TestScripts).
type plainPrograms struct{ m *testing.M }

func (p plainPrograms) Run() int {
	// testscript.Main put its directory of programs first on PATH.
	raceBin, _, _ := strings.Cut(os.Getenv("PATH"), string(filepath.ListSeparator))
	os.Setenv("RACE_BIN", raceBin)
	if !raceEnabled() {
		return p.m.Run() // the programs have no -race already
	}
	dir, err := os.MkdirTemp("", "rolecall-plain")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := putPlainProgramsFirst(dir, raceBin); err != nil {
		fmt.Fprintln(os.Stderr, "build the test programs without -race:", err)
		return 1
	}
	return p.m.Run()
}

// putPlainProgramsFirst builds this package's test binary without -race
// into dir, links it there under each name in raceBin (testscript's
// programs), and puts dir first on PATH.
func putPlainProgramsFirst(dir, raceBin string) error {
	names, err := os.ReadDir(raceBin)
	if err != nil {
		return fmt.Errorf("testscript's program directory: %w", err)
	}
	exe := filepath.Join(dir, "programs.test")
	// -vet=off: the outer go test vetted this package already.
	// -trimpath: as demo.sh builds, so that on a fresh machine both share
	// one compile of every dependency.
	cmd := exec.Command("go", "test", "-c", "-vet=off", "-trimpath", "-o", exe, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go test -c: %w\n%s", err, out)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o700); err != nil {
		return err
	}
	for _, name := range names {
		// A link, not a symlink: a program that runs os.Executable()
		// again must find itself under its own name.
		if err := os.Link(exe, filepath.Join(bin, name.Name())); err != nil {
			return err
		}
	}
	return os.Setenv("PATH", bin+string(filepath.ListSeparator)+os.Getenv("PATH"))
}

// TestScripts runs the end-to-end scripts in testdata/script against the STS
// emulator. Each script gets a hermetic HOME, AWS config, cache directory and
// its own emulator (started with `sts start`).
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.RunT(redactingT{t}, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			for _, kv := range [][2]string{
				{"HOME", home},
				{"USER", "tester"},
				{"AWS_CONFIG_FILE", filepath.Join(home, ".aws", "config")},
				{"AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, ".aws", "credentials")},
				{"ROLECALL_CACHE_DIR", filepath.Join(env.WorkDir, "cache")},
				{"AWS_EC2_METADATA_DISABLED", "true"},
				{"AWS_REGION", ""},
				{"AWS_DEFAULT_REGION", ""},
				{"AWS_PROFILE", ""},
				{"CI", ""},
				{"GORACE", raceOptions()},
				{"RACE_BIN", os.Getenv("RACE_BIN")},
				{"DEMO_KEY_ID", ststest.DemoAccessKeyID},
				{"DEMO_SECRET", ststest.DemoSecretAccessKey},
				{"DEMO_MFA", ststest.DemoMFASerial},
				{"ROLE", "arn:aws:iam::" + ststest.DemoAccount + ":role"},
			} {
				env.Setenv(kv[0], kv[1])
			}
			return os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
		},
		Condition: condition,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sts":           cmdSTS,
			"parallel":      cmdParallel,
			"perm":          cmdPerm,
			"nosecret":      cmdNoSecret,
			"gosdk-whoami":  cmdGoSDKWhoami,
			"waitfile":      cmdWaitFile,
			"loadgithubenv": cmdLoadGitHubEnv,
			"rc":            cmdExitCode,
			"sendsignal":    cmdSendSignal,
			"mint-token":    cmdMintToken,
			"envfromfile":   cmdEnvFromFile,
			"cacheok":       cmdCacheOK,
			"bigfile":       cmdBigFile,
			"lockfile":      cmdLockFile,
			"within":        cmdWithin,
			"node-sdk":      cmdNodeSDK,
			"devenv":        cmdDevEnv,
			"hideprogs":     cmdHideProgs,
			"follow":        cmdFollow,
			"sso":           cmdSSO,
			"eks":           cmdEKS,
			"kubeapi":       cmdKubeAPI,
			"nosecrettree":  cmdNoSecretTree,
			"nosecretin":    cmdNoSecretIn,
			"secretservice": cmdSecretService,
			"plantitem":     cmdPlantItem,
			"iam":           cmdIAM,
			"term":          cmdTerm,
		},
	})
}

// raceOptions is GORACE for the rolecall processes the tests start: under
// -race the race runtime otherwise sleeps a second at every exit (its
// atexit_sleep_ms default), which is most of a script's time.
func raceOptions() string {
	return strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
}

// condition is [root] (the script runs as uid 0, where file permissions
// do not stop reads and writes), [node-sdk] (node with the AWS SDK for
// JavaScript, see node_test.go), [aws-v1] (the AWS CLI v1 first on PATH),
// [aws-v2] (the AWS CLI v2 of Debian's awscli: /usr/bin/aws, its code in
// /usr/bin/python3) and [have:PROGRAM]. Where CI is set, each of the
// programs missing fails the script instead of skipping it.
func condition(cond string) (bool, error) {
	switch cond {
	case "root":
		return os.Getuid() == 0, nil
	case "node-sdk":
		return haveNodeSDK()
	case "aws-v1":
		out, err := exec.Command("aws", "--version").CombinedOutput()
		return required(err == nil && strings.HasPrefix(string(out), "aws-cli/1."),
			"the AWS CLI v1 first on PATH (aws --version: %q, %v)", out, err)
	case "aws-v2":
		err := exec.Command("/usr/bin/python3", "-c",
			"import sys; sys.path.insert(0, '/usr/lib/python3/dist-packages'); import awscli.botocore.utils").Run()
		if err == nil {
			_, err = os.Stat("/usr/bin/aws")
		}
		return required(err == nil, "the AWS CLI v2 (Debian's awscli: /usr/bin/aws and its modules for /usr/bin/python3): %v", err)
	}
	return haveProgram(cond)
}

// required is a condition on something the tests need: when it is not
// met, false outside CI and an error naming what is missing where CI is
// set (.ci/run installs everything).
func required(ok bool, format string, args ...any) (bool, error) {
	if !ok && os.Getenv("CI") != "" {
		return false, fmt.Errorf("required when CI is set (.ci/run installs it): "+format, args...)
	}
	return ok, nil
}

// haveProgram is the [have:PROGRAM] condition. Where CI is set, a missing
// program fails the script instead of skipping it: CI installs them all.
func haveProgram(cond string) (bool, error) {
	prog, ok := strings.CutPrefix(cond, "have:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(prog); err != nil {
		if os.Getenv("CI") != "" {
			return false, fmt.Errorf("%s is required when CI is set (.ci/run installs it): %w", prog, err)
		}
		return false, nil
	}
	return true, nil
}

// redactingT is the test's T with secrets removed from everything logged:
// testscript logs each command's stdout, and credential formats print
// secret keys and session tokens (the emulator's, but a log is a log).
type redactingT struct{ *testing.T }

// secretLike matches a secret access key (40 characters) or session token
// (longer): runs of base64 characters no log line needs; signinTokenLike a
// console sign-in link's token, which is URL-safe base64.
var (
	secretLike      = regexp.MustCompile(`[A-Za-z0-9/+=]{40,}`)
	signinTokenLike = regexp.MustCompile(`SigninToken=[^&\s"]+`)
)

// eksTokenLike matches an EKS token, a bearer credential whose base64url
// alphabet (- and _) escapes secretLike.
var eksTokenLike = regexp.MustCompile(`k8s-aws-v1\.[A-Za-z0-9_-]+`)

// redactLog removes what secretLike, signinTokenLike and eksTokenLike match.
func redactLog(s string) string {
	s = eksTokenLike.ReplaceAllString(s, "k8s-aws-v1.<redacted>")
	return secretLike.ReplaceAllString(signinTokenLike.ReplaceAllString(s, "SigninToken=<redacted>"), "<redacted>")
}

func (t redactingT) Log(args ...any) {
	t.Helper()
	t.T.Log(redactLog(fmt.Sprint(args...)))
}

func (t redactingT) Fatal(args ...any) {
	t.Helper()
	t.T.Fatal(redactLog(fmt.Sprint(args...)))
}

func (t redactingT) Run(name string, f func(testscript.T)) {
	t.T.Run(name, func(t *testing.T) { f(redactingT{t}) })
}

func (t redactingT) Verbose() bool { return testing.Verbose() }

var (
	serversMu sync.Mutex
	servers   = map[*testscript.TestScript]*ststest.Server{}
)

func server(ts *testscript.TestScript) *ststest.Server {
	serversMu.Lock()
	defer serversMu.Unlock()
	s := servers[ts]
	if s == nil {
		ts.Fatalf("no emulator: run 'sts start' first")
	}
	return s
}

// cmdSTS drives the emulator:
//
//	sts start                      start it and point AWS_ENDPOINT_URL_STS at it
//	sts calls ACTION N             assert N calls of ACTION ("all" for any)
//	sts param ACTION KEY VALUE     assert the last ACTION call had KEY=VALUE ("-" for absent)
//	sts error ACTION CODE          assert the last ACTION call failed with CODE
//	sts advance DURATION           move the emulator's clock
//	sts totp VAR                   set VAR to the demo MFA device's current code
//	sts fault ACTION KIND [COUNT[@NTH] [LATENCY]]
//	                               inject a fault (see ststest.Fault); ACTION
//	                               "all" for every action, COUNT 0 for every
//	                               call, @NTH to start at the NTH call,
//	                               LATENCY (default 200ms) for latency
//	sts nofaults                   clear the faults
//	sts skew DURATION              set the emulator's request clock skew: the
//	                               local clock then looks DURATION behind
//	sts reset                      forget the call log
func cmdSTS(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: sts start|calls|param|error|advance|totp|fault|fault+|nofaults|skew|reset")
	}
	if args[0] == "start" {
		s := ststest.NewServer(testConfig())
		serversMu.Lock()
		servers[ts] = s
		serversMu.Unlock()
		ts.Defer(func() {
			s.Close()
			serversMu.Lock()
			delete(servers, ts)
			serversMu.Unlock()
		})
		ts.Setenv("AWS_ENDPOINT_URL_STS", s.URL())
		ts.Setenv("STS_URL", s.URL())
		return
	}
	s := server(ts)
	switch args[0] {
	case "calls":
		want, err := strconv.Atoi(args[2])
		ts.Check(err)
		action := args[1]
		if action == "all" {
			action = ""
		}
		if got := s.CallCount(action); (got == want) == neg {
			ts.Fatalf("emulator got %d %s call(s), want %d", got, args[1], want)
		}
	case "param":
		call := lastCall(ts, s, args[1])
		got, ok := call.Params[args[2]]
		if args[3] == "-" {
			if ok == !neg {
				ts.Fatalf("%s had %s=%q, want it absent", args[1], args[2], got)
			}
			return
		}
		if (got == args[3]) == neg {
			ts.Fatalf("%s had %s=%q, want %q", args[1], args[2], got, args[3])
		}
	case "error":
		if got := lastCall(ts, s, args[1]).Error; (got == args[2]) == neg {
			ts.Fatalf("last %s failed with %q, want %q", args[1], got, args[2])
		}
	case "advance":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		s.Advance(d)
	case "totp":
		ts.Setenv(args[1], s.TOTP(ststest.DemoMFASerial))
	case "fault", "fault+":
		// fault replaces the active faults, fault+ adds one after them.
		f := ststest.Fault{Action: args[1], Kind: args[2]}
		if f.Action == "all" {
			f.Action = ""
		}
		if len(args) > 3 {
			count, nth, ok := strings.Cut(args[3], "@")
			n, err := strconv.Atoi(count)
			ts.Check(err)
			f.Count = n
			if ok {
				f.Nth, err = strconv.Atoi(nth)
				ts.Check(err)
			}
		}
		if f.Kind == "latency" {
			f.Latency = 200 * time.Millisecond
			if len(args) > 4 {
				d, err := time.ParseDuration(args[4])
				ts.Check(err)
				f.Latency = d
			}
		}
		if args[0] == "fault+" {
			s.AddFaults(f)
		} else {
			s.SetFaults(f)
		}
	case "nofaults":
		s.SetFaults()
	case "skew":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		s.SetRequestClockSkew(d)
	case "reset":
		s.ResetCalls()
	default:
		ts.Fatalf("unknown sts command %q", args[0])
	}
}

// testConfig is the demo configuration plus roles that let scripts build
// longer chains: third (trusts chained), chained-from-ci (trusts
// ci-deploy, for web identity chains) and from-sso (trusts the
// ReadOnlyAccess permission set of the demo account).
func testConfig() ststest.Config {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles,
		ststest.Role{ARN: ststest.DemoRoleARN("third"), Trust: ststest.Trust{Principals: []string{ststest.DemoRoleARN("chained")}}},
		ststest.Role{ARN: ststest.DemoRoleARN("chained-from-ci"), Trust: ststest.Trust{Principals: []string{ststest.DemoRoleARN("ci-deploy")}}},
		ststest.Role{ARN: ststest.DemoRoleARN("from-sso"), MaxSessionDuration: 43200, Trust: ststest.Trust{Principals: []string{ststest.SSORoleARN(ststest.DemoAccount, "ReadOnlyAccess")}}},
	)
	return cfg
}

func lastCall(ts *testscript.TestScript, s *ststest.Server, action string) ststest.Call {
	calls := s.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Action == action {
			return calls[i]
		}
	}
	ts.Fatalf("the emulator got no %s call", action)
	return ststest.Call{}
}

// cmdParallel runs N copies of a command at once and asserts that all
// succeed with the same stdout, which becomes the script's stdout:
//
//	parallel N PROGRAM ARGS...
func cmdParallel(ts *testscript.TestScript, neg bool, args []string) {
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	path := lookPath(ts, args[1])
	outs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(path, args[2:]...)
			cmd.Dir = ts.Getenv("WORK")
			cmd.Env = scriptEnv(ts)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			outs[i], errs[i] = cmd.Output()
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%w: %s", errs[i], stderr.String())
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			ts.Fatalf("run %d of %d failed: %v", i+1, n, errs[i])
		}
		if !bytes.Equal(outs[i], outs[0]) {
			ts.Fatalf("run %d printed other credentials than run 1", i+1)
		}
	}
	ts.Check(os.WriteFile(ts.MkAbs("parallel.out"), outs[0], 0o600))
}

func scriptEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "ROLECALL_CACHE_DIR",
		"AWS_EC2_METADATA_DISABLED", "AWS_ENDPOINT_URL_STS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_REGION", "AWS_PROFILE", "TMPDIR", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC", "BROWSER"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	return env
}

// lookPath finds a program on the script's PATH, where testscript put
// rolecall, not the test process's.
func lookPath(ts *testscript.TestScript, name string) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	ts.Fatalf("%s not found on the script's PATH", name)
	return ""
}

// cmdPerm asserts a file's permission bits: perm PATH 0600
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if (fi.Mode().Perm() == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o, want %#o", args[0], fi.Mode().Perm(), want)
	}
}

// cmdNoSecret asserts that a file (e.g. stderr) holds none of the secrets
// the emulator issued or the demo user's secret key: nosecret stderr
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	content := ts.ReadFile(args[0])
	for _, secret := range []string{ststest.DemoSecretAccessKey} {
		if strings.Contains(content, secret) {
			ts.Fatalf("%s holds a secret", args[0])
		}
	}
	if s := server(ts); s != nil {
		for _, c := range s.IssuedSecrets() {
			if strings.Contains(content, c) {
				ts.Fatalf("%s holds an issued secret or session token", args[0])
			}
		}
	}
}

// cmdGoSDKWhoami is aws-sdk-go-v2 as a credential_process consumer: it runs
// the profile's credential_process through the SDK's process provider (in
// the script's environment) and calls GetCallerIdentity with the result.
//
//	gosdk-whoami PROFILE
func cmdGoSDKWhoami(ts *testscript.TestScript, neg bool, args []string) {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedConfigFiles([]string{ts.Getenv("AWS_CONFIG_FILE")}),
		config.WithSharedCredentialsFiles([]string{ts.Getenv("AWS_SHARED_CREDENTIALS_FILE")}),
		config.WithSharedConfigProfile(args[0]),
		config.WithRegion("us-east-1"),
	)
	ts.Check(err)
	shared, err := config.LoadSharedConfigProfile(ctx, args[0], func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{ts.Getenv("AWS_CONFIG_FILE")}
		o.CredentialsFiles = []string{ts.Getenv("AWS_SHARED_CREDENTIALS_FILE")}
	})
	ts.Check(err)
	provider := processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, "sh", "-c", shared.CredentialProcess)
		cmd.Env = scriptEnv(ts)
		return cmd, nil
	}))
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		o.Credentials = provider
		o.BaseEndpoint = aws.String(ts.Getenv("STS_URL"))
	})
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	ts.Check(err)
	_, _ = fmt.Fprintln(ts.Stdout(), aws.ToString(out.Arn))
}

// cmdWaitFile waits until a background command has written a file: the
// handshake before signalling it or reading what it printed. Not just
// created: `echo $PPID > ready` creates the file before it writes the PID,
// and a reader in between saw it empty. It fails as hung after hangGuard.
//
//	waitfile PATH
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(hangGuard)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	ts.Fatalf("hung: %s still empty or missing after %s", args[0], hangGuard)
}

// cmdLoadGitHubEnv sets the variables of a GITHUB_ENV file the way the
// Actions runner does between steps (see parseGitHubFile).
//
//	loadgithubenv FILE
func cmdLoadGitHubEnv(ts *testscript.TestScript, neg bool, args []string) {
	vars, err := parseGitHubFile(ts.ReadFile(args[0]))
	if err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	for name, value := range vars {
		ts.Setenv(name, value)
	}
}

// cmdMintToken writes an OIDC token signed by the emulator's GitHub issuer:
//
//	mint-token FILE SUBJECT AUDIENCE [AGE]
//
// AGE (e.g. -2h) shifts the token's iat/nbf/exp into the past.
func cmdMintToken(ts *testscript.TestScript, neg bool, args []string) {
	s := server(ts)
	issued := s.Now()
	if len(args) > 3 {
		age, err := time.ParseDuration(args[3])
		ts.Check(err)
		issued = issued.Add(age)
	}
	token, err := s.WebIdentityToken(ststest.DemoGitHubIssuer, map[string]any{
		"sub": args[1],
		"aud": args[2],
		"iat": issued.Unix(),
		"nbf": issued.Unix(),
		"exp": issued.Add(time.Hour).Unix(),
	})
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(token), 0o600))
}

// cmdEnvFromFile sets a variable to a file's content: envfromfile VAR FILE
func cmdEnvFromFile(ts *testscript.TestScript, neg bool, args []string) {
	ts.Setenv(args[0], strings.TrimSpace(ts.ReadFile(args[1])))
}

// cmdExitCode runs a program like exec and asserts its exit code; stdout
// and stderr are then checked as after exec:
//
//	rc CODE PROGRAM ARGS...
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			got = 128 + int(ws.Signal()) // as a shell shows it: exec's command may be killed in rolecall's place
		}
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// cmdSendSignal sends a signal to the process whose PID a file holds:
//
//	sendsignal TERM|HUP|INT PIDFILE
func cmdSendSignal(ts *testscript.TestScript, neg bool, args []string) {
	sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP, "INT": syscall.SIGINT}[args[0]]
	if sig == 0 {
		ts.Fatalf("unknown signal %s", args[0])
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[1])))
	ts.Check(err)
	ts.Check(syscall.Kill(pid, sig))
}

// cmdLockFile holds a lock file as another rolecall would (an exclusive
// flock from this test process), until released or the script ends:
//
//	lockfile hold PATH
//	lockfile release PATH
func cmdLockFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: lockfile hold|release PATH")
	}
	path := ts.MkAbs(args[1])
	heldLocksMu.Lock()
	defer heldLocksMu.Unlock()
	switch args[0] {
	case "hold":
		fl := flock.New(path)
		ok, err := fl.TryLock()
		ts.Check(err)
		if !ok {
			ts.Fatalf("%s is already locked", args[1])
		}
		heldLocks[path] = fl
		ts.Defer(func() { _ = fl.Unlock() })
	case "release":
		fl := heldLocks[path]
		if fl == nil {
			ts.Fatalf("%s is not held", args[1])
		}
		delete(heldLocks, path)
		ts.Check(fl.Unlock())
	default:
		ts.Fatalf("usage: lockfile hold|release PATH")
	}
}

var (
	heldLocksMu sync.Mutex
	heldLocks   = map[string]*flock.Flock{} // by absolute path; paths are per script
)

// cmdWithin runs a program from the script's PATH like exec, but fails the
// script if the program has not finished within DURATION (and kills it):
// for what must never hang, such as a FIFO in the cache, so that a
// regression fails in seconds instead of at the test binary's deadline.
// Its stdout and stderr become the script's.
//
//	within DURATION PROGRAM ARGS...
func cmdWithin(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 {
		ts.Fatalf("usage: within DURATION PROGRAM ARGS...")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, lookPath(ts, args[1]), args[2:]...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = append(scriptEnv(ts), "GORACE="+ts.Getenv("GORACE"))
	cmd.Stdout, cmd.Stderr = ts.Stdout(), ts.Stderr()
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		ts.Fatalf("hung: %s still running after %s", strings.Join(args[1:], " "), d)
	}
	if (err != nil) != neg {
		ts.Fatalf("%s: %v", args[1], err)
	}
}
