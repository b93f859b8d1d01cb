package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestMain lets the test binary run as the ststest program itself, so the
// tests drive the real program in its own process.
func TestMain(m *testing.M) {
	if os.Getenv("STSTEST_RUN_AS_PROGRAM") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// program returns a command running ststest with args.
func program(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// Not tied to the test's context: startProgram stops it with SIGTERM
	// in a cleanup, after that context has ended.
	cmd := exec.CommandContext(context.Background(), self, args...)
	cmd.Env = append(os.Environ(), "STSTEST_RUN_AS_PROGRAM=1")
	return cmd
}

// startProgram starts ststest, reads its URL from the first line of stdout,
// and stops it with SIGTERM at the end of the test, checking it exits 0.
func startProgram(t *testing.T, args ...string) string {
	t.Helper()
	cmd := program(t, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("read the URL line: %v; stderr: %s", err, stderr.String())
	}
	url := strings.TrimSpace(line)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+$`).MatchString(url) {
		t.Fatalf("first stdout line %q is not the base URL", line)
	}
	t.Cleanup(func() {
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("signal ststest: %v", err)
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("ststest did not exit cleanly on SIGTERM: %v; stderr: %s", err, stderr.String())
		}
	})
	return url
}

// call makes an admin request and returns the status and body.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out strings.Builder
	if _, err := bufio.NewReader(resp.Body).WriteTo(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.String()
}

func TestAdminPaths(t *testing.T) {
	url := startProgram(t)

	var clock struct{ Now time.Time }
	_, body := call(t, http.MethodGet, url+"/_ststest/clock", "")
	if err := json.Unmarshal([]byte(body), &clock); err != nil {
		t.Fatalf("clock %s: %v", body, err)
	}
	before := clock.Now
	status, body := call(t, http.MethodPost, url+"/_ststest/clock?advance=30m", "")
	if err := json.Unmarshal([]byte(body), &clock); status != http.StatusOK || err != nil {
		t.Fatalf("advance: %d %s", status, body)
	}
	if moved := clock.Now.Sub(before); moved < 30*time.Minute || moved > 31*time.Minute {
		t.Errorf("clock moved by %v, want 30m", moved)
	}
	if status, _ := call(t, http.MethodPost, url+"/_ststest/clock?advance=soon", ""); status != http.StatusBadRequest {
		t.Errorf("bad advance: status %d, want 400", status)
	}

	status, body = call(t, http.MethodGet, url+"/_ststest/totp?serial="+ststest.DemoMFASerial, "")
	if status != http.StatusOK || !regexp.MustCompile(`^\d{6}\n$`).MatchString(body) {
		t.Errorf("totp: %d %q, want six digits", status, body)
	}
	if status, _ := call(t, http.MethodGet, url+"/_ststest/totp?serial=arn:aws:iam::123456789012:mfa/bob", ""); status != http.StatusNotFound {
		t.Errorf("totp of an unknown device: status %d, want 404", status)
	}

	if status, body := call(t, http.MethodPost, url+"/_ststest/faults", `[{"action":"Nope","kind":"explode"}]`); status != http.StatusBadRequest {
		t.Errorf("bad faults: %d %s, want 400", status, body)
	}
	if status, _ := call(t, http.MethodPost, url+"/_ststest/faults", `[{"action":"GetCallerIdentity","kind":"throttle","count":1}]`); status != http.StatusNoContent {
		t.Errorf("set faults: status %d", status)
	}
	_, body = call(t, http.MethodGet, url+"/_ststest/faults", "")
	if !strings.Contains(body, `"kind":"throttle"`) {
		t.Errorf("faults now %s", body)
	}
	// An unsigned call is enough to see the fault and the log.
	status, body = call(t, http.MethodPost, url+"/", "Action=GetCallerIdentity&Version=2011-06-15")
	if status != http.StatusBadRequest || !strings.Contains(body, "<Code>Throttling</Code>") {
		t.Errorf("throttled call: %d %s", status, body)
	}
	status, body = call(t, http.MethodPost, url+"/", "Action=GetCallerIdentity&Version=2011-06-15")
	if status != http.StatusForbidden || !strings.Contains(body, "<Code>MissingAuthenticationToken</Code>") {
		t.Errorf("unsigned call: %d %s", status, body)
	}

	var calls []ststest.Call
	_, body = call(t, http.MethodGet, url+"/_ststest/calls", "")
	if err := json.Unmarshal([]byte(body), &calls); err != nil {
		t.Fatalf("calls %s: %v", body, err)
	}
	if len(calls) != 2 || calls[0].Error != "Throttling" || calls[0].Fault != "throttle" || calls[1].Error != "MissingAuthenticationToken" {
		t.Errorf("calls %+v", calls)
	}
	if status, _ := call(t, http.MethodDelete, url+"/_ststest/calls", ""); status != http.StatusNoContent {
		t.Errorf("reset calls: status %d", status)
	}
	if _, body := call(t, http.MethodGet, url+"/_ststest/calls", ""); strings.TrimSpace(body) != "[]" {
		t.Errorf("calls after reset: %s", body)
	}
	if status, _ := call(t, http.MethodGet, url+"/_ststest/nothing", ""); status != http.StatusNotFound {
		t.Errorf("unknown admin path: status %d, want 404", status)
	}
}

func TestConfigFlag(t *testing.T) {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles, ststest.Role{ARN: ststest.DemoRoleARN("extra"), Trust: ststest.Trust{Principals: []string{ststest.DemoUserARN}}})
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	url := startProgram(t, "--config", path)
	if status, _ := call(t, http.MethodGet, url+"/_ststest/calls", ""); status != http.StatusOK {
		t.Errorf("emulator with --config answers %d", status)
	}

	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"roles": [{"arn": "nope"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--config", bad}, {"--config", filepath.Join(t.TempDir(), "missing.json")}, {"--listen", "256.0.0.1:0"}, {"extra"}} {
		out, err := program(t, args...).CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(out), "ststest") {
			t.Errorf("ststest %v: %v, output %q; want a non-zero exit with a message", args, err, out)
		}
	}
}

func TestPrintDemoConfig(t *testing.T) {
	out, err := program(t, "--print-demo-config").Output()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "demo.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ststest.LoadConfigFile(path)
	if err != nil {
		t.Fatalf("load the printed demo configuration: %v", err)
	}
	if !reflect.DeepEqual(got, ststest.DemoConfig()) {
		t.Errorf("printed configuration differs from DemoConfig")
	}
}

// TestProgramServesThePortalAndFaults drives the program's Identity Center
// portal with a token from the admin path, and an idp-communication fault
// set through the control endpoint.
func TestProgramServesThePortalAndFaults(t *testing.T) {
	url := startProgram(t)

	status, body := call(t, http.MethodPost, url+"/_ststest/sso-token?user="+ststest.DemoSSOUser+"&ttl=1h", "")
	var entry ststest.SSOTokenCacheEntry
	if err := json.Unmarshal([]byte(body), &entry); status != http.StatusOK || err != nil || entry.AccessToken == "" ||
		entry.StartURL != ststest.DemoSSOStartURL || entry.Region != ststest.DemoSSORegion {
		t.Fatalf("sso-token: %d %s", status, body)
	}
	if _, err := time.Parse(time.RFC3339, entry.ExpiresAt); err != nil {
		t.Errorf("expiresAt %q: %v", entry.ExpiresAt, err)
	}
	if status, _ := call(t, http.MethodPost, url+"/_ststest/sso-token?user=nobody", ""); status != http.StatusNotFound {
		t.Errorf("sso-token for nobody: %d, want 404", status)
	}

	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet,
		url+"/federation/credentials?account_id="+ststest.DemoAccount+"&role_name=ReadOnlyAccess", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-amz-sso_bearer_token", entry.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var creds struct {
		RoleCredentials struct {
			AccessKeyID string `json:"accessKeyId"`
			Expiration  int64  `json:"expiration"`
		} `json:"roleCredentials"`
	}
	err = json.NewDecoder(resp.Body).Decode(&creds)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil || !strings.HasPrefix(creds.RoleCredentials.AccessKeyID, "ASIA") {
		t.Fatalf("GetRoleCredentials: %d %v %+v", resp.StatusCode, err, creds)
	}

	if status, body := call(t, http.MethodPost, url+"/_ststest/faults", `[{"action":"AssumeRole","kind":"idp-communication"}]`); status != http.StatusBadRequest {
		t.Errorf("idp-communication on AssumeRole: %d %s, want 400", status, body)
	}
	if status, _ := call(t, http.MethodPost, url+"/_ststest/faults", `[{"action":"AssumeRoleWithWebIdentity","kind":"idp-communication","count":1}]`); status != http.StatusNoContent {
		t.Fatalf("set the idp-communication fault: %d", status)
	}
	form := "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + ststest.DemoRoleARN("ci-deploy") +
		"&RoleSessionName=run-1&WebIdentityToken=not.a.jwt"
	status, body = call(t, http.MethodPost, url+"/", form)
	if status != http.StatusBadRequest || !strings.Contains(body, "<Code>IDPCommunicationError</Code>") || !strings.Contains(body, "<Type>Sender</Type>") {
		t.Errorf("faulted call: %d %s", status, body)
	}
	// Count 1: the next call is verified, and the token is refused.
	if status, body = call(t, http.MethodPost, url+"/", form); !strings.Contains(body, "<Code>InvalidIdentityToken</Code>") {
		t.Errorf("call after the fault: %d %s", status, body)
	}
}
