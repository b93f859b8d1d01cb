package assume

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/sso"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// signIn signs the demo Identity Center user in to an sso-session the way
// `rolecall login` does (the authorization code grant, a browser that
// allows), so the token can be refreshed.
func (w *world) signIn(session string) sso.Token {
	w.t.Helper()
	env := sso.Env{HomeDir: w.home, Getenv: func(k string) string { return w.env[k] }, Now: w.sts.Now}
	browser := func(_ context.Context, u string) error {
		go func() {
			resp, err := http.PostForm(u, url.Values{"user": {ststest.DemoSSOUser}, "decision": {"allow"}})
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		}()
		return nil
	}
	res, err := sso.Login(context.Background(), sso.LoginRequest{Ref: sso.Ref{Session: session}, Force: true, LoginOptions: sso.LoginOptions{Browser: browser}}, env)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Token
}

// TestSSORoleIsACachedHop: an SSO profile's role credentials come from one
// GetRoleCredentials, cached like an STS call: --profile sso on its own is
// a plan of one hop, a warm cache makes no call, and a chain behind it
// reuses the entry.
func TestSSORoleIsACachedHop(t *testing.T) {
	w := newWorld(t, matrixConfig(), ssoConfig+"[profile behind]\nrole_arn = "+ststest.DemoRoleARN("from-sso")+"\nsource_profile = sso\n", "")
	w.loginSSO("corp")
	ctx := context.Background()
	req := w.request()
	req.Profile = "sso"
	env, log := w.traced()
	res, err := Obtain(ctx, req, env)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Hops) != 1 || res.Plan.Hops[0].Kind != cache.KindSSORole || res.Credentials.SessionToken == "" {
		t.Fatalf("plan %+v", res.Plan.Hops)
	}
	// The permission set decides how long it lasts: nothing to compare the
	// refresh window with.
	if strings.Contains(log.String(), "never be reused") {
		t.Errorf("warned about the refresh window of a session of unknown length:\n%s", log)
	}
	if _, err := Obtain(ctx, req, w.with(nil)); err != nil {
		t.Fatal(err)
	}
	req.Profile = "behind"
	if _, err := Obtain(ctx, req, w.with(nil)); err != nil {
		t.Fatal(err)
	}
	if n := w.sts.CallCount("GetRoleCredentials"); n != 1 {
		t.Errorf("%d GetRoleCredentials calls, want 1", n)
	}
	if got := w.callLog(); len(got) != 2 || got[1] != "AssumeRole RoleArn="+ststest.DemoRoleARN("from-sso")+" RoleSessionName=rolecall-tester" {
		t.Errorf("calls %q", got)
	}
	store, _ := cache.Open(w.cache, cache.Options{})
	entries, _ := store.List()
	kinds := []string{}
	for _, e := range entries {
		kinds = append(kinds, e.Label+":"+e.Kind)
	}
	if strings.Join(kinds, " ") != "behind:assume-role sso:sso-role" {
		t.Errorf("cache entries %v", kinds)
	}
	// Another login (another user, or after a sign-out) is another key.
	w.loginSSO("corp")
	req.Profile = "sso"
	if _, err := Obtain(ctx, req, w.with(nil)); err != nil {
		t.Fatal(err)
	}
	if n := w.sts.CallCount("GetRoleCredentials"); n != 2 {
		t.Errorf("a new login reused the old login's credentials (%d calls)", n)
	}
}

// TestSSOConcurrentProcessesMakeOneCall: 32 requests at once behind one
// SSO profile make one GetRoleCredentials.
func TestSSOConcurrentProcessesMakeOneCall(t *testing.T) {
	w := newWorld(t, matrixConfig(), ssoConfig, "")
	w.loginSSO("corp")
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := w.request()
			req.Profile = "sso"
			_, errs[i] = Obtain(context.Background(), req, w.with(nil))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := w.sts.CallCount("GetRoleCredentials"); n != 1 {
		t.Errorf("%d GetRoleCredentials calls for 32 requests, want 1", n)
	}
}

// TestSSOTokenRefreshedBeforeAFetch: a token about to expire is refreshed
// before role credentials are fetched with it, and those credentials are
// stored under the refreshed token's key, where the next run looks.
func TestSSOTokenRefreshedBeforeAFetch(t *testing.T) {
	w := newWorld(t, matrixConfig(), ssoConfig, "")
	first := w.signIn("corp")
	ctx := context.Background()
	req := w.request()
	req.Profile = "sso"
	w.sts.Advance(50 * time.Minute) // 10 minutes of the token left
	if _, err := Obtain(ctx, req, w.with(nil)); err != nil {
		t.Fatal(err)
	}
	tok, err := sso.LoadToken(w.home, sso.Session{Name: "corp"})
	if err != nil || tok.AccessToken == first.AccessToken {
		t.Fatalf("the token was not refreshed: %v", err)
	}
	if _, err := Obtain(ctx, req, w.with(nil)); err != nil {
		t.Fatal(err)
	}
	refreshes := 0
	for _, c := range w.sts.Calls() {
		if c.Action == "CreateToken" && c.Params["grantType"] == "refresh_token" {
			refreshes++
		}
	}
	if n := w.sts.CallCount("GetRoleCredentials"); refreshes != 1 || n != 1 {
		t.Errorf("%d refreshes and %d GetRoleCredentials, want 1 and 1", refreshes, n)
	}
}

// TestSSOErrors: what a person sees when the login is missing, expired or
// the role is not hers, and session flags an IAM Identity Center role
// cannot take.
func TestSSOErrors(t *testing.T) {
	w := newWorld(t, matrixConfig(), ssoConfig+"[profile other]\nsso_session = corp\nsso_account_id = 210987654321\nsso_role_name = AdministratorAccess\n"+
		"[profile broken]\nsso_session = corp\nsso_account_id = 12345\nsso_role_name = x\n"+
		"[profile letters]\nsso_session = corp\nsso_account_id = 12345678901x\nsso_role_name = x\n", "")
	ctx := context.Background()
	obtain := func(profile string, edit func(*Request)) error {
		req := w.request()
		req.Profile = profile
		if edit != nil {
			edit(&req)
		}
		_, err := Obtain(ctx, req, w.with(nil))
		return err
	}
	var lr *sso.LoginRequiredError
	if err := obtain("sso", nil); !errors.As(err, &lr) || lr.Hint() != "run rolecall login --sso-session corp" {
		t.Errorf("never signed in: %v", err)
	}
	w.loginSSO("corp") // an hour, no refresh token
	var na *sso.NoAccessError
	if err := obtain("other", nil); !errors.As(err, &na) || na.AccountID != "210987654321" || na.RoleName != "AdministratorAccess" {
		t.Errorf("no access: %v", err)
	}
	var ue *UsageError
	if err := obtain("sso", func(r *Request) { r.Duration = "2h" }); !errors.As(err, &ue) {
		t.Errorf("--duration on an IAM Identity Center role: %v", err)
	}
	var ce *ConfigError
	for _, profile := range []string{"broken", "letters"} {
		if err := obtain(profile, nil); !errors.As(err, &ce) || !strings.Contains(err.Error(), "sso_account_id") {
			t.Errorf("a bad account ID (profile %s): %v", profile, err)
		}
	}
	w.sts.Advance(2 * time.Hour)
	calls := w.sts.CallCount("")
	if err := obtain("sso", nil); !errors.As(err, &lr) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
	if w.sts.CallCount("") != calls {
		t.Error("an expired token was sent to the portal")
	}
}

// TestSSOLegacyProfile: a profile with its own sso_start_url and
// sso_region finds the token the AWS CLI names by the start URL.
func TestSSOLegacyProfile(t *testing.T) {
	w := newWorld(t, matrixConfig(), "[profile legacy]\nsso_start_url = "+ststest.DemoSSOStartURL+"\nsso_region = "+ststest.DemoSSORegion+
		"\nsso_account_id = 210987654321\nsso_role_name = ReadOnlyAccess\n", "")
	req := w.request()
	req.Profile = "legacy"
	var lr *sso.LoginRequiredError
	if _, err := Obtain(context.Background(), req, w.with(nil)); !errors.As(err, &lr) || lr.Hint() != "run rolecall login --profile legacy" {
		t.Fatalf("never signed in: %v", err)
	}
	w.loginSSO(ststest.DemoSSOStartURL)
	id, err := WhoAmI(context.Background(), req, w.with(nil))
	if err != nil || id.Account != "210987654321" {
		t.Fatalf("legacy SSO profile: %+v, %v", id, err)
	}
}
