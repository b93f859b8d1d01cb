package ststest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
	"github.com/aws/smithy-go"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// oidcClient is the SDK's SSO OIDC client pointed at the emulator, retries
// off, answers read whole (wholeAnswers).
func oidcClient(t *testing.T, s *ststest.Server) *ssooidc.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(ststest.DemoSSORegion),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return ssooidc.NewFromConfig(cfg, func(o *ssooidc.Options) {
		o.BaseEndpoint = aws.String(s.URL())
		o.HTTPClient = wholeAnswers{s: s, next: o.HTTPClient}
	})
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// portalWorks reports whether the portal takes an access token.
func portalWorks(t *testing.T, s *ststest.Server, token string) bool {
	t.Helper()
	_, err := ssoClient(t, s).ListAccounts(context.Background(), &sso.ListAccountsInput{AccessToken: aws.String(token)})
	return err == nil
}

// TestSSOOIDCDeviceFlow: a device login is pending, too fast a poll is
// slow_down, the person approves through the test control, the tokens work
// at the portal, the device code works once, and a refresh token turns
// into a new access token while the old refresh token stops working.
func TestSSOOIDCDeviceFlow(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := oidcClient(t, s)
	reg, err := c.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("rolecall-test"), ClientType: aws.String("public"), Scopes: []string{"sso:account:access"}})
	if err != nil {
		t.Fatal(err)
	}
	if reg.ClientSecretExpiresAt-reg.ClientIdIssuedAt != 90*24*3600 {
		t.Errorf("client secret lasts %d s, want 90 days", reg.ClientSecretExpiresAt-reg.ClientIdIssuedAt)
	}
	if _, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: aws.String("wrong"), StartUrl: aws.String(ststest.DemoSSOStartURL)}); errorCode(err) != "InvalidClientException" {
		t.Fatalf("wrong secret: %v", err)
	}
	dev, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(ststest.DemoSSOStartURL)})
	if err != nil {
		t.Fatal(err)
	}
	if dev.ExpiresIn != 600 || dev.Interval != 1 || !strings.HasSuffix(aws.ToString(dev.VerificationUriComplete), "?user_code="+aws.ToString(dev.UserCode)) {
		t.Errorf("device authorization %+v", dev)
	}
	poll := func() (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: dev.DeviceCode})
	}
	_, err = poll()
	var pending *oidctypes.AuthorizationPendingException
	if !errors.As(err, &pending) || aws.ToString(pending.Error_) != "authorization_pending" {
		t.Fatalf("first poll: %v, want authorization_pending", err)
	}
	var slow *oidctypes.SlowDownException
	if _, err := poll(); !errors.As(err, &slow) {
		t.Fatalf("poll at once again: %v, want slow_down", err)
	}
	pendingLogins := s.PendingSSOLogins()
	if len(pendingLogins) != 1 || pendingLogins[0].Code != aws.ToString(dev.UserCode) || pendingLogins[0].Grant != "device_code" {
		t.Fatalf("pending logins %+v", pendingLogins)
	}
	if _, err := s.ApproveSSOLogin("", ststest.DemoSSOUser); err != nil {
		t.Fatal(err)
	}
	s.Advance(7 * time.Second) // one interval plus the slow_down step
	tok, err := poll()
	if err != nil {
		t.Fatalf("after approval: %v", err)
	}
	if tok.ExpiresIn != 3600 || aws.ToString(tok.RefreshToken) == "" || aws.ToString(tok.TokenType) != "Bearer" {
		t.Errorf("token answer: expiresIn %d, refresh token %t", tok.ExpiresIn, tok.RefreshToken != nil)
	}
	if !portalWorks(t, s, aws.ToString(tok.AccessToken)) {
		t.Fatal("the portal refuses the OIDC access token")
	}
	s.Advance(2 * time.Second)
	var invalidGrant *oidctypes.InvalidGrantException
	if _, err := poll(); !errors.As(err, &invalidGrant) {
		t.Errorf("a used device code: %v, want invalid_grant", err)
	}

	refresh := func(rt *string) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("refresh_token"), RefreshToken: rt})
	}
	s.Advance(time.Hour)
	if portalWorks(t, s, aws.ToString(tok.AccessToken)) {
		t.Error("the portal takes an access token an hour old")
	}
	again, err := refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if !portalWorks(t, s, aws.ToString(again.AccessToken)) || aws.ToString(again.RefreshToken) == aws.ToString(tok.RefreshToken) {
		t.Error("refresh did not give a working access token and a new refresh token")
	}
	if _, err := refresh(tok.RefreshToken); !errors.As(err, &invalidGrant) {
		t.Errorf("the old refresh token: %v, want invalid_grant", err)
	}
	// Logout ends the sign-in: the refresh token goes with it.
	if _, err := ssoClient(t, s).Logout(ctx, &sso.LogoutInput{AccessToken: again.AccessToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(again.RefreshToken); !errors.As(err, &invalidGrant) {
		t.Errorf("refresh after logout: %v, want invalid_grant", err)
	}
	for _, call := range s.Calls() {
		for k := range call.Params {
			if k == "clientSecret" || k == "deviceCode" || k == "refreshToken" {
				t.Errorf("%s logged %s", call.Action, k)
			}
		}
	}
}

// TestSSOOIDCDeviceDeniedAndExpired: a denied login is access_denied; one
// nobody decides is expired_token after ten minutes.
func TestSSOOIDCDeviceDeniedAndExpired(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := oidcClient(t, s)
	reg, err := c.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("legacy"), ClientType: aws.String("public")})
	if err != nil {
		t.Fatal(err)
	}
	start := func() *ssooidc.StartDeviceAuthorizationOutput {
		dev, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(ststest.DemoSSOStartURL)})
		if err != nil {
			t.Fatal(err)
		}
		return dev
	}
	poll := func(dev *ssooidc.StartDeviceAuthorizationOutput) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("urn:ietf:params:oauth:grant-type:device_code"), DeviceCode: dev.DeviceCode})
	}
	denied := start()
	if _, err := s.DenySSOLogin(aws.ToString(denied.UserCode)); err != nil {
		t.Fatal(err)
	}
	var accessDenied *oidctypes.AccessDeniedException
	if _, err := poll(denied); !errors.As(err, &accessDenied) {
		t.Errorf("denied: %v, want access_denied", err)
	}
	expired := start()
	s.Advance(11 * time.Minute)
	var expiredErr *oidctypes.ExpiredTokenException
	if _, err := poll(expired); !errors.As(err, &expiredErr) {
		t.Errorf("undecided for 11 minutes: %v, want expired_token", err)
	}
	// A client registered without scopes (the AWS CLI's legacy profiles)
	// gets no refresh token, and an access token for the whole session.
	legacy := start()
	if _, err := s.ApproveSSOLogin(aws.ToString(legacy.UserCode), ststest.DemoSSOUser); err != nil {
		t.Fatal(err)
	}
	tok, err := poll(legacy)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != nil || tok.ExpiresIn != 8*3600 {
		t.Errorf("legacy login: refresh token %v, expiresIn %d", tok.RefreshToken, tok.ExpiresIn)
	}
}

// TestSSOOIDCAuthorizationCodeFlow: the PKCE flow as the AWS CLI runs it,
// with the browser's part played by an http.Client that posts the consent
// form and stops at the loopback redirect.
func TestSSOOIDCAuthorizationCodeFlow(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := oidcClient(t, s)
	if _, err := c.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("x"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectUris: []string{"https://example.com/cb"}, IssuerUrl: aws.String(ststest.DemoSSOStartURL)}); errorCode(err) != "InvalidRedirectUriException" {
		t.Errorf("a redirect off the loopback: %v", err)
	}
	reg, err := c.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("rolecall-client-corp"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl: aws.String(ststest.DemoSSOStartURL), Scopes: []string{"sso:account:access"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret, StartUrl: aws.String(ststest.DemoSSOStartURL)}); errorCode(err) != "UnauthorizedClientException" {
		t.Errorf("device flow with an authorization code client: %v", err)
	}
	verifier := strings.Repeat("abcdefgh", 8)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://127.0.0.1:49152/oauth/callback"
	authorize := func(decision string) *url.URL {
		q := url.Values{"response_type": {"code"}, "client_id": {aws.ToString(reg.ClientId)}, "redirect_uri": {redirect},
			"state": {"state-1"}, "code_challenge_method": {"S256"}, "scopes": {"sso:account:access"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.PostForm(s.URL()+"/authorize?"+q.Encode(), url.Values{"user": {ststest.DemoSSOUser}, "decision": {decision}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("authorize answered %d", resp.StatusCode)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Host != "127.0.0.1:49152" || loc.Query().Get("state") != "state-1" {
			t.Fatalf("redirect %v", loc)
		}
		return loc
	}
	if loc := authorize("deny"); loc.Query().Get("error") != "access_denied" {
		t.Errorf("deny redirected to %s", loc)
	}
	code := authorize("allow").Query().Get("code")
	exchange := func(verifier, redirect string) (*ssooidc.CreateTokenOutput, error) {
		return c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
			GrantType: aws.String("authorization_code"), Code: aws.String(code), CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect)})
	}
	if _, err := exchange(strings.Repeat("x", 64), redirect); errorCode(err) != "InvalidGrantException" {
		t.Errorf("wrong verifier: %v", err)
	}
	if _, err := exchange(verifier, "http://127.0.0.1:1/oauth/callback"); errorCode(err) != "InvalidGrantException" {
		t.Errorf("another redirect URI: %v", err)
	}
	tok, err := exchange(verifier, redirect)
	if err != nil {
		t.Fatal(err)
	}
	if !portalWorks(t, s, aws.ToString(tok.AccessToken)) || tok.RefreshToken == nil {
		t.Error("the code flow's tokens do not work")
	}
	if _, err := exchange(verifier, redirect); errorCode(err) != "InvalidGrantException" {
		t.Errorf("a code used twice: %v", err)
	}
}

// TestSSOLoginControlRoute: without a browser, a pending authorization code
// request is listed and approved through the admin route, which answers
// the redirect carrying the code; the code then gets a token.
func TestSSOLoginControlRoute(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := oidcClient(t, s)
	reg, err := c.RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("headless"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl: aws.String(ststest.DemoSSOStartURL), Scopes: []string{"sso:account:access"}})
	if err != nil {
		t.Fatal(err)
	}
	verifier := strings.Repeat("0123456789", 5)
	sum := sha256.Sum256([]byte(verifier))
	redirect := "http://127.0.0.1:1234/oauth/callback"
	q := url.Values{"response_type": {"code"}, "client_id": {aws.ToString(reg.ClientId)}, "redirect_uri": {redirect}, "state": {"s"},
		"code_challenge_method": {"S256"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
	page, err := http.Get(s.URL() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	_ = page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(string(body), "Allow headless to access your data?") {
		t.Fatalf("authorize page %d: %s", page.StatusCode, body)
	}
	waiting, err := s.WaitSSOLogin(ctx)
	if err != nil || waiting.Grant != "authorization_code" || waiting.Client != "headless" {
		t.Fatalf("waiting login %+v, %v", waiting, err)
	}
	resp, err := http.Post(s.URL()+"/_ststest/sso-login?decision=allow&user="+url.QueryEscape(ststest.DemoSSOUser), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ Redirect string }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, err := url.Parse(answer.Redirect)
	if err != nil || !strings.HasPrefix(answer.Redirect, redirect+"?") || loc.Query().Get("state") != "s" {
		t.Fatalf("redirect %q", answer.Redirect)
	}
	tok, err := c.CreateToken(ctx, &ssooidc.CreateTokenInput{ClientId: reg.ClientId, ClientSecret: reg.ClientSecret,
		GrantType: aws.String("authorization_code"), Code: aws.String(loc.Query().Get("code")), CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect)})
	if err != nil || !portalWorks(t, s, aws.ToString(tok.AccessToken)) {
		t.Fatalf("token from the approved code: %v", err)
	}
	if left := s.PendingSSOLogins(); len(left) != 0 {
		t.Errorf("still waiting: %+v", left)
	}
}
