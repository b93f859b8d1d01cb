package sso

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// The tests of this file pin the edges of each decision: the last value a
// check lets through and the first it stops (found by mutation testing,
// docs/testing.md).

// TestRegistrationFileKeys: a registration file holds scopes and
// grantTypes only when the client registered some, as the AWS CLI's device
// code registrations (neither) and authorization code ones (both) do.
func TestRegistrationFileKeys(t *testing.T) {
	expires := time.Date(2026, 12, 7, 1, 2, 3, 0, time.UTC)
	tests := []struct {
		name string
		reg  Registration
		want string
	}{
		{"device code client", Registration{ClientID: "id", ClientSecret: "secret", ExpiresAt: expires},
			`{"clientId": "id", "clientSecret": "secret", "expiresAt": "2026-12-07T01:02:03Z"}`},
		{"scopes without grant types", Registration{ClientID: "id", ClientSecret: "secret", ExpiresAt: expires, Scopes: []string{"sso:account:access"}},
			`{"clientId": "id", "clientSecret": "secret", "expiresAt": "2026-12-07T01:02:03Z", "scopes": ["sso:account:access"]}`},
		{"authorization code client", Registration{ClientID: "id", ClientSecret: "secret", ExpiresAt: expires,
			Scopes: []string{"sso:account:access"}, GrantTypes: []string{grantAuthorizationCode, grantRefreshToken}},
			`{"clientId": "id", "clientSecret": "secret", "expiresAt": "2026-12-07T01:02:03Z", "scopes": ["sso:account:access"], "grantTypes": ["authorization_code", "refresh_token"]}`},
		{"grant types without scopes", Registration{ClientID: "id", ClientSecret: "secret", ExpiresAt: expires, GrantTypes: []string{grantRefreshToken}},
			`{"clientId": "id", "clientSecret": "secret", "expiresAt": "2026-12-07T01:02:03Z", "grantTypes": ["refresh_token"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.reg.encode()); got != tt.want {
				t.Errorf("registration file\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestCachedRegistrationReuse: a cached registration serves a login while
// it has at least 15 minutes left (the AWS CLI's _EXPIRY_WINDOW), and only
// the grant it was registered for: authorization_code among its grant
// types for the authorization code grant, its absence for the device grant.
func TestCachedRegistrationReuse(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	s := Session{Name: "corp", StartURL: ststest.DemoSSOStartURL, Region: ststest.DemoSSORegion}
	authCode := []string{grantAuthorizationCode, grantRefreshToken}
	tests := []struct {
		name        string
		left        time.Duration
		grantTypes  []string
		forAuthCode bool
		reused      bool
	}{
		{"exactly 15 minutes left", expiryWindow, authCode, true, true},
		{"a second less", expiryWindow - time.Second, authCode, true, false},
		{"a day left", 24 * time.Hour, authCode, true, true},
		{"authorization code client for the device grant", 24 * time.Hour, authCode, false, false},
		{"authorization_code not first", 24 * time.Hour, []string{grantRefreshToken, grantAuthorizationCode}, true, true},
		{"device client (no grant types) for the device grant", 24 * time.Hour, nil, false, true},
		{"device client (no grant types) for the authorization code grant", 24 * time.Hour, nil, true, false},
		{"refresh_token only, for the device grant", 24 * time.Hour, []string{grantRefreshToken}, false, true},
		{"device_code grant, for the authorization code grant", 24 * time.Hour, []string{grantDeviceCode}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			reg := Registration{ClientID: "id", ClientSecret: "secret", ExpiresAt: now.Add(tt.left), GrantTypes: tt.grantTypes}
			if err := writeFileAtomic(registrationPath(home, s), reg.encode()); err != nil {
				t.Fatal(err)
			}
			got, ok := loadRegistration(home, s, tt.forAuthCode, now)
			if ok != tt.reused || ok && got.ClientID != "id" {
				t.Errorf("reused %t (%+v), want %t", ok, got, tt.reused)
			}
		})
	}
}

// TestEndpointVariables: an endpoint variable is an http or https URL with
// a host, else a usage error naming the variable.
func TestEndpointVariables(t *testing.T) {
	tests := []struct {
		value string
		ok    bool
	}{
		{"https://oidc.us-east-1.amazonaws.com", true},
		{"http://127.0.0.1:8080/", true},
		{"HTTPS://oidc.example.test", true}, // url.Parse lower-cases the scheme
		{"ftp://oidc.example.test", false},
		{"https://", false},
		{"http:///path", false},
		{"oidc.example.test", false},
		{"://", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			vars := map[string]string{"AWS_ENDPOINT_URL_SSO_OIDC": tt.value}
			ep, err := EndpointsFrom(func(k string) string { return vars[k] })
			if tt.ok {
				if err != nil || ep.OIDC != strings.TrimSuffix(tt.value, "/") {
					t.Errorf("endpoints %+v, %v; want OIDC %s", ep, err, tt.value)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !ce.Usage || !strings.Contains(err.Error(), "AWS_ENDPOINT_URL_SSO_OIDC") {
				t.Errorf("error %v, want a usage error naming AWS_ENDPOINT_URL_SSO_OIDC", err)
			}
		})
	}
}

// TestClientFromTheEnvironment: without an HTTP client of the caller's,
// rolecall builds its own from the environment, whose AWS_CA_BUNDLE must
// then be readable.
func TestClientFromTheEnvironment(t *testing.T) {
	vars := map[string]string{"AWS_CA_BUNDLE": filepath.Join(t.TempDir(), "missing.pem")}
	_, err := NewClient(Env{Getenv: func(k string) string { return vars[k] }})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(ce.Hint, "AWS_CA_BUNDLE") {
		t.Fatalf("error %v, want a config error about AWS_CA_BUNDLE", err)
	}
}

// deviceLogin signs in to ref with the device grant, approved at the
// first poll's wait, and reports what the person was told.
func (w *world) deviceLogin(ref Ref, opt LoginOptions, force bool) (LoginResult, []string, error) {
	var notes []string
	opt.UseDeviceCode = true
	opt.Notify = func(msg string) { notes = append(notes, msg) }
	opt.Sleep = w.advancingSleep(func(int) { _, _ = w.sts.ApproveSSOLogin("", ststest.DemoSSOUser) })
	res, err := Login(context.Background(), LoginRequest{Ref: ref, LoginOptions: opt, Force: force}, w.env())
	return res, notes, err
}

// TestBrowserThatFails: the person is told the page opened only when the
// browser started; otherwise only where to go.
func TestBrowserThatFails(t *testing.T) {
	const opened = "opened the page in your browser"
	for _, tt := range []struct {
		name    string
		browser func(context.Context, string) error
		opened  bool
	}{
		{"browser started", func(context.Context, string) error { return nil }, true},
		{"browser failed", func(context.Context, string) error { return errors.New("no display") }, false},
		{"no browser", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			_, notes, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{Browser: tt.browser}, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(notes) == 0 || !strings.Contains(notes[0], "enter the code") {
				t.Errorf("notes %q, want the code first", notes)
			}
			if got := strings.Contains(strings.Join(notes, "\n"), opened); got != tt.opened {
				t.Errorf("notes %q: said the page opened: %t, want %t", notes, got, tt.opened)
			}
		})
	}
}

// TestLoginSignInPageError: an error the sign-in page sends back (other
// than access_denied) is a failed call, not a timeout.
func TestLoginSignInPageError(t *testing.T) {
	w := newWorld(t)
	answered := make(chan string, 1)
	opened := false // the browser runs in Login's goroutine, this one
	browser := func(_ context.Context, authorize string) error {
		opened = true
		u, err := url.Parse(authorize)
		if err != nil {
			return err
		}
		q := u.Query()
		go func() {
			status, err := getStatus(q.Get("redirect_uri") + "?state=" + url.QueryEscape(q.Get("state")) + "&error=server_error")
			if err != nil || status != http.StatusOK {
				answered <- fmt.Sprintf("the callback answered %d, %v", status, err)
				return
			}
			answered <- ""
		}()
		return nil
	}
	_, err := Login(context.Background(), LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: browser}}, w.env())
	if !opened {
		t.Fatalf("the browser was not opened: %v", err)
	}
	if msg := <-answered; msg != "" {
		t.Error(msg)
	}
	var ce *CallError
	if !errors.As(err, &ce) || ce.Action != "authorize" || !strings.Contains(err.Error(), "server_error") {
		t.Fatalf("error %v, want the authorize step's failure", err)
	}
	var le *LoginError
	if errors.As(err, &le) {
		t.Errorf("error %v is a LoginError (%s)", err, le.Reason)
	}
}

// TestLoginKeepsOtherToolsFields: a new sign-in over an existing token
// file keeps the fields rolecall does not know.
func TestLoginKeepsOtherToolsFields(t *testing.T) {
	w := newWorld(t)
	first, _, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{}, false)
	if err != nil {
		t.Fatal(err)
	}
	path := TokenPath(w.home, first.Session)
	obj := readJSON(t, path)
	obj["toolField"] = "kept"
	data, _ := json.Marshal(obj)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	again, _, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{}, true)
	if err != nil || again.How != LoginSignedIn || again.Token.AccessToken == first.Token.AccessToken {
		t.Fatalf("forced login: %+v, %v", again.How, err)
	}
	if after := readJSON(t, path); after["toolField"] != "kept" || after["accessToken"] != again.Token.AccessToken {
		t.Errorf("token file after the new sign-in: %v", after)
	}
}

// TestLogoutRemovesRoleCredentials: logout signs out at the portal (no
// warning when that works) and removes IAM Identity Center role
// credentials from rolecall's cache, the one --cache-dir names or the
// default one (ROLECALL_CACHE_DIR), and nothing else.
func TestLogoutRemovesRoleCredentials(t *testing.T) {
	for _, tt := range []struct {
		name    string
		flagDir bool
	}{{"cache directory given", true}, {"default cache directory", false}} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			res, _, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{}, false)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "cache")
			store, err := cache.Open(dir, cache.Options{Now: w.sts.Now})
			if err != nil {
				t.Fatal(err)
			}
			c := w.client()
			keys := map[string]string{}
			for _, kind := range []string{cache.KindSSORole, cache.KindAssumeRole} {
				key := cache.KeyInput{Kind: kind, Source: "sso:corp", RoleARN: "arn:aws:iam::" + ststest.DemoAccount + ":role/" + kind}.Key()
				keys[kind] = key
				_, out, err := store.Fetch(context.Background(), key, 0, func(ctx context.Context) (cache.Entry, error) {
					cr, err := c.RoleCredentials(ctx, res.Session, res.Token, ststest.DemoAccount, "ReadOnlyAccess")
					return cache.Entry{Kind: kind, Label: "dev", Credentials: cr}, err
				})
				if err != nil || !out.Stored {
					t.Fatalf("cache %s credentials: %v, %+v", kind, err, out)
				}
			}
			req := LogoutRequest{Ref: Ref{Session: "corp"}}
			if tt.flagDir {
				req.CacheDir = dir
				w.vars["ROLECALL_CACHE_DIR"] = filepath.Join(t.TempDir(), "elsewhere")
			} else {
				w.vars["ROLECALL_CACHE_DIR"] = dir
			}
			out, err := Logout(context.Background(), req, w.env())
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Warnings) != 0 || len(out.SignedOut) != 1 || out.RemovedCredentials != 1 {
				t.Errorf("logout: %+v, want one session signed out without warning and one role's credentials removed", out)
			}
			for kind, want := range map[string]bool{cache.KindSSORole: false, cache.KindAssumeRole: true} {
				if _, kept := store.Lookup(keys[kind], 0); kept != want {
					t.Errorf("the %s entry is left: %t, want %t", kind, kept, want)
				}
			}
		})
	}
}

// getStatus is a browser's GET of u: the status it is answered.
func getStatus(u string) (int, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// TestRegisterClientNameAndScopes: an sso-session's client is named after
// it, a legacy profile's after the time (as the AWS CLI names them); an
// authorization code client asks for the session's scopes, else
// sso:account:access.
func TestRegisterClientNameAndScopes(t *testing.T) {
	const extra = "\n[sso-session plain]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion + "\n" +
		"\n[sso-session wide]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion +
		"\nsso_registration_scopes = sso:account:access, codewhisperer:completions\n"
	tests := []struct {
		name   string
		ref    Ref
		device bool
		client string // the clientName RegisterClient is sent; "<time>" for the emulator clock's Unix time
		scopes string
	}{
		{"sso-session with scopes", Ref{Session: "corp"}, false, "rolecall-client-corp", "sso:account:access"},
		{"sso-session with other scopes", Ref{Session: "wide"}, false, "rolecall-client-wide", "sso:account:access codewhisperer:completions"},
		{"sso-session without scopes", Ref{Session: "plain"}, false, "rolecall-client-plain", "sso:account:access"},
		{"sso-session without scopes, device code", Ref{Session: "plain"}, true, "rolecall-client-plain", ""},
		{"legacy profile", Ref{Profile: "legacy"}, true, "<time>", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.sts.StopClock()
			config := filepath.Join(w.home, ".aws", "config")
			data, err := os.ReadFile(config)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(config, append(data, extra...), 0o600); err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.client, "<time>", "rolecall-client-"+strconv.FormatInt(w.sts.Now().Unix(), 10))
			var authorize string
			if tt.device {
				_, _, err = w.deviceLogin(tt.ref, LoginOptions{}, false)
			} else {
				browser := w.browser("allow")
				_, err = Login(context.Background(), LoginRequest{Ref: tt.ref, LoginOptions: LoginOptions{Browser: func(ctx context.Context, u string) error {
					authorize = u
					return browser(ctx, u)
				}}}, w.env())
			}
			if err != nil {
				t.Fatal(err)
			}
			// The authorize page asks for the scopes registered, space-separated.
			if !tt.device {
				if u, err := url.Parse(authorize); err != nil || u.Query().Get("scopes") != tt.scopes {
					t.Errorf("authorize URL %s, want scopes %q", authorize, tt.scopes)
				}
			}
			var registered []map[string]string
			for _, c := range w.sts.Calls() {
				if c.Action == "RegisterClient" {
					registered = append(registered, c.Params)
				}
			}
			if len(registered) != 1 || registered[0]["clientName"] != want || registered[0]["scopes"] != tt.scopes {
				t.Errorf("RegisterClient calls %v, want one with clientName %s and scopes %q", registered, want, tt.scopes)
			}
		})
	}
}

// TestDevicePollIntervalDefault: an answer without an interval (RFC 8628
// makes it optional) polls every 5 seconds. A proxy in front of the
// emulator leaves the interval out of its answer.
func TestDevicePollIntervalDefault(t *testing.T) {
	w := newWorld(t)
	target, err := url.Parse(w.sts.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/device_authorization" || resp.StatusCode != http.StatusOK {
			return nil
		}
		var answer map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return err
		}
		_ = resp.Body.Close()
		if _, ok := answer["interval"]; !ok {
			t.Error("the emulator's answer has no interval to leave out")
		}
		delete(answer, "interval")
		body, err := json.Marshal(answer)
		if err != nil {
			return err
		}
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	w.vars["AWS_ENDPOINT_URL_SSO_OIDC"] = srv.URL

	var waits []time.Duration
	sleep := w.advancingSleep(func(int) { _, _ = w.sts.ApproveSSOLogin("", ststest.DemoSSOUser) })
	opt := LoginOptions{UseDeviceCode: true, Sleep: func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return sleep(ctx, d)
	}}
	if _, err := Login(context.Background(), LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: opt}, w.env()); err != nil {
		t.Fatal(err)
	}
	if len(waits) != 1 || waits[0] != defaultPollInterval {
		t.Errorf("waits %v, want one of %s", waits, defaultPollInterval)
	}
}

// TestAccountsOrder: accounts come sorted by name, then by ID where two
// share a name, whatever order the portal lists them in (the emulator's is
// by ID).
func TestAccountsOrder(t *testing.T) {
	w := newWorld(t)
	cfg := ststest.DemoConfig()
	for _, a := range []ststest.Account{{ID: "111111111111", Name: "zeta"}, {ID: "333333333333", Name: "alpha"}, {ID: "222222222222", Name: "alpha"}} {
		cfg.Accounts = append(cfg.Accounts, a)
		cfg.SSO.Users[0].Assignments = append(cfg.SSO.Users[0].Assignments, ststest.SSOAssignment{AccountID: a.ID, PermissionSet: "ReadOnlyAccess"})
	}
	w.sts = ststest.NewServer(cfg)
	t.Cleanup(w.sts.Close)
	w.vars["AWS_ENDPOINT_URL_SSO"], w.vars["AWS_ENDPOINT_URL_SSO_OIDC"] = w.sts.URL(), w.sts.URL()
	if _, _, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{}, false); err != nil {
		t.Fatal(err)
	}
	_, accounts, err := ListAccounts(context.Background(), Ref{Session: "corp"}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range accounts {
		got = append(got, a.Name+"/"+a.ID)
	}
	want := []string{"alpha/222222222222", "alpha/333333333333", "demo/" + ststest.DemoAccount, "sandbox/" + ststest.DemoSandboxAccount, "zeta/111111111111"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("accounts %q, want %q", got, want)
	}
}

// TestSessionNames: how messages and hints name a session: an
// sso-session by its name, a legacy profile by the profile and start URL.
func TestSessionNames(t *testing.T) {
	named := Session{Name: "corp", StartURL: ststest.DemoSSOStartURL, Region: ststest.DemoSSORegion}
	legacy := Session{Profile: "legacy", StartURL: ststest.DemoSSOStartURL, Region: ststest.DemoSSORegion}
	for _, tt := range []struct{ got, want string }{
		{named.String(), "IAM Identity Center session corp"},
		{legacy.String(), "IAM Identity Center login for profile legacy (" + ststest.DemoSSOStartURL + ")"},
		{named.LoginCommand(), "rolecall login --sso-session corp"},
		{legacy.LoginCommand(), "rolecall login --profile legacy"},
		{(&LoginRequiredError{Session: legacy, Reason: "not signed in"}).Error(), "IAM Identity Center login for profile legacy (" + ststest.DemoSSOStartURL + "): not signed in"},
	} {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}

// TestRetryerBounds: the SDK's retries of a portal or OIDC call: at most
// maxAttempts attempts, and between them a wait drawn at random below a
// cap that grows from 50ms to 2 seconds (the standard retryer's own cap is
// 20). Of 200 draws for a late attempt none is over 2 seconds (with a
// 20-second cap 90% would be) and one at least over 1 second (with no cap
// none would be; by chance, one in 2^200).
func TestRetryerBounds(t *testing.T) {
	r := retryer()
	if got := r.MaxAttempts(); got != maxAttempts {
		t.Errorf("MaxAttempts %d, want %d", got, maxAttempts)
	}
	var longest time.Duration
	for range 200 {
		d, err := r.RetryDelay(10, errors.New("connection reset"))
		if err != nil || d < 0 || d > 2*time.Second {
			t.Fatalf("delay %s, %v; want at most 2s", d, err)
		}
		longest = max(longest, d)
	}
	if longest <= time.Second {
		t.Errorf("the longest of 200 delays is %s, want one over 1s", longest)
	}
}

// stopClockOnASecond stops the emulator's clock (the package's, through
// Env.Now) on a whole second: the token file keeps whole seconds, so
// "exactly 15 minutes left" is then exact.
func (w *world) stopClockOnASecond() {
	w.sts.StopClock()
	now := w.sts.Now()
	w.sts.Advance(now.Truncate(time.Second).Add(time.Second).Sub(now))
}

// TestRefreshWindowEdge: a token with exactly RefreshWindow left is
// refreshed; a second more and it is used as it is.
func TestRefreshWindowEdge(t *testing.T) {
	for _, tt := range []struct {
		name      string
		left      time.Duration
		refreshed bool
	}{
		{"exactly 15 minutes left", RefreshWindow, true},
		{"a second more", RefreshWindow + time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.stopClockOnASecond()
			first, _, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{}, false)
			if err != nil {
				t.Fatal(err)
			}
			w.sts.Advance(first.Token.ExpiresAt.Sub(w.sts.Now()) - tt.left)
			got, err := w.client().Fresh(context.Background(), first.Session)
			if err != nil {
				t.Fatal(err)
			}
			if refreshed := got.AccessToken != first.Token.AccessToken; refreshed != tt.refreshed {
				t.Errorf("refreshed %t with %s left, want %t", refreshed, first.Token.ExpiresAt.Sub(w.sts.Now()), tt.refreshed)
			}
		})
	}
}

// TestRefreshFindsAnotherProcesssToken: under the lock, a token another
// process wrote is used when it has more than RefreshWindow left; with
// exactly that left it is refreshed again.
func TestRefreshFindsAnotherProcesssToken(t *testing.T) {
	for _, tt := range []struct {
		name string
		left time.Duration
		used bool
	}{
		{"exactly 15 minutes left", RefreshWindow, false},
		{"a second more", RefreshWindow + time.Second, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.stopClockOnASecond()
			first, _, err := w.deviceLogin(Ref{Session: "corp"}, LoginOptions{}, false)
			if err != nil {
				t.Fatal(err)
			}
			w.sts.Advance(50 * time.Minute) // 10 minutes left: this process will refresh
			old, err := LoadToken(w.home, first.Session)
			if err != nil {
				t.Fatal(err)
			}
			other := old
			other.AccessToken, other.ExpiresAt = "another-process-token", w.sts.Now().Add(tt.left)
			if err := writeFileAtomic(TokenPath(w.home, first.Session), other.encode()); err != nil {
				t.Fatal(err)
			}
			w.sts.ResetCalls()
			got, err := w.client().Freshen(context.Background(), first.Session, old)
			if err != nil {
				t.Fatal(err)
			}
			if used := got.AccessToken == other.AccessToken; used != tt.used || w.calls("CreateToken") != map[bool]int{true: 0, false: 1}[tt.used] {
				t.Errorf("used the other process's token: %t (%d CreateToken calls), want %t", used, w.calls("CreateToken"), tt.used)
			}
		})
	}
}

// TestPyStringEdges: Python's json.dumps (ensure_ascii) at each edge:
// ' ' to '~' as they are, control characters and DEL to U+FFFF as one \u
// escape, U+10000 up as a surrogate pair (python3 -c 'import json;
// print(json.dumps("\x7f"))' prints "\u007f").
func TestPyStringEdges(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"\x1f", `"\u001f"`},
		{" ", `" "`},
		{"~", `"~"`},
		{"\x7f", `"\u007f"`},
		{"\u0080", `"\u0080"`},
		{"\u00e9", `"\u00e9"`},
		{"\uffff", `"\uffff"`},
		{"\U00010000", `"\ud800\udc00"`},
		{"\U0010ffff", `"\udbff\udfff"`},
		{"a\"b\\c\n\r\t\b\f", `"a\"b\\c\n\r\t\b\f"`},
	} {
		if got := pyString(tt.in); got != tt.want {
			t.Errorf("pyString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestLoginAtTheRefreshWindow: a token that cannot be refreshed (a legacy
// profile's) with exactly RefreshWindow left has a person sign in again; a
// second more and the login keeps it.
func TestLoginAtTheRefreshWindow(t *testing.T) {
	for _, tt := range []struct {
		name string
		left time.Duration
		how  string
	}{
		{"exactly 15 minutes left", RefreshWindow, LoginSignedIn},
		{"a second more", RefreshWindow + time.Second, LoginStillValid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			w.stopClockOnASecond()
			first, _, err := w.deviceLogin(Ref{Profile: "legacy"}, LoginOptions{}, false)
			if err != nil {
				t.Fatal(err)
			}
			if first.Token.RefreshToken != "" {
				t.Fatal("the legacy login can be refreshed")
			}
			w.sts.Advance(first.Token.ExpiresAt.Sub(w.sts.Now()) - tt.left)
			again, _, err := w.deviceLogin(Ref{Profile: "legacy"}, LoginOptions{}, false)
			if err != nil || again.How != tt.how {
				t.Errorf("login with %s left: %q, %v; want %q", tt.left, again.How, err, tt.how)
			}
		})
	}
}
