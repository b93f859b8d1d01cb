package sso

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

var awsCLITime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

// readJSON reads a cache file as the AWS CLI's json.load would.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %#o, want 0600", path, fi.Mode().Perm())
	}
	return m
}

// TestLoginAuthorizationCode signs in with the authorization code grant
// and PKCE, through a browser that allows: the token file and the client
// registration are the AWS CLI v2's, the portal takes the token, a second
// login keeps the valid token, and a forced one reuses the registration.
func TestLoginAuthorizationCode(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	res, err := Login(ctx, LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: w.browser("allow")}}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	if res.How != LoginSignedIn {
		t.Errorf("login: %s", res.How)
	}
	s := w.session(Ref{Session: "corp"})
	if filepath.Base(TokenPath(w.home, s)) != ststest.SSOTokenCacheFile("corp") {
		t.Errorf("token file %s, want the SHA-1 of the session name", TokenPath(w.home, s))
	}
	tok := readJSON(t, TokenPath(w.home, s))
	for _, k := range []string{"startUrl", "region", "accessToken", "expiresAt", "clientId", "clientSecret", "registrationExpiresAt", "refreshToken"} {
		if _, ok := tok[k].(string); !ok {
			t.Errorf("token file has no %s", k)
		}
	}
	if !awsCLITime.MatchString(tok["expiresAt"].(string)) || !awsCLITime.MatchString(tok["registrationExpiresAt"].(string)) {
		t.Errorf("times %v, %v are not the AWS CLI's format", tok["expiresAt"], tok["registrationExpiresAt"])
	}
	reg := readJSON(t, registrationPath(w.home, s))
	if g, _ := json.Marshal(reg["grantTypes"]); string(g) != `["authorization_code","refresh_token"]` {
		t.Errorf("registration grantTypes %s", g)
	}
	var register ststest.Call
	for _, c := range w.sts.Calls() {
		if c.Action == "RegisterClient" {
			register = c
		}
		if c.Action == "CreateToken" && c.Params["grantType"] != "authorization_code" {
			t.Errorf("CreateToken with grant %s", c.Params["grantType"])
		}
	}
	if register.Params["redirectUris"] != "http://127.0.0.1/oauth/callback" || register.Params["issuerUrl"] != ststest.DemoSSOStartURL ||
		register.Params["scopes"] != "sso:account:access" {
		t.Errorf("RegisterClient params %v", register.Params)
	}
	if _, accounts, err := ListAccounts(ctx, Ref{Profile: "dev"}, w.env()); err != nil || len(accounts) != 2 {
		t.Errorf("accounts: %v, %v", accounts, err)
	}

	again, err := Login(ctx, LoginRequest{Ref: Ref{Profile: "dev"}}, w.env())
	if err != nil || again.How != LoginStillValid || again.Token.AccessToken != res.Token.AccessToken {
		t.Errorf("second login: %+v, %v; want the valid token kept", again.How, err)
	}
	forced, err := Login(ctx, LoginRequest{Ref: Ref{Session: "corp"}, Force: true, LoginOptions: LoginOptions{Browser: w.browser("allow")}}, w.env())
	if err != nil || forced.Token.AccessToken == res.Token.AccessToken {
		t.Fatalf("forced login: %v", err)
	}
	if n := w.calls("RegisterClient"); n != 1 {
		t.Errorf("%d RegisterClient calls, want 1: the registration is cached", n)
	}
}

// TestLoginDeviceCode: a legacy profile signs in with a device code,
// polling through authorization_pending and slow_down until the person
// approves; its token file is named by the start URL, and without
// registration scopes there is no refresh token.
func TestLoginDeviceCode(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	var notes []string
	sleeps := 0
	opt := LoginOptions{
		Notify: func(msg string) { notes = append(notes, msg) },
		Sleep: func(_ context.Context, d time.Duration) error {
			sleeps++
			switch sleeps {
			case 1: // too soon: slow_down
			case 2:
				if d != 6*time.Second {
					t.Errorf("after slow_down the interval is %s, want 6s", d)
				}
				w.sts.Advance(d)
			default:
				w.sts.Advance(d)
				if _, err := w.sts.ApproveSSOLogin("", ststest.DemoSSOUser); err != nil && sleeps == 3 {
					t.Error(err)
				}
			}
			return nil
		},
	}
	res, err := Login(ctx, LoginRequest{Ref: Ref{Profile: "legacy"}, LoginOptions: opt}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) == 0 || !strings.Contains(notes[0], "enter the code") {
		t.Errorf("the person was not told the code: %q", notes)
	}
	s := w.session(Ref{Profile: "legacy"})
	if filepath.Base(TokenPath(w.home, s)) != ststest.SSOTokenCacheFile(ststest.DemoSSOStartURL) {
		t.Errorf("legacy token file %s, want the SHA-1 of the start URL", TokenPath(w.home, s))
	}
	if res.Token.RefreshToken != "" {
		t.Error("a legacy login got a refresh token")
	}
	for _, c := range w.sts.Calls() {
		if c.Action == "RegisterClient" && c.Params["grantTypes"] != "" {
			t.Errorf("a device client registered grant types %s", c.Params["grantTypes"])
		}
	}
	var errs []string
	for _, c := range w.sts.Calls() {
		if c.Action == "CreateToken" {
			errs = append(errs, c.Error)
		}
	}
	if strings.Join(errs, ",") != "AuthorizationPendingException,SlowDownException,AuthorizationPendingException," {
		t.Errorf("CreateToken answers %q", errs)
	}

	// An sso-session with --use-device-code: a device login that can be
	// refreshed.
	dev, err := Login(ctx, LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{UseDeviceCode: true,
		Sleep: w.advancingSleep(func(int) { _, _ = w.sts.ApproveSSOLogin("", ststest.DemoSSOUser) })}}, w.env())
	if err != nil || dev.Token.RefreshToken == "" {
		t.Errorf("device login of an sso-session: %v, refresh token %t", err, dev.Token.RefreshToken != "")
	}
}

// TestLoginDoesNotComplete: denied in the browser, left to expire, or
// nobody there before --timeout.
func TestLoginDoesNotComplete(t *testing.T) {
	tests := []struct {
		name    string
		ref     Ref
		opt     func(w *world) LoginOptions
		timeout time.Duration
		reason  string
	}{
		{"authorization code denied", Ref{Session: "corp"}, func(w *world) LoginOptions { return LoginOptions{Browser: w.browser("deny")} }, 0, LoginDenied},
		{"device code denied", Ref{Profile: "legacy"}, func(w *world) LoginOptions {
			return LoginOptions{Sleep: w.advancingSleep(func(int) { _, _ = w.sts.DenySSOLogin("") })}
		}, 0, LoginDenied},
		{"device code expired", Ref{Profile: "legacy"}, func(w *world) LoginOptions {
			return LoginOptions{Sleep: func(context.Context, time.Duration) error { w.sts.Advance(11 * time.Minute); return nil }}
		}, 0, LoginExpired},
		{"nobody opens the page", Ref{Session: "corp"}, func(*world) LoginOptions { return LoginOptions{} }, 200 * time.Millisecond, LoginTimedOut},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := Login(ctx, LoginRequest{Ref: tt.ref, LoginOptions: tt.opt(w)}, w.env())
			var le *LoginError
			if !errors.As(err, &le) || le.Reason != tt.reason {
				t.Fatalf("%v, want a LoginError %s", err, tt.reason)
			}
			if _, err := os.Stat(TokenPath(w.home, w.session(tt.ref))); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a token file was written: %v", err)
			}
		})
	}
}

// TestFreshRefreshesNearExpiry: within the refresh window the refresh
// token gets a new access token (once, however many processes ask), the
// file keeps what rolecall does not know, and a sign-in that was ended
// elsewhere needs a person.
func TestFreshRefreshesNearExpiry(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	first, err := Login(ctx, LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: w.browser("allow")}}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	s := first.Session
	path := TokenPath(w.home, s)
	// Another tool's field survives the refresh.
	obj := readJSON(t, path)
	obj["toolField"] = "kept"
	data, _ := json.Marshal(obj)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	c := w.client()
	if tok, err := c.Fresh(ctx, s); err != nil || tok.AccessToken != first.Token.AccessToken {
		t.Fatalf("a fresh token was not kept: %v", err)
	}
	w.sts.Advance(50 * time.Minute) // 10 minutes left: inside the window
	before := w.sts.Now()
	var wg sync.WaitGroup
	got := make([]Token, 16)
	errs := make([]error, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = w.client().Fresh(ctx, s)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i].AccessToken == first.Token.AccessToken || got[i].AccessToken != got[0].AccessToken {
			t.Fatalf("refresh %d: %v", i, errs[i])
		}
	}
	refreshes := 0
	for _, call := range w.sts.Calls() {
		if call.Action == "CreateToken" && call.Params["grantType"] == "refresh_token" {
			refreshes++
		}
	}
	if refreshes != 1 {
		t.Errorf("%d refresh calls for 16 processes, want 1", refreshes)
	}
	after := readJSON(t, path)
	if after["toolField"] != "kept" || after["refreshToken"] == obj["refreshToken"] || after["accessToken"] != got[0].AccessToken {
		t.Errorf("the refreshed file: toolField %v, refresh token rotated %t", after["toolField"], after["refreshToken"] != obj["refreshToken"])
	}
	// Bracketed on the emulator's clock (to the second it reports), not a
	// tolerance that load between the refresh and this check could exceed.
	earliest, latest := before.Add(time.Hour).Truncate(time.Second), w.sts.Now().Add(time.Hour)
	if exp := got[0].ExpiresAt; exp.Before(earliest) || exp.After(latest) {
		t.Errorf("refreshed token expires %s, want an hour after the refresh: between %s and %s", exp, earliest, latest)
	}

	// Signed out elsewhere (the portal's Logout ends the sign-in): once the
	// token runs out, a person is needed.
	if err := c.logout(ctx, s, got[0]); err != nil {
		t.Fatal(err)
	}
	w.sts.Advance(2 * time.Hour)
	_, err = c.Fresh(ctx, s)
	var lr *LoginRequiredError
	if !errors.As(err, &lr) || !strings.Contains(lr.Hint(), "rolecall login --sso-session corp") {
		t.Errorf("after the sign-in ended: %v", err)
	}
}

// TestRoleCredentialsErrors: a role without an assignment says which; a
// token the portal no longer takes needs a person.
func TestRoleCredentialsErrors(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	res, err := Login(ctx, LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: w.browser("allow")}}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	c := w.client()
	if _, err := c.RoleCredentials(ctx, res.Session, res.Token, ststest.DemoAccount, "ReadOnlyAccess"); err != nil {
		t.Fatal(err)
	}
	_, err = c.RoleCredentials(ctx, res.Session, res.Token, "210987654321", "AdministratorAccess")
	var na *NoAccessError
	if !errors.As(err, &na) || !strings.Contains(err.Error(), "AdministratorAccess in account 210987654321") {
		t.Errorf("no access: %v", err)
	}
	if _, err := Logout(ctx, LogoutRequest{Ref: Ref{Session: "corp"}, CacheDir: t.TempDir()}, w.env()); err != nil {
		t.Fatal(err)
	}
	_, err = c.RoleCredentials(ctx, res.Session, res.Token, ststest.DemoAccount, "ReadOnlyAccess")
	var lr *LoginRequiredError
	if !errors.As(err, &lr) {
		t.Errorf("after logout: %v", err)
	}
	if _, err := os.Stat(TokenPath(w.home, res.Session)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("logout left the token file: %v", err)
	}
	if _, err := os.Stat(registrationPath(w.home, res.Session)); err != nil {
		t.Errorf("logout removed the client registration: %v", err)
	}
}

func TestResolveSession(t *testing.T) {
	w := newWorld(t)
	for _, tt := range []struct {
		ref  Ref
		env  map[string]string
		want string
	}{
		{Ref{Session: "corp"}, nil, "corp"},
		{Ref{Profile: "dev"}, nil, "corp"},
		{Ref{}, map[string]string{"AWS_PROFILE": "dev"}, "corp"},
		{Ref{}, nil, "corp"}, // no default profile, one sso-session
		{Ref{Profile: "legacy"}, nil, ""},
	} {
		for k, v := range tt.env {
			w.vars[k] = v
		}
		s, err := ResolveSession(tt.ref, w.env())
		if err != nil || s.Name != tt.want || s.StartURL != ststest.DemoSSOStartURL {
			t.Errorf("%+v: %+v, %v", tt.ref, s, err)
		}
		for k := range tt.env {
			delete(w.vars, k)
		}
	}
	var ce *ConfigError
	if _, err := ResolveSession(Ref{Session: "nope"}, w.env()); !errors.As(err, &ce) {
		t.Errorf("unknown session: %v", err)
	}
	if _, err := ResolveSession(Ref{Session: "corp", Profile: "dev"}, w.env()); !errors.As(err, &ce) || !ce.Usage {
		t.Errorf("both named: %v", err)
	}
}
