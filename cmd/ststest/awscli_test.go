package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// awsCLIv2 is Debian's AWS CLI v2, which .ci/run installs. The aws first on
// PATH may be v1 from the machine's Python, so the test names it by path.
const awsCLIv2 = "/usr/bin/aws"

// requireProgram skips the test when a program is missing, unless CI is set:
// there the test must run.
func requireProgram(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing and CI is set: %v", path, err)
		}
		t.Skipf("%s is missing (install Debian's awscli); skipping", path)
	}
}

type cliCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// awsCLI runs the AWS CLI v2 against the emulator with only the given
// credentials: a hermetic HOME and config, no instance metadata.
func awsCLI(t *testing.T, url string, creds cliCredentials, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), awsCLIv2, append([]string{"--endpoint-url", url, "--output", "json"}, args...)...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
	}
	if creds.SessionToken != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// stderr holds the CLI's error message, never the credentials.
		t.Fatalf("aws %s: %v: %s", args[1], err, stderr.String())
	}
	return out
}

func TestAWSCLI(t *testing.T) {
	requireProgram(t, awsCLIv2)
	url := startProgram(t)
	alice := cliCredentials{AccessKeyID: ststest.DemoAccessKeyID, SecretAccessKey: ststest.DemoSecretAccessKey}

	var demo struct {
		Credentials     cliCredentials
		AssumedRoleUser struct {
			Arn           string
			AssumedRoleID string `json:"AssumedRoleId"`
		}
	}
	out := awsCLI(t, url, alice, "sts", "assume-role",
		"--role-arn", ststest.DemoRoleARN("demo"), "--role-session-name", "cli", "--duration-seconds", "7200")
	if err := json.Unmarshal(out, &demo); err != nil {
		t.Fatalf("assume-role output: %v", err)
	}
	if demo.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/demo/cli" ||
		!strings.HasPrefix(demo.Credentials.AccessKeyID, "ASIA") || demo.Credentials.Expiration == "" {
		t.Fatalf("assume-role gave %s with key %.4s…", demo.AssumedRoleUser.Arn, demo.Credentials.AccessKeyID)
	}

	var id struct {
		UserID  string `json:"UserId"`
		Account string
		Arn     string
	}
	out = awsCLI(t, url, demo.Credentials, "sts", "get-caller-identity")
	if err := json.Unmarshal(out, &id); err != nil {
		t.Fatalf("get-caller-identity output: %v", err)
	}
	if id.Arn != demo.AssumedRoleUser.Arn || id.UserID != demo.AssumedRoleUser.AssumedRoleID || id.Account != ststest.DemoAccount {
		t.Errorf("get-caller-identity = %+v, want the demo session", id)
	}

	var chained struct{ AssumedRoleUser struct{ Arn string } }
	out = awsCLI(t, url, demo.Credentials, "sts", "assume-role",
		"--role-arn", ststest.DemoRoleARN("chained"), "--role-session-name", "cli-chained")
	if err := json.Unmarshal(out, &chained); err != nil {
		t.Fatalf("chained assume-role output: %v", err)
	}
	if chained.AssumedRoleUser.Arn != "arn:aws:sts::123456789012:assumed-role/chained/cli-chained" {
		t.Errorf("chained assume-role gave %s", chained.AssumedRoleUser.Arn)
	}

	// MFA and ExternalId through the CLI's own flags, with a code from the
	// admin path scripts use.
	_, code := call(t, http.MethodGet, url+"/_ststest/totp?serial="+ststest.DemoMFASerial, "")
	awsCLI(t, url, alice, "sts", "assume-role", "--role-arn", ststest.DemoRoleARN("needs-mfa"), "--role-session-name", "cli-mfa",
		"--serial-number", ststest.DemoMFASerial, "--token-code", strings.TrimSpace(code))
	awsCLI(t, url, alice, "sts", "assume-role", "--role-arn", ststest.DemoRoleARN("needs-external-id"), "--role-session-name", "cli-ext",
		"--external-id", "rolecall-example")

	var calls []ststest.Call
	_, body := call(t, http.MethodGet, url+"/_ststest/calls", "")
	if err := json.Unmarshal([]byte(body), &calls); err != nil {
		t.Fatal(err)
	}
	want := []struct{ action, caller string }{
		{"AssumeRole", ststest.DemoUserARN},
		{"GetCallerIdentity", demo.AssumedRoleUser.Arn},
		{"AssumeRole", demo.AssumedRoleUser.Arn},
		{"AssumeRole", ststest.DemoUserARN},
		{"AssumeRole", ststest.DemoUserARN},
	}
	if len(calls) != len(want) {
		t.Fatalf("emulator logged %d calls, want %d: %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		if calls[i].Action != w.action || calls[i].Caller != w.caller || calls[i].Error != "" {
			t.Errorf("call %d = %s by %q (error %q), want %s by %s", i+1, calls[i].Action, calls[i].Caller, calls[i].Error, w.action, w.caller)
		}
	}
	if calls[0].Params["DurationSeconds"] != "7200" || calls[3].Params["TokenCode"] != strings.TrimSpace(code) || calls[4].Params["ExternalId"] != "rolecall-example" {
		t.Errorf("logged parameters %v / %v / %v", calls[0].Params, calls[3].Params, calls[4].Params)
	}
}
