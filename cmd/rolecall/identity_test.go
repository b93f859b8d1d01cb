//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// The identity asked for is the identity every consumer gets (issue 20):
// each way rolecall hands out credentials (an output), with the shell or
// ~/.aws already holding other credentials (an ambient state), as each real
// client reads it. Every client must report the role asked for, and the
// emulator must have received that role's AssumeRole with the session
// policy: a client that reports anyone else fails the cell, naming who.

// askedARN is the identity every cell must end at: role demo with the
// session name only the request gives.
const askedARN = "arn:aws:sts::123456789012:assumed-role/demo/asked"

// matrixPolicy is the session policy every request carries, and what STS
// must receive (rolecall sends it compact).
const (
	matrixPolicy     = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`
	matrixPolicySent = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
)

// identityCell is one run: a work directory with HOME, the AWS files, the
// cache and an emulator, and the environment the user's shell has.
type identityCell struct {
	t      *testing.T
	sts    *ststest.Server
	work   string
	home   string
	config string // the AWS config file
	creds  string // the AWS credentials file
	vars   map[string]string
	picked bool // the request names profile picked (see request)
}

// carol is a second user, trusted by role demo: her keys are the ones in
// rolecall's keychain (see request), so the emulator's log tells which
// base signed a cell's AssumeRole.
const (
	carolARN    = "arn:aws:iam::" + ststest.DemoAccount + ":user/carol"
	carolKeyID  = "AKIAIOSFODNN7CAROL01"
	carolSecret = "cArOlXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

func newIdentityCell(t *testing.T) *identityCell {
	t.Helper()
	cfg := ststest.DemoConfig()
	cfg.Users = append(cfg.Users, ststest.User{ARN: carolARN, AccessKeys: []ststest.AccessKey{{AccessKeyID: carolKeyID, SecretAccessKey: carolSecret}}})
	for i := range cfg.Roles {
		if cfg.Roles[i].ARN == ststest.DemoRoleARN("demo") {
			cfg.Roles[i].Trust.Principals = append(cfg.Roles[i].Trust.Principals, carolARN)
		}
	}
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)
	work := t.TempDir()
	c := &identityCell{t: t, sts: s, work: work, home: filepath.Join(work, "home")}
	c.config = filepath.Join(c.home, ".aws", "config")
	c.creds = filepath.Join(c.home, ".aws", "credentials")
	if err := os.MkdirAll(filepath.Join(c.home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	c.vars = map[string]string{
		"PATH":                      os.Getenv("PATH"),
		"HOME":                      c.home,
		"USER":                      "tester",
		"TMPDIR":                    work,
		"ROLECALL_CACHE_DIR":        filepath.Join(work, "cache"),
		"AWS_EC2_METADATA_DISABLED": "true",
		"AWS_REGION":                "us-east-1",
		"AWS_DEFAULT_REGION":        "us-east-1",
		"AWS_ENDPOINT_URL_STS":      s.URL(),
		"AWS_ENDPOINT_URL_SSO":      s.URL(),
		"STS_URL":                   s.URL(),
		"GORACE":                    raceOptions(),
		// Anything a client would send beyond this machine (the AWS CLI
		// v2.9 ignores AWS_ENDPOINT_URL_* for its credential providers) goes
		// to a closed port on loopback instead, and fails at once.
		"HTTPS_PROXY": "http://127.0.0.1:9",
		"HTTP_PROXY":  "http://127.0.0.1:9",
		"NO_PROXY":    "127.0.0.1,localhost",
		"NODE_PATH":   filepath.Join(nodeDepsDir(), "node_modules"),
		// The SDK warns about the Node version on stderr.
		"NODE_NO_WARNINGS": "1",
	}
	if v := os.Getenv("PYTHONPATH"); v != "" {
		c.vars["PYTHONPATH"] = v
	}
	c.write("policy.json", matrixPolicy)
	c.write("clients.py", clientsPy)
	// rolecall's own base: alice's keys, named by --profile in every request.
	c.appendFile(c.creds, "[base]\naws_access_key_id = "+ststest.DemoAccessKeyID+"\naws_secret_access_key = "+ststest.DemoSecretAccessKey+"\n")
	return c
}

func (c *identityCell) write(name, content string) string {
	c.t.Helper()
	path := filepath.Join(c.work, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return path
}

func (c *identityCell) appendFile(path, content string) {
	c.t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := f.WriteString(content); err != nil {
		c.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		c.t.Fatal(err)
	}
}

// request is the same request in every cell: role demo, with a session
// name and policy no ambient identity has. Half the outputs name the role
// by ARN with the base profile's keys (--profile base); the other half
// (picked) name a role profile, as the picker hands one to assume, whose
// source_profile's keys are in rolecall's keychain (the encrypted file
// backend). How the base is resolved does not depend on the output, nor
// how an output is read on its base: so every ambient state meets both
// kinds of request without doubling the cells.
func (c *identityCell) request() string {
	policy := "--session-name asked --policy @" + filepath.Join(c.work, "policy.json")
	if c.picked {
		return policy + " picked"
	}
	return "--profile base " + policy + " " + ststest.DemoRoleARN("demo")
}

// addKeychainProfile stores carol's keys in rolecall's file keychain as
// profile kc (rolecall keys add), and adds profile picked: role demo from
// kc. Done before the ambient state, as a user would have set it up.
func (c *identityCell) addKeychainProfile() {
	c.t.Helper()
	c.picked = true
	c.vars["ROLECALL_KEYRING_BACKEND"] = "file"
	c.vars["ROLECALL_KEYRING_PASSPHRASE_COMMAND"] = "cat " + c.write("passphrase", "correct horse battery staple\n")
	c.write("keys", carolKeyID+"\n"+carolSecret+"\n")
	if _, stderr, err := c.sh("rolecall keys add kc --stdin < keys && rm keys"); err != nil {
		c.t.Fatalf("keys add: %v: %s", err, redactLog(stderr))
	}
	c.appendFile(c.config, "[profile picked]\nrole_arn = "+ststest.DemoRoleARN("demo")+"\nsource_profile = kc\n")
}

// sh runs script in the cell's work directory with its environment.
func (c *identityCell) sh(script string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-ec", script)
	cmd.Dir = c.work
	for k, v := range c.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("hung: still running after 5 minutes: %w", err)
	}
	return out.String(), errOut.String(), err
}

// clientsPy runs the AWS CLI v1 (its own driver, as the aws script does)
// and boto3 in one Python process (a child of the v1 zygote), which saves a
// second interpreter start per cell; each builds its own botocore session
// from the environment and files, as in a process of its own.
const clientsPy = `import contextlib, io, os, sys
profile = sys.argv[1] or None
url = os.environ["STS_URL"]
from awscli.clidriver import create_clidriver
args = ["sts", "get-caller-identity", "--endpoint-url", url, "--output", "text", "--query", "Arn"]
if profile:
    args += ["--profile", profile]
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    rc = create_clidriver().main(args)
lines = (out.getvalue() if rc == 0 else err.getvalue()).strip().splitlines() or ["(nothing)"]
print("aws-cli-v1", lines[0] if rc == 0 else "error: " + lines[-1])
import boto3
try:
    print("boto3", boto3.Session(profile_name=profile).client("sts", endpoint_url=url).get_caller_identity()["Arn"])
except Exception as e:
    print("boto3", "error:", type(e).__name__, str(e).splitlines()[0] if str(e) else "")
`

// clients is a shell function that runs every client and prints one line
// each: its name and the ARN it reports (or its error). $1 is the profile
// the client is told to use, empty for its default chain. The Python
// clients run in zygotes (zygote_test.go): the AWS CLI v2 is Debian's
// /usr/bin/aws script itself, run by the interpreter its #! line names.
const clients = `clients() {
  zrun "$ZYGOTE_V1" clients.py "${1:-}" 2>&1 || true
  printf 'aws-cli-v2 '; zrun "$ZYGOTE_V2" /usr/bin/aws sts get-caller-identity --endpoint-url "$STS_URL" --output text --query Arn ${1:+--profile "$1"} 2>&1 | sed '/^\s*$/d' | tail -n 1 || true
  printf 'aws-sdk-go-v2 '; gosdk whoami ${1:+"$1"} 2>&1 | sed '/^\s*$/d' | tail -n 1 || true
  printf 'js-sdk-v3 '; node "$JS_WHOAMI" chain ${1:+"$1"} 2>&1 | sed '/^\s*$/d' | tail -n 1 || true
}
`

// matrixClients are the clients every cell must hear from.
var matrixClients = []string{"aws-cli-v1", "boto3", "aws-cli-v2", "aws-sdk-go-v2", "js-sdk-v3"}

// ambientState is what the user's shell or ~/.aws already holds.
type ambientState struct {
	name  string
	apply func(c *identityCell)
}

func ambientStates() []ambientState {
	aliceKeys := "aws_access_key_id = " + ststest.DemoAccessKeyID + "\naws_secret_access_key = " + ststest.DemoSecretAccessKey + "\n"
	return []ambientState{
		{"default static keys", func(c *identityCell) {
			c.appendFile(c.creds, "[default]\n"+aliceKeys)
		}},
		{"default credential_process", func(c *identityCell) {
			c.appendFile(c.config, fmt.Sprintf("[default]\ncredential_process = printf '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\"}'\n",
				ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey))
		}},
		{"default role_arn", func(c *identityCell) {
			c.appendFile(c.config, "[default]\nrole_arn = "+ststest.DemoRoleARN("demo")+"\nsource_profile = base\nrole_session_name = ambient\nregion = us-east-1\n")
		}},
		{"default SSO", func(c *identityCell) {
			c.appendFile(c.config, "[default]\nsso_session = corp\nsso_account_id = "+ststest.DemoAccount+"\nsso_role_name = ReadOnlyAccess\n"+
				"[sso-session corp]\nsso_start_url = "+ststest.DemoSSOStartURL+"\nsso_region = us-east-1\n")
			entry, ok := c.sts.SSOTokenCacheEntry(c.sts.IssueSSOToken(ststest.DemoSSOUser, 8*time.Hour))
			if !ok {
				c.t.Fatal("the emulator has no Identity Center")
			}
			data, err := json.Marshal(entry)
			if err != nil {
				c.t.Fatal(err)
			}
			dir := filepath.Join(c.home, ".aws", "sso", "cache")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				c.t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ststest.SSOTokenCacheFile("corp")), data, 0o600); err != nil {
				c.t.Fatal(err)
			}
		}},
		{"AWS_PROFILE with keys", func(c *identityCell) {
			c.appendFile(c.creds, "[other]\n"+aliceKeys)
			c.vars["AWS_PROFILE"] = "other"
		}},
		{"web identity variables", func(c *identityCell) {
			now := c.sts.Now()
			token, err := c.sts.WebIdentityToken(ststest.DemoGitHubIssuer, map[string]any{
				"sub": "repo:example/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
				"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			})
			if err != nil {
				c.t.Fatal(err)
			}
			c.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = c.write("web-identity-token", token)
			c.vars["AWS_ROLE_ARN"] = ststest.DemoRoleARN("ci-deploy")
		}},
		{"outer container endpoint", func(c *identityCell) {
			outer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]string{
					"AccessKeyId": ststest.DemoAccessKeyID, "SecretAccessKey": ststest.DemoSecretAccessKey,
					"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
				})
			}))
			c.t.Cleanup(outer.Close)
			c.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = outer.URL + "/creds"
			c.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "outer-token"
		}},
		{"keys of an earlier assume", func(c *identityCell) {
			out, stderr, err := c.sh("rolecall assume -f json --profile base --session-name earlier " + ststest.DemoRoleARN("demo"))
			if err != nil {
				c.t.Fatalf("the earlier assume: %v: %s", err, stderr)
			}
			var earlier struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string } //nolint:revive // JSON field names
			if err := json.Unmarshal([]byte(out), &earlier); err != nil {
				c.t.Fatal(err)
			}
			c.vars["AWS_ACCESS_KEY_ID"], c.vars["AWS_SECRET_ACCESS_KEY"] = earlier.AccessKeyId, earlier.SecretAccessKey
			c.vars["AWS_SESSION_TOKEN"], c.vars["AWS_CREDENTIAL_EXPIRATION"] = earlier.SessionToken, earlier.Expiration
		}},
	}
}

// identityOutput is a way rolecall hands out the credentials: a script
// that obtains them for the request and runs every client as the user
// would after it.
type identityOutput struct {
	name   string
	picked bool // the request names a keychain-based role profile (see request)
	script func(c *identityCell) string
}

func identityOutputs() []identityOutput {
	return []identityOutput{
		{"eval exports", false, func(c *identityCell) string {
			return `eval "$(rolecall assume ` + c.request() + `)"; clients`
		}},
		{"exec", true, func(c *identityCell) string {
			return `rolecall exec ` + c.request() + ` -- sh -c "$CLIENTS"'clients'`
		}},
		{"exec --server", false, func(c *identityCell) string {
			return `rolecall exec --server ` + c.request() + ` -- sh -c "$CLIENTS"'clients'`
		}},
		{"serve exports", true, func(c *identityCell) string {
			// serve prints the exports once the endpoint is ready.
			return `rolecall serve ` + c.request() + ` > exports 2> serve.log &
serve=$!
until [ -s exports ]; do kill -0 $serve 2>/dev/null || { cat serve.log >&2; exit 1; }; sleep 0.05; done
. ./exports
clients
kill $serve; wait $serve || true`
		}},
		{"credential_process profile", false, func(c *identityCell) string {
			c.appendFile(c.config, "[profile rc]\ncredential_process = rolecall process "+c.request()+"\n")
			return `clients rc`
		}},
		{"--write-profile profile", true, func(c *identityCell) string {
			return `rolecall assume --write-profile rc ` + c.request() + `; clients rc`
		}},
	}
}

var arnLine = regexp.MustCompile(`^(\S+) (.*)$`)

// TestIdentityMatrix is every output × every ambient state × every client.
func TestIdentityMatrix(t *testing.T) {
	t.Parallel()
	for _, prog := range []string{"python3", "/usr/bin/aws", "node"} {
		if _, err := exec.LookPath(prog); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required when CI is set (.ci/run installs it): %v", prog, err)
			}
			t.Skipf("needs %s", prog)
		}
	}
	if ok, err := haveNodeSDK(); !ok {
		if err != nil {
			t.Fatal(err)
		}
		t.Skip("needs the AWS SDK for JavaScript (scripts/node-deps.sh)")
	}
	whoami, err := filepath.Abs(filepath.Join("testdata", "node", "whoami.cjs"))
	if err != nil {
		t.Fatal(err)
	}
	warmV1 := filepath.Join(t.TempDir(), "clients.py")
	if err := os.WriteFile(warmV1, []byte(clientsPy), 0o600); err != nil {
		t.Fatal(err)
	}
	zygoteV1 := startZygote(t, "python3", []string{"awscli.clidriver", "boto3"}, warmV1, "")
	zygoteV2 := startZygote(t, awsV2Interpreter(t), []string{"awscli.clidriver"},
		"/usr/bin/aws", "sts", "get-caller-identity", "--endpoint-url", "http://127.0.0.1:9")
	var cells, refused int
	for _, out := range identityOutputs() {
		for _, amb := range ambientStates() {
			cells++
			t.Run(out.name+"/"+amb.name, func(t *testing.T) {
				t.Parallel()
				c := newIdentityCell(t)
				c.vars["JS_WHOAMI"] = whoami
				c.vars["CLIENTS"] = clients
				c.vars["ZYGOTE_V1"], c.vars["ZYGOTE_V2"] = zygoteV1, zygoteV2
				if out.picked {
					c.addKeychainProfile()
				}
				amb.apply(c)
				c.sts.ResetCalls()
				stdout, stderr, err := c.sh(clients + out.script(c))
				if err != nil {
					t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, redactLog(stderr))
				}
				got := map[string]string{}
				for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
					if m := arnLine.FindStringSubmatch(line); m != nil {
						got[m[1]] = m[2]
					}
				}
				for _, client := range matrixClients {
					if got[client] != askedARN {
						t.Errorf("%s reports %q, want %s", client, redactLog(got[client]), askedARN)
					}
				}
				if t.Failed() {
					t.Logf("stdout:\n%s\nstderr:\n%s", redactLog(stdout), redactLog(stderr))
				}
				var withPolicy int
				base := ststest.DemoUserARN // --profile base
				if c.picked {
					base = carolARN // the keychain's
				}
				for _, call := range c.sts.Calls() {
					if call.Action == "AssumeRole" && call.Params["RoleSessionName"] == "asked" && call.Error == "" {
						if call.Params["Policy"] != matrixPolicySent {
							t.Errorf("AssumeRole for the session asked for carried Policy %q", call.Params["Policy"])
						}
						if call.Caller != base {
							t.Errorf("AssumeRole for the session asked for was signed by %s, want %s", call.Caller, base)
						}
						withPolicy++
					}
				}
				if withPolicy == 0 {
					t.Errorf("the emulator received no AssumeRole for the session asked for; calls: %v", callNames(c.sts.Calls()))
				}
			})
		}
	}
	t.Logf("%d combinations (%d outputs × %d ambient states), each with %d clients; %d refused by design", cells, len(identityOutputs()), len(ambientStates()), len(matrixClients), refused)
}

func callNames(calls []ststest.Call) []string {
	var names []string
	for _, c := range calls {
		names = append(names, c.Action+" "+c.Params["RoleSessionName"])
	}
	sort.Strings(names)
	return names
}
