package ststest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// httpGet fetches a URL with the client and returns the status, the body
// and the final URL.
func httpGet(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body), resp.Request.URL.String()
}

// sessionJSON is the Session parameter for credentials, as the IAM User
// Guide builds it.
func sessionJSON(t *testing.T, c *types.Credentials) string {
	t.Helper()
	data, err := json.Marshal(map[string]string{
		"sessionId":    aws.ToString(c.AccessKeyId),
		"sessionKey":   aws.ToString(c.SecretAccessKey),
		"sessionToken": aws.ToString(c.SessionToken),
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// getSigninToken asks the federation endpoint for a sign-in token; extra
// holds SessionDuration when given. It returns the token, or "" and the
// status and page of a refusal.
func getSigninToken(t *testing.T, s *ststest.Server, session string, extra url.Values) (string, int, string) {
	t.Helper()
	q := url.Values{"Action": {"getSigninToken"}, "Session": {session}}
	for k, v := range extra {
		q[k] = v
	}
	status, body, _ := httpGet(t, http.DefaultClient, s.URL()+"/federation?"+q.Encode())
	if status != http.StatusOK {
		return "", status, body
	}
	var out map[string]string
	if err := json.Unmarshal([]byte(body), &out); err != nil || out["SigninToken"] == "" || len(out) != 1 {
		t.Fatalf("getSigninToken answered %s", body)
	}
	return out["SigninToken"], status, body
}

// loginURL is the sign-in URL for a token, with the emulator's console as
// the destination.
func loginURL(s *ststest.Server, token string) string {
	return s.URL() + "/federation?" + url.Values{
		"Action":      {"login"},
		"Issuer":      {"https://broker.example.com/"},
		"Destination": {s.URL() + "/console/home?region=us-east-1"},
		"SigninToken": {token},
	}.Encode()
}

// browser is an HTTP client with a cookie jar, as a browser following the
// sign-in URL.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func TestFederationSignIn(t *testing.T) {
	s := newServer(t)
	role := assumeRoleNamed(t, alice(t, s), "demo", "web")

	token, status, body := getSigninToken(t, s, sessionJSON(t, role.Credentials), url.Values{"SessionDuration": {"43200"}})
	if token == "" {
		t.Fatalf("getSigninToken for a role session: %d %s", status, body)
	}
	b := browser(t)
	status, page, final := httpGet(t, b, loginURL(s, token))
	if status != http.StatusOK || !strings.HasPrefix(final, s.URL()+"/console/home") {
		t.Fatalf("login ended at %s with %d: %s", final, status, page)
	}
	if !strings.Contains(page, "Signed in as assumed-role/demo/web (arn:aws:sts::123456789012:assumed-role/demo/web) in account 123456789012") {
		t.Errorf("console page %s", page)
	}
	// The console session lasts SessionDuration, not the credentials' hour.
	s.Advance(2 * time.Hour)
	if status, page, _ := httpGet(t, b, s.URL()+"/console"); status != http.StatusOK {
		t.Errorf("console after 2h of a 12h console session: %d %s", status, page)
	}
	s.Advance(11 * time.Hour)
	if status, _, _ := httpGet(t, b, s.URL()+"/console"); status != http.StatusUnauthorized {
		t.Errorf("console after its session ended: %d, want 401", status)
	}
	if status, _, _ := httpGet(t, browser(t), s.URL()+"/console"); status != http.StatusUnauthorized {
		t.Errorf("console without signing in: %d, want 401", status)
	}

	// The token is single use.
	status, page, _ = httpGet(t, browser(t), loginURL(s, token))
	if status != http.StatusBadRequest || !strings.Contains(page, "already been used") {
		t.Errorf("second login with one token: %d %s", status, page)
	}

	var logged []string
	for _, c := range s.Calls() {
		if c.Service == ststest.ServiceSignin {
			logged = append(logged, c.Action+":"+c.Error)
			if c.Params["Session"] == sessionJSON(t, role.Credentials) || strings.Contains(c.Params["SigninToken"], token) {
				t.Errorf("a secret reached the call log: %+v", c)
			}
			if c.Caller != "arn:aws:sts::123456789012:assumed-role/demo/web" {
				t.Errorf("caller %q", c.Caller)
			}
		}
	}
	if strings.Join(logged, " ") != "getSigninToken: login: login:UsedSigninToken" {
		t.Errorf("logged %v", logged)
	}
}

func TestFederationSignInSessions(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		creds    func(t *testing.T, s *ststest.Server) *types.Credentials
		duration string // SessionDuration, if any
		wantOK   bool
		code     string // the call log's reason for a refusal
		identity string // on the console page
	}{
		{
			name: "role session",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				return assumeRoleNamed(t, alice(t, s), "demo", "web").Credentials
			},
			wantOK:   true,
			identity: "assumed-role/demo/web",
		},
		{
			name: "role session with a 15-minute console",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				return assumeRoleNamed(t, alice(t, s), "demo", "web").Credentials
			},
			duration: "900",
			wantOK:   true,
			identity: "assumed-role/demo/web",
		},
		{
			name: "SessionDuration out of range",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				return assumeRoleNamed(t, alice(t, s), "demo", "web").Credentials
			},
			duration: "43201",
			code:     "InvalidSessionDuration",
		},
		{
			name:     "chained role session",
			creds:    chainedCredentials,
			wantOK:   true,
			identity: "assumed-role/chained/hop2",
		},
		{
			name:     "chained role session with SessionDuration",
			creds:    chainedCredentials,
			duration: "3600",
			code:     "SessionDurationNotAllowed",
		},
		{
			name: "federated user",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				return federate(t, alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("bob"), Policy: aws.String(readOnlyPolicy)}).Credentials
			},
			wantOK:   true,
			identity: "federated-user/bob",
		},
		{
			name: "federated user with SessionDuration",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				return federate(t, alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("bob")}).Credentials
			},
			duration: "3600",
			code:     "SessionDurationNotAllowed",
		},
		{
			name: "Identity Center role session",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				out, err := ssoClient(t, s).GetRoleCredentials(ctx, (&ssoRequest{ststest.DemoSSOAccessToken, ststest.DemoAccount, "ReadOnlyAccess"}).input())
				if err != nil {
					t.Fatal(err)
				}
				return stsCredentials(out.RoleCredentials)
			},
			duration: "7200",
			wantOK:   true,
			identity: "assumed-role/AWSReservedSSO_ReadOnlyAccess_",
		},
		{
			name: "GetSessionToken session",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				out, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
				if err != nil {
					t.Fatal(err)
				}
				return out.Credentials
			},
			code: "UnsupportedCredentials",
		},
		{
			name: "expired role session",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				out := assume(t, alice(t, s), &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")),
					RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900)})
				s.Advance(16 * time.Minute)
				return out.Credentials
			},
			code: "ExpiredSession",
		},
		{
			name: "credentials the emulator did not issue",
			creds: func(t *testing.T, s *ststest.Server) *types.Credentials {
				c := *assumeRoleNamed(t, alice(t, s), "demo", "web").Credentials
				c.SecretAccessKey = aws.String("not-the-secret")
				return &c
			},
			code: "InvalidSession",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			var extra url.Values
			if tt.duration != "" {
				extra = url.Values{"SessionDuration": {tt.duration}}
			}
			token, status, body := getSigninToken(t, s, sessionJSON(t, tt.creds(t, s)), extra)
			call := lastCall(t, s, "getSigninToken")
			if !tt.wantOK {
				if token != "" || status != http.StatusBadRequest || !strings.Contains(body, "Invalid credentials parameter") {
					t.Errorf("got %d %s, want 400 Invalid credentials parameter", status, body)
				}
				if call.Error != tt.code {
					t.Errorf("logged reason %q, want %s", call.Error, tt.code)
				}
				return
			}
			if token == "" {
				t.Fatalf("refused with %d: %s (logged %s)", status, body, call.Error)
			}
			status, page, _ := httpGet(t, browser(t), loginURL(s, token))
			if status != http.StatusOK || !strings.Contains(page, "Signed in as "+tt.identity) {
				t.Errorf("console %d: %s", status, page)
			}
		})
	}
}

// chainedCredentials assumes demo and then, with its session, chained.
func chainedCredentials(t *testing.T, s *ststest.Server) *types.Credentials {
	t.Helper()
	first := assumeRoleNamed(t, alice(t, s), "demo", "hop1")
	return assumeRoleNamed(t, with(t, s, first.Credentials), "chained", "hop2").Credentials
}

// ssoRequest is a GetRoleCredentials request.
type ssoRequest struct{ token, account, role string }

func (r *ssoRequest) input() *sso.GetRoleCredentialsInput {
	return &sso.GetRoleCredentialsInput{AccessToken: aws.String(r.token), AccountId: aws.String(r.account), RoleName: aws.String(r.role)}
}

func TestFederationRefusals(t *testing.T) {
	s := newServer(t)
	role := assumeRoleNamed(t, alice(t, s), "demo", "web")
	creds := role.Credentials

	// The Session keys are exactly sessionId, sessionKey, sessionToken.
	wrongKeys := `{"SessionId":"` + aws.ToString(creds.AccessKeyId) + `","SessionKey":"` + aws.ToString(creds.SecretAccessKey) +
		`","SessionToken":"` + aws.ToString(creds.SessionToken) + `"}`
	for name, session := range map[string]string{"capitalised keys": wrongKeys, "not JSON": "nope", "empty": ""} {
		if token, status, _ := getSigninToken(t, s, session, nil); token != "" || status != http.StatusBadRequest {
			t.Errorf("%s: token %q, status %d; want a refusal", name, token, status)
		}
	}

	// A sign-in token lasts 15 minutes.
	token, _, _ := getSigninToken(t, s, sessionJSON(t, creds), nil)
	s.Advance(15 * time.Minute)
	if status, page, _ := httpGet(t, browser(t), loginURL(s, token)); status != http.StatusBadRequest || !strings.Contains(page, "expired") {
		t.Errorf("login 15 minutes on: %d %s", status, page)
	}
	if c := lastCall(t, s, "login"); c.Error != "ExpiredSigninToken" {
		t.Errorf("logged %q", c.Error)
	}

	fresh := assumeRoleNamed(t, alice(t, s), "demo", "web2").Credentials
	token, _, _ = getSigninToken(t, s, sessionJSON(t, fresh), nil)
	for name, u := range map[string]string{
		"unknown token":  loginURL(s, "not-a-token"),
		"no destination": s.URL() + "/federation?" + url.Values{"Action": {"login"}, "SigninToken": {token}}.Encode(),
		"unknown action": s.URL() + "/federation?Action=logout",
	} {
		if status, _, _ := httpGet(t, browser(t), u); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, status)
		}
	}
	// The refused login did not spend the token.
	if status, page, _ := httpGet(t, browser(t), loginURL(s, token)); status != http.StatusOK {
		t.Errorf("login after a refused one: %d %s", status, page)
	}
}
