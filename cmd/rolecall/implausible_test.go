//go:build unix

package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestImplausibleSTSAnswers (issue 23, items 9 and 10): a 200 whose
// credentials no real STS sends (an empty or far-future Expiration, a
// control character in the secret key or the token) is an unusable
// answer: exit 5 and one line naming the endpoint, never exit 1 with the
// SDK's parse dump, and never credentials that would outlive every
// refresh.
func TestImplausibleSTSAnswers(t *testing.T) {
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	creds := func(secret, token, expiration string) string {
		return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>` +
			`<AccessKeyId>ASIAEXAMPLE000000001</AccessKeyId><SecretAccessKey>` + secret + `</SecretAccessKey>` +
			`<SessionToken>` + token + `</SessionToken><Expiration>` + expiration + `</Expiration></Credentials>` +
			`<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>` +
			`</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`
	}
	secret := strings.Repeat("s", 40)
	tests := []struct{ name, body, want string }{
		{"empty expiration", creds(secret, "token", ""), "nothing readable: unable to parse time string"},
		{"expiration in 8999", creds(secret, "token", "8999-01-01T00:00:00Z"), "an expiration 8999-01-01T00:00:00Z, more than 36h away"},
		{"expiration in 2 days", creds(secret, "token", time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339)), "more than 36h"},
		{"LF in the secret key", creds(secret[:20]+"&#10;"+secret[20:], "token", soon), "control character in the secret access key"},
		{"CR in the token", creds(secret, "tok&#13;en", soon), "control character in the session token"},
		{"ESC in the token", creds(secret, "tok&#27;en", soon), "nothing readable: XML syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(fake.Close)
			e := newRCEnv(t, ststest.DemoConfig())
			e.vars["AWS_ENDPOINT_URL_STS"] = fake.URL
			e.vars["AWS_REGION"] = "us-east-1"
			for _, args := range [][]string{
				{"process", "--timeout", "10s", ststest.DemoRoleARN("demo")},
				{"exec", "--timeout", "10s", ststest.DemoRoleARN("demo"), "--", "sh", "-c", "echo the command ran"},
			} {
				r := e.run(args...)
				if r.code != 5 || r.stdout != "" {
					t.Fatalf("%s: exit %d, %d bytes on stdout, want 5 and nothing:\n%s", args[0], r.code, len(r.stdout), r.stderr)
				}
				lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
				if len(lines) != 2 || !strings.HasPrefix(lines[0], "rolecall: error: ") || !strings.HasPrefix(lines[1], "rolecall: hint: ") {
					t.Errorf("%s: want one error line and one hint, got:\n%s", args[0], r.stderr)
				}
				if !strings.Contains(lines[0], fake.URL) || !strings.Contains(lines[0], tt.want) {
					t.Errorf("%s: the error does not name %s and %q:\n%s", args[0], fake.URL, tt.want, r.stderr)
				}
				if strings.Contains(r.stderr, secret) {
					t.Errorf("%s: the secret key reached stderr", args[0])
				}
			}
		})
	}
}

// TestAnswerWithDateDaysOff (issue 23, item 10): an answer whose Date is
// more than a day from this machine's clock is refused (exit 5, a hint
// about the clock) rather than timing the credentials by it; a few hours
// are still corrected (TestCredentialsTimedBySTSClock).
func TestAnswerWithDateDaysOff(t *testing.T) {
	e := newRCEnv(t, ststest.DemoConfig())
	e.vars["AWS_REGION"] = "us-east-1"
	e.sts.SetRequestClockSkew(48 * time.Hour)
	r := e.run("process", "--timeout", "20s", ststest.DemoRoleARN("demo"))
	if r.code != 5 || r.stdout != "" {
		t.Fatalf("exit %d, %d bytes on stdout; want 5 and nothing:\n%s", r.code, len(r.stdout), r.stderr)
	}
	if !strings.Contains(r.stderr, "more than a day from this machine's clock") || !strings.Contains(r.stderr, "hint: set this machine's clock") {
		t.Errorf("the error does not say the clock is days off:\n%s", r.stderr)
	}
}

// TestImplausiblePortalAnswer (issue 23, item 10): IAM Identity Center's
// GetRoleCredentials answering an expiration in the year 9999 is refused
// like STS's (exit 5): credentials that seem to live forever would reach
// exec's child and never be refreshed by serve.
func TestImplausiblePortalAnswer(t *testing.T) {
	e := newRCEnv(t, ststest.DemoConfig())
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"roleCredentials":{"accessKeyId":"ASIAEXAMPLE000000001","secretAccessKey":"` + strings.Repeat("s", 40) +
			`","sessionToken":"token","expiration":253402300799000}}`))
	}))
	t.Cleanup(portal.Close)
	entry, ok := e.sts.SSOTokenCacheEntry(e.sts.IssueSSOToken(ststest.DemoSSOUser, time.Hour))
	if !ok {
		t.Fatal("the emulator has no Identity Center")
	}
	data, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	e.writeFile(filepath.Join(e.home, ".aws", "sso", "cache", ststest.SSOTokenCacheFile("corp")), string(data), 0o600)
	e.writeFile(e.vars["AWS_CONFIG_FILE"], "[sso-session corp]\nsso_start_url = "+ststest.DemoSSOStartURL+"\nsso_region = us-east-1\n"+
		"[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = ReadOnlyAccess\nregion = us-east-1\n", 0o600)
	delete(e.vars, "AWS_ACCESS_KEY_ID")
	delete(e.vars, "AWS_SECRET_ACCESS_KEY")
	e.vars["AWS_ENDPOINT_URL_SSO"] = portal.URL
	r := e.run("exec", "--timeout", "20s", "dev", "--", "sh", "-c", "echo the command ran")
	if r.code != 5 || r.stdout != "" {
		t.Fatalf("exit %d, %d bytes on stdout; want 5 and nothing:\n%s", r.code, len(r.stdout), r.stderr)
	}
	if !strings.Contains(r.stderr, "an expiration 9999-12-31T23:59:59Z, more than 36h away") {
		t.Errorf("the error does not name the expiration:\n%s", r.stderr)
	}
}
