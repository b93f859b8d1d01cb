package assume

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/stshttp"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// traceLog collects what Trace and Warn receive.
type traceLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *traceLog) trace(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *traceLog) warn(msg string) { l.trace("warning: %s", msg) }

func (l *traceLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (w *world) traced() (Env, *traceLog) {
	env := w.with(nil)
	log := &traceLog{}
	env.Trace, env.Warn = log.trace, log.warn
	return env, log
}

// TestObtainCachesEveryHop: a cold chain of two makes two calls, a warm one
// none, and --refresh only the last.
func TestObtainCachesEveryHop(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "[profile demo]\nrole_arn = "+demo+"\nsource_profile = alice\n", demoCredentials)
	ctx := context.Background()
	env, _ := w.traced()
	req := w.request("demo", chained)
	for i, want := range []int{2, 2} {
		if _, err := Obtain(ctx, req, env); err != nil {
			t.Fatal(err)
		}
		if got := w.sts.CallCount("AssumeRole"); got != want {
			t.Fatalf("run %d: %d AssumeRole calls, want %d", i+1, got, want)
		}
	}
	req.Refresh = true
	if _, err := Obtain(ctx, req, env); err != nil {
		t.Fatal(err)
	}
	if got := w.sts.CallCount("AssumeRole"); got != 3 {
		t.Fatalf("--refresh: %d AssumeRole calls, want 3 (the last hop only)", got)
	}
}

// TestObtainMFASessionServesEveryRole: long-term keys behind MFA get one
// GetSessionToken (one code) that then serves every role, cached.
func TestObtainMFASessionServesEveryRole(t *testing.T) {
	config := "[profile mfa]\nrole_arn = " + ststest.DemoRoleARN("needs-mfa") + "\nsource_profile = alice\nmfa_serial = " + ststest.DemoMFASerial + "\n" +
		"[profile mfa-demo]\nrole_arn = " + demo + "\nsource_profile = alice\nmfa_serial = " + ststest.DemoMFASerial + "\n"
	w := newWorld(t, ststest.DemoConfig(), config, demoCredentials)
	env, _ := w.traced()
	asked := 0
	env.MFACode = func(context.Context, string) (string, error) {
		asked++
		return w.sts.TOTP(ststest.DemoMFASerial), nil
	}
	for _, profile := range []string{"mfa", "mfa-demo", "mfa"} {
		if _, err := Obtain(context.Background(), w.request(profile), env); err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
	}
	if asked != 1 || w.sts.CallCount("GetSessionToken") != 1 || w.sts.CallCount("AssumeRole") != 2 {
		t.Fatalf("asked %d codes, %d GetSessionToken, %d AssumeRole; want 1, 1, 2", asked, w.sts.CallCount("GetSessionToken"), w.sts.CallCount("AssumeRole"))
	}
}

// TestObtainClampsChainedHops: a chained hop asking for more than STS's
// hour gets an hour, with a warning, instead of a refusal.
func TestObtainClampsChainedHops(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	env, log := w.traced()
	req := w.request(demo, chained)
	req.Profile, req.Duration = "alice", "2h"
	if _, err := Obtain(context.Background(), req, env); err != nil {
		t.Fatal(err)
	}
	last := w.sts.Calls()[len(w.sts.Calls())-1]
	if last.Params["RoleArn"] != chained || last.Params["DurationSeconds"] != "3600" {
		t.Fatalf("last call %v, want chained with DurationSeconds 3600", last.Params)
	}
	if !strings.Contains(log.String(), "role chaining") {
		t.Errorf("no warning about role chaining in:\n%s", log)
	}
}

// TestObtainTracesNoSecret: --debug sees the plan and every step, never a
// secret key or session token.
func TestObtainTracesNoSecret(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	env, log := w.traced()
	req := w.request(demo, chained)
	req.Profile = "alice"
	res, err := Obtain(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	trace := log.String()
	for _, secret := range []string{res.Credentials.SecretAccessKey, res.Credentials.SessionToken, ststest.DemoSecretAccessKey} {
		if secret == "" || strings.Contains(trace, secret) {
			t.Fatalf("the trace holds a secret (or the secret is empty):\n%s", trace)
		}
	}
	for _, want := range []string{"plan: static (profile alice) -> assume-role " + demo, "[chained]", "sts AssumeRole took"} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace lacks %q:\n%s", want, trace)
		}
	}
}

// TestWhoAmIReadsFlagsOnce: the policy from stdin, tags and duration reach
// the AssumeRole whoami makes (stdin was once read twice, the second time
// empty, and whoami ignored --tag and --duration).
func TestWhoAmIReadsFlagsOnce(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "[profile demo]\nrole_arn = "+demo+"\nsource_profile = alice\n", demoCredentials)
	env := w.with(nil)
	env.Stdin = strings.NewReader(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}`)
	req := w.request()
	req.Profile, req.Policy, req.Tags, req.Duration = "demo", "-", []string{"team=a"}, "2h"
	id, err := WhoAmI(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	call := w.sts.Calls()[0]
	if call.Action != "AssumeRole" || !strings.Contains(call.Params["Policy"], `"s3:*"`) || call.Params["Tags.member.1.Key"] != "team" || call.Params["DurationSeconds"] != "7200" {
		t.Fatalf("AssumeRole params %v: want the policy, the tag and 7200 seconds", call.Params)
	}
	if !strings.Contains(id.ARN, "assumed-role/demo/rolecall-tester") {
		t.Errorf("identity %s", id.ARN)
	}
}

// TestRecursionMarkReachesOnlyCredentialProcess: the role being resolved is
// passed to a credential_process child, and a rolecall that finds its own
// role there stops at once.
func TestRecursionMarkReachesOnlyCredentialProcess(t *testing.T) {
	seen := filepath.Join(t.TempDir(), "seen")
	process := fmt.Sprintf(`printf '%%s' "$%s" > %s; printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s"}'`, RecursionEnv, seen, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey)
	w := newWorld(t, ststest.DemoConfig(), "[profile proc]\ncredential_process = "+process+"\n", "")
	req := w.request(demo)
	req.Profile = "proc"
	if _, err := Obtain(context.Background(), req, w.with(map[string]string{RecursionEnv: "outer"})); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(seen)
	if err != nil || string(got) != "outer\n"+demo {
		t.Fatalf("credential_process saw %s=%q (%v), want the outer role then this one", RecursionEnv, got, err)
	}
	req.Refresh = true
	_, err = Obtain(context.Background(), req, w.with(map[string]string{RecursionEnv: "x\n" + demo}))
	var re *RecursionError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a RecursionError", err)
	}
}

// TestCABundleFromEnvironmentAndProfile: an STS behind a certificate the
// system does not trust (a TLS-inspecting proxy) works with AWS_CA_BUNDLE or
// the profile's ca_bundle, and fails at once, unretried, without.
func TestCABundleFromEnvironmentAndProfile(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	tlsServer := httptest.NewUnstartedServer(w.sts.Handler())
	tlsServer.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsServer.StartTLS()
	t.Cleanup(tlsServer.Close)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsServer.Certificate().Raw})
	if err := os.WriteFile(bundle, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	w.env["AWS_ENDPOINT_URL_STS"] = tlsServer.URL
	req := w.request(demo)
	req.Profile, req.NoCache = "alice", true

	_, err := Obtain(context.Background(), req, w.with(nil))
	if !stshttp.IsCertificateError(err) {
		t.Fatalf("without a bundle: %v, want a certificate error", err)
	}
	if _, err := Obtain(context.Background(), req, w.with(map[string]string{"AWS_CA_BUNDLE": bundle})); err != nil {
		t.Fatalf("AWS_CA_BUNDLE: %v", err)
	}
	w.write(filepath.Join(w.home, ".aws", "config"), "[profile alice]\nca_bundle = "+bundle+"\n")
	if _, err := Obtain(context.Background(), req, w.with(nil)); err != nil {
		t.Fatalf("ca_bundle: %v", err)
	}
	if n := w.sts.CallCount("AssumeRole"); n != 2 {
		t.Errorf("%d AssumeRole calls reached STS, want 2", n)
	}
	start := time.Now()
	_, err = Obtain(context.Background(), req, w.with(map[string]string{"AWS_CA_BUNDLE": bundle + ".missing"}))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), bundle+".missing") {
		t.Errorf("a missing bundle: %v, want a config error naming it", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a missing bundle took %s: retried?", took)
	}
}

// TestSSOSourceFirstHopIsChained: IAM Identity Center credentials are a
// role's session, so the first role assumed from them is role chaining
// (one hour at most), and the SSO source is loaded by rolecall itself from
// the token `aws sso login` cached.
func TestSSOSourceFirstHopIsChained(t *testing.T) {
	w := newWorld(t, matrixConfig(), ssoConfig, "")
	w.loginSSO("corp")
	env, log := w.traced()
	req := w.request(ststest.DemoRoleARN("from-sso"))
	req.Profile, req.Duration = "sso", "2h"
	if _, err := Obtain(context.Background(), req, env); err != nil {
		t.Fatal(err)
	}
	var portal, assumed int
	for _, c := range w.sts.Calls() {
		switch c.Action {
		case "GetRoleCredentials":
			portal++
		case "AssumeRole":
			assumed++
			if c.Params["DurationSeconds"] != "3600" {
				t.Errorf("AssumeRole from SSO asked for %s seconds, want 3600", c.Params["DurationSeconds"])
			}
		}
	}
	if portal != 1 || assumed != 1 {
		t.Errorf("%d GetRoleCredentials and %d AssumeRole calls, want 1 and 1", portal, assumed)
	}
	if !strings.Contains(log.String(), "role chaining") {
		t.Errorf("no role chaining warning:\n%s", log)
	}
}

// TestRefreshWindowNotShorterThanTheSession: a window as long as the
// session (STS's default hour included) means the cache never serves it:
// warned, not silent.
func TestRefreshWindowNotShorterThanTheSession(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	for _, tt := range []struct {
		window   time.Duration
		duration string
		warned   bool
	}{
		{100 * time.Hour, "", true},
		{time.Hour, "", true},
		{2 * time.Hour, "2h", true},
		{15 * time.Minute, "", false},
	} {
		env, log := w.traced()
		req := w.request(demo)
		req.Profile, req.RefreshWindow, req.Duration = "alice", tt.window, tt.duration
		if _, err := Obtain(context.Background(), req, env); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(log.String(), "never be reused"); got != tt.warned {
			t.Errorf("window %s, duration %q: warned %v, want %v", tt.window, tt.duration, got, tt.warned)
		}
	}
}
