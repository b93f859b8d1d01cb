package ststest_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestDocAuthorizationWaitsForAuthorizeGET runs what docs/ststest.md says
// of a headless approval (issue 23, item 13): an authorization code
// sign-in is there to decide only once its /authorize URL was opened; the
// admin path lists [] and answers 409 before.
func TestDocAuthorizationWaitsForAuthorizeGET(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	reg, err := oidcClient(t, s).RegisterClient(ctx, &ssooidc.RegisterClientInput{ClientName: aws.String("headless"), ClientType: aws.String("public"),
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectUris: []string{"http://127.0.0.1/oauth/callback"},
		IssuerUrl: aws.String(ststest.DemoSSOStartURL), Scopes: []string{"sso:account:access"}})
	if err != nil {
		t.Fatal(err)
	}
	control := func(method string) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, s.URL()+"/_ststest/sso-login?decision=allow&user="+url.QueryEscape(ststest.DemoSSOUser), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	if code, body := control(http.MethodGet); code != http.StatusOK || body != "[]" {
		t.Errorf("before any GET of /authorize the list is %d %s, want []", code, body)
	}
	if code, _ := control(http.MethodPost); code != http.StatusConflict {
		t.Errorf("deciding before any GET of /authorize answered %d, want 409", code)
	}
	sum := sha256.Sum256([]byte(strings.Repeat("v", 50)))
	q := url.Values{"response_type": {"code"}, "client_id": {aws.ToString(reg.ClientId)}, "redirect_uri": {"http://127.0.0.1:1234/oauth/callback"},
		"state": {"s"}, "code_challenge_method": {"S256"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}
	page, err := http.Get(s.URL() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, page.Body)
	_ = page.Body.Close()
	if code, body := control(http.MethodGet); code != http.StatusOK || !strings.Contains(body, `"authorization_code"`) {
		t.Errorf("after the GET the list is %d %s, want the sign-in", code, body)
	}
	if code, body := control(http.MethodPost); code != http.StatusOK || !strings.Contains(body, "code=") {
		t.Errorf("deciding after the GET answered %d %s, want the redirect", code, body)
	}
}

// TestDocRequestSkewMovesCredentialClock runs what docs/ststest.md says of
// the two clocks (issue 23, item 13): the request clock's skew moves the
// credential clock too, as STS has one clock; advances move only the
// credential clock.
func TestDocRequestSkewMovesCredentialClock(t *testing.T) {
	s := newServer(t)
	near := func(got time.Time, want time.Duration) bool {
		d := time.Until(got) - want
		return d > -time.Minute && d < time.Minute
	}
	s.SetRequestClockSkew(2 * time.Hour)
	if now := s.Now(); !near(now, 2*time.Hour) {
		t.Errorf("with a 2h request skew the credential clock is %s from now, want 2h", time.Until(now).Round(time.Second))
	}
	s.Advance(time.Hour)
	if now := s.Now(); !near(now, 3*time.Hour) {
		t.Errorf("after a 1h advance the credential clock is %s from now, want 3h", time.Until(now).Round(time.Second))
	}
}
