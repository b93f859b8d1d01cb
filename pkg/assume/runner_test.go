package assume

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
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
	var conns atomic.Int32                                 // connections made: a retry makes another
	tlsServer.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			conns.Add(1)
		}
	}
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
	if n := conns.Load(); n != 1 {
		t.Errorf("without a bundle: %d connections, want 1 (a certificate error is not retried)", n)
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
	before := conns.Load()
	_, err = Obtain(context.Background(), req, w.with(map[string]string{"AWS_CA_BUNDLE": bundle + ".missing"}))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), bundle+".missing") {
		t.Errorf("a missing bundle: %v, want a config error naming it", err)
	}
	if n := conns.Load() - before; n != 0 {
		t.Errorf("a missing bundle: %d connections to STS, want none (the bundle is read first)", n)
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

// TestPlanDescribe: --debug's plan line names the source, each hop with
// the role ARN behind a profile name, the SSO role and account, which hops
// are chained, the region and the endpoint, and nothing it does not have.
func TestPlanDescribe(t *testing.T) {
	tests := []struct {
		name string
		plan Plan
		want string
	}{
		{"profiles, a chain and an endpoint", Plan{
			Source: staticSource(awsconfig.SourceStatic, "alice", &creds.Credentials{AccessKeyID: "AKIAALICE00000000001"}),
			Hops: []Hop{
				{Kind: cache.KindAssumeRole, Label: "deploy", RoleARN: demo},
				{Kind: cache.KindAssumeRole, Label: chained, RoleARN: chained},
			},
			Region: "eu-west-1", Endpoint: "https://sts.example",
		}, "static (profile alice) -> assume-role deploy (" + demo + ") -> assume-role " + chained + " [chained]; region eu-west-1; endpoint https://sts.example"},
		{"keys in the environment", Plan{
			Source: staticSource(awsconfig.SourceEnvironment, "", &creds.Credentials{AccessKeyID: "AKIAENV0000000000001"}),
			Hops:   []Hop{{Kind: cache.KindAssumeRole, Label: demo, RoleARN: demo}},
			Region: "us-east-1",
		}, "environment (AKIAENV0000000000001) -> assume-role " + demo + "; region us-east-1"},
		{"an SSO role, then a role chained from it", Plan{
			Source: Source{Source: awsconfig.Source{Kind: awsconfig.SourceSSO, Profile: "sso"}},
			SSO:    &SSORole{AccountID: ststest.DemoAccount, RoleName: "ReadOnly"},
			Hops: []Hop{
				{Kind: cache.KindSSORole, Label: "sso"},
				{Kind: cache.KindAssumeRole, Label: demo, RoleARN: demo},
			},
			Region: "us-east-1",
		}, "sso (profile sso) -> sso-role sso (ReadOnly in " + ststest.DemoAccount + ") -> assume-role " + demo + " [chained]; region us-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.plan.describe(); got != tt.want {
				t.Errorf("describe()\n got  %s\n want %s", got, tt.want)
			}
		})
	}
}

// TestWebIdentityHopIsNotChained: AssumeRoleWithWebIdentity makes a role
// session from a token; it is no role chaining, so it gets the duration
// asked for (the one-hour cap is for the role assumed after it).
func TestWebIdentityHopIsNotChained(t *testing.T) {
	cfg := ststest.DemoConfig()
	for i := range cfg.Roles {
		if cfg.Roles[i].ARN == ststest.DemoRoleARN("ci-deploy") {
			cfg.Roles[i].MaxSessionDuration = 43200
		}
	}
	w := newWorld(t, cfg, "", "")
	token := filepath.Join(w.home, "token")
	mintToken(t, w.sts, token)
	env, log := w.traced()
	req := w.request(ststest.DemoRoleARN("ci-deploy"))
	req.WebIdentity.TokenFile, req.Duration = token, "2h"
	res, err := Obtain(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.callLog(); len(got) != 1 || !strings.Contains(got[0], "DurationSeconds=7200") {
		t.Errorf("calls %v, want one AssumeRoleWithWebIdentity for 7200 seconds", got)
	}
	if strings.Contains(log.String(), "role chaining") {
		t.Errorf("warned about role chaining:\n%s", log)
	}
	if want := "arn:aws:sts::" + ststest.DemoAccount + ":assumed-role/ci-deploy/"; !strings.HasPrefix(res.Credentials.AssumedRoleARN, want) {
		t.Errorf("AssumedRoleARN %q, want the session's %s…", res.Credentials.AssumedRoleARN, want)
	}
}

// TestChainedHopOfAnHourIsNotClamped: exactly STS's hour is allowed for a
// chained hop: sent as asked, no warning.
func TestChainedHopOfAnHourIsNotClamped(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	env, log := w.traced()
	req := w.request(demo, chained)
	req.Profile, req.Duration = "alice", "1h"
	res, err := Obtain(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	if last := w.sts.Calls()[len(w.sts.Calls())-1]; last.Params["DurationSeconds"] != "3600" {
		t.Errorf("last call %v, want DurationSeconds 3600", last.Params)
	}
	if strings.Contains(log.String(), "role chaining") {
		t.Errorf("warned about role chaining for exactly an hour:\n%s", log)
	}
	if want := "arn:aws:sts::" + ststest.DemoAccount + ":assumed-role/chained/rolecall-tester"; res.Credentials.AssumedRoleARN != want {
		t.Errorf("AssumedRoleARN %q, want %q (STS's AssumedRoleUser)", res.Credentials.AssumedRoleARN, want)
	}
}

// TestCachedIsTheWholeHit: Runner.Cached serves a warm plan from the cache
// (traced as a hit, no lock, no call) and nothing for a cold one.
func TestCachedIsTheWholeHit(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	env, log := w.traced()
	req := w.request(demo)
	req.Profile = "alice"
	plan, err := Resolve(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := newRunner(req, env).Cached(plan); ok {
		t.Fatal("a cold cache hit")
	}
	first, err := Obtain(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := newRunner(req, env).Cached(plan)
	if !ok || c.AccessKeyID != first.Credentials.AccessKeyID {
		t.Fatalf("warm cache: hit %v with %s, want the credentials fetched (%s)", ok, c.AccessKeyID, first.Credentials.AccessKeyID)
	}
	if !strings.Contains(log.String(), "cache hit for "+demo) {
		t.Errorf("no cache hit traced:\n%s", log)
	}
}

// TestNoteSkew: a clock more than 5 minutes from STS's is warned about,
// once a command, saying which way; up to 5 minutes either way is quiet.
func TestNoteSkew(t *testing.T) {
	for _, tt := range []struct {
		skew time.Duration
		want string // "" for no warning
	}{
		{0, ""},
		{5 * time.Minute, ""},
		{-5 * time.Minute, ""},
		{5*time.Minute + time.Second, "5m0s behind"},
		{-5*time.Minute - time.Second, "5m0s ahead of"},
		{-2 * time.Hour, "2h0m0s ahead of"},
	} {
		log := &traceLog{}
		r := &Runner{STS: &STS{Env: Env{Warn: log.warn}}}
		r.noteSkew(tt.skew)
		r.noteSkew(tt.skew)
		got := log.String()
		switch {
		case tt.want == "" && got != "":
			t.Errorf("skew %s: warned %q", tt.skew, got)
		case tt.want != "" && (!strings.Contains(got, "clock is "+tt.want+" STS's") || strings.Count(got, "warning:") != 1):
			t.Errorf("skew %s: warned %q, want once %q", tt.skew, got, tt.want)
		}
	}
}

// TestExpirationIsTimedBySTSClock: credentials are timed by STS's clock
// (its Date header): when this machine's clock is off by more than a
// minute, the expiration moves by the difference, so the cache and the
// SDKs, which go by this machine's clock, refresh when STS says; within a
// minute it is STS's to the second.
func TestExpirationIsTimedBySTSClock(t *testing.T) {
	for _, skew := range []time.Duration{0, 10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
			w.sts.SetRequestClockSkew(skew)
			env, _ := w.traced()
			req := w.request(demo)
			req.Profile = "alice"
			res, err := Obtain(context.Background(), req, env)
			if err != nil {
				t.Fatal(err)
			}
			exp := res.Credentials.Expiration
			issued := w.sts.Calls()[0].Time.Add(time.Hour) // STS's clock
			if skew == 0 {
				if exp.Nanosecond() != 0 || exp.Sub(issued).Abs() > 2*time.Second {
					t.Errorf("expiration %s, want STS's %s to the second", exp, issued)
				}
				return
			}
			// The skew is read from the response's Date header against this
			// clock, so it is off by the response's latency, which load can
			// stretch to seconds; half a minute still tells 10 minutes apart.
			if d := exp.Sub(issued.Add(-skew)); d.Abs() > 30*time.Second {
				t.Errorf("expiration %s is %s from STS's %s moved by the skew %s", exp, d, issued, skew)
			}
		})
	}
}

// TestMFACodeFlagServesTheHopThatNeedsIt: a code given up front is sent
// with the call that needs MFA, and nobody is asked for one.
func TestMFACodeFlagServesTheHopThatNeedsIt(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "[profile mfa]\nrole_arn = "+ststest.DemoRoleARN("needs-mfa")+
		"\nsource_profile = alice\nmfa_serial = "+ststest.DemoMFASerial+"\n", demoCredentials)
	env := w.with(nil)
	env.MFACode = func(context.Context, string) (string, error) {
		t.Error("asked for an MFA code that was given")
		return "", errors.New("no")
	}
	code := w.sts.TOTP(ststest.DemoMFASerial)
	req := w.request("mfa")
	req.MFACode = code
	if _, err := Obtain(context.Background(), req, env); err != nil {
		t.Fatal(err)
	}
	first := w.sts.Calls()[0]
	if first.Action != "GetSessionToken" || first.Params["TokenCode"] != code || first.Params["SerialNumber"] != ststest.DemoMFASerial {
		t.Errorf("first call %s %v, want GetSessionToken with the code given", first.Action, first.Params)
	}
}

// TestPolicyFromStdinIsBounded: --policy - reads at most a MiB: exactly a
// MiB is taken whole, one byte more is refused.
func TestPolicyFromStdinIsBounded(t *testing.T) {
	policy := func(size int) string {
		const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]`
		return doc + strings.Repeat(" ", size-len(doc)-1) + "}"
	}
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	for _, tt := range []struct {
		size int
		ok   bool
	}{{maxPolicyBytes, true}, {maxPolicyBytes + 1, false}} {
		env := w.with(nil)
		env.Stdin = strings.NewReader(policy(tt.size))
		req := w.request(demo)
		req.Profile, req.Policy = "alice", "-"
		p, err := Resolve(context.Background(), req, env)
		switch {
		case tt.ok && err != nil:
			t.Errorf("%d bytes: %v", tt.size, err)
		case tt.ok && !strings.Contains(p.Hops[0].Policy, `"s3:*"`):
			t.Errorf("%d bytes: policy %q", tt.size, p.Hops[0].Policy)
		case !tt.ok && (err == nil || !strings.Contains(err.Error(), "more than")):
			t.Errorf("%d bytes: %v, want a refusal of more than %d bytes", tt.size, err, maxPolicyBytes)
		}
	}
}

// TestCredentialProcessEnvironment: a credential_process child starts from
// Env.Environ (it can read the variables it needs), or from nothing but
// the recursion mark when the caller gives no environment.
func TestCredentialProcessEnvironment(t *testing.T) {
	process := `printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s"}' "${KEY_ID:-` + ststest.DemoAccessKeyID + `}" "$SECRET"`
	w := newWorld(t, ststest.DemoConfig(), "[profile proc]\ncredential_process = "+process+"\n", "")
	req := w.request(demo)
	req.Profile, req.NoCache = "proc", true
	if _, err := Obtain(context.Background(), req, w.with(map[string]string{"SECRET": ststest.DemoSecretAccessKey})); err != nil {
		t.Fatalf("with the secret in Environ: %v", err)
	}
	env := w.with(map[string]string{"SECRET": ststest.DemoSecretAccessKey})
	env.Environ = nil
	if _, err := Obtain(context.Background(), req, env); err == nil || !strings.Contains(err.Error(), "SecretAccessKey") {
		t.Fatalf("with no environment the child has no SECRET: %v, want a refusal of the empty secret", err)
	}
}

// TestSourceErrorNamesTheSource: a failure to load the base credentials
// names the profile they come from, else the instance metadata or the
// container endpoint, else the kind of source.
func TestSourceErrorNamesTheSource(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		source awsconfig.Source
		uri    string
		want   string
	}{
		{awsconfig.Source{Kind: awsconfig.SourceProcess, Profile: "proc"}, "", "load base credentials from profile proc: boom"},
		{awsconfig.Source{Kind: awsconfig.SourceEC2}, "", "load base credentials from instance metadata: boom"},
		{awsconfig.Source{Kind: awsconfig.SourceECS}, "http://169.254.170.2/creds", "load base credentials from the container endpoint http://169.254.170.2/creds: boom"},
		{awsconfig.Source{Kind: awsconfig.SourceEnvironment}, "", "load base credentials from the environment source: boom"},
	}
	for _, tt := range tests {
		err := &SourceError{Source: Source{Source: tt.source, ContainerURI: tt.uri}, Err: cause}
		if got := err.Error(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.source.Kind, got, tt.want)
		}
	}
}
