package ststest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// githubToken fetches a token from the emulator's GitHub endpoint as the
// Actions toolkit does: GET with the request token as bearer.
func githubToken(t *testing.T, s *ststest.Server, bearer, audience string) (int, string) {
	t.Helper()
	u := s.URL() + "/_ststest/github-token"
	if audience != "" {
		u += "?audience=" + audience
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode token response: %v", err)
	}
	return resp.StatusCode, body.Value
}

// anonymous is an STS client that does not sign, as a CI job has no AWS
// credentials before AssumeRoleWithWebIdentity.
func anonymous(t *testing.T, s *ststest.Server) *sts.Client {
	t.Helper()
	return client(t, s, "", "", "", func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} })
}

func TestGitHubFlow(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()

	status, token := githubToken(t, s, ststest.DemoGitHubRequestToken, "sts.amazonaws.com")
	if status != http.StatusOK || strings.Count(token, ".") != 2 {
		t.Fatalf("github-token answered %d with a token of %d parts", status, strings.Count(token, ".")+1)
	}
	out, err := anonymous(t, s).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(ststest.DemoRoleARN("ci-deploy")),
		RoleSessionName:  aws.String("github-run-1"),
		WebIdentityToken: aws.String(token),
	})
	if err != nil {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}
	checkCredentials(t, s, out.Credentials, time.Hour)
	checkTokenSize(t, out.Credentials, out.SessionTokenSize, out.SessionTokenUtilization)
	for name, pair := range map[string][2]string{
		"SubjectFromWebIdentityToken": {aws.ToString(out.SubjectFromWebIdentityToken), "repo:example/app:ref:refs/heads/main"},
		"Audience":                    {aws.ToString(out.Audience), "sts.amazonaws.com"},
		"Provider":                    {aws.ToString(out.Provider), "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"},
		"AssumedRoleUser.Arn":         {aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/ci-deploy/github-run-1"},
	} {
		if pair[0] != pair[1] {
			t.Errorf("%s = %q, want %q", name, pair[0], pair[1])
		}
	}
	call := lastCall(t, s, "AssumeRoleWithWebIdentity")
	if call.Params["WebIdentityToken"] != "<redacted>" || call.Caller != "" || call.Error != "" {
		t.Errorf("logged %+v, want the token redacted, no caller, no error", call)
	}
	id, err := with(t, s, out.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != aws.ToString(out.AssumedRoleUser.Arn) {
		t.Fatalf("GetCallerIdentity with web identity credentials: %v %s", err, aws.ToString(id.Arn))
	}
	// The session is the ci-deploy role, which demo does not trust.
	_, err = with(t, s, out.Credentials).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("from-ci"),
	})
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden,
		"User: arn:aws:sts::123456789012:assumed-role/ci-deploy/github-run-1 is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/demo")
}

func TestGitHubTokenEndpoint(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name   string
		bearer string
		status int
	}{
		{"no bearer", "", http.StatusUnauthorized},
		{"wrong bearer", "not-the-request-token", http.StatusUnauthorized},
		{"request token", ststest.DemoGitHubRequestToken, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, _ := githubToken(t, s, tt.bearer, "sts.amazonaws.com"); status != tt.status {
				t.Errorf("status %d, want %d", status, tt.status)
			}
		})
	}

	status, body := get(t, s.URL()+"/_ststest/oidc/jwks?issuer="+ststest.DemoGitHubIssuer)
	var jwks struct {
		Keys []struct{ Kty, Kid, Alg string }
	}
	if err := json.Unmarshal([]byte(body), &jwks); status != http.StatusOK || err != nil ||
		len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" {
		t.Errorf("jwks %d %s (%v), want one RS256 RSA key", status, body, err)
	}
	if status, _ := get(t, s.URL()+"/_ststest/oidc/jwks?issuer=https://unknown.example"); status != http.StatusNotFound {
		t.Errorf("jwks of an unknown issuer: status %d, want 404", status)
	}
}

func TestAssumeRoleWithWebIdentityErrors(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	mint := func(claims map[string]any) string {
		t.Helper()
		tok, err := s.WebIdentityToken(ststest.DemoGitHubIssuer, claims)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := map[string]any{"sub": "repo:example/app:ref:refs/heads/main", "aud": "sts.amazonaws.com"}
	_, audToken := githubToken(t, s, ststest.DemoGitHubRequestToken, "other-audience")

	tests := []struct {
		name     string
		role     string
		token    func() string
		duration *int32
		code     string
		status   int
		msg      string
	}{
		{name: "minted token", role: "ci-deploy", token: func() string { return mint(good) }},
		{name: "another ref of the repository", role: "ci-deploy",
			token: func() string {
				return mint(map[string]any{"sub": "repo:example/app:pull_request", "aud": "sts.amazonaws.com"})
			}},
		{name: "another repository", role: "ci-deploy",
			token: func() string {
				return mint(map[string]any{"sub": "repo:example/other:ref:refs/heads/main", "aud": "sts.amazonaws.com"})
			},
			code: "AccessDenied", status: 403, msg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "role without web identity trust", role: "demo", token: func() string { return mint(good) },
			code: "AccessDenied", status: 403, msg: "Not authorized to perform sts:AssumeRoleWithWebIdentity"},
		{name: "audience the provider does not accept", role: "ci-deploy", token: func() string { return audToken },
			code: "InvalidIdentityToken", status: 400, msg: "Incorrect token audience"},
		{name: "expired token", role: "ci-deploy",
			token: func() string {
				tok := mint(good)
				s.Advance(2 * time.Hour)
				return tok
			},
			code: "ExpiredTokenException", status: 400, msg: "Token expired: current date/time "},
		{name: "tampered token", role: "ci-deploy",
			token: func() string {
				tok := mint(good)
				parts := strings.Split(tok, ".")
				return parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
			},
			code: "InvalidIdentityToken", status: 400},
		{name: "not a JWT", role: "ci-deploy", token: func() string { return "not-a-jwt" },
			code: "InvalidIdentityToken", status: 400, msg: "The ID Token provided is not a valid JWT."},
		{name: "duration over the role's maximum", role: "ci-deploy", token: func() string { return mint(good) }, duration: aws.Int32(7200),
			code: "ValidationError", status: 400, msg: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."},
		{name: "token too short", role: "ci-deploy", token: func() string { return "abc" },
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must have length greater than or equal to 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token()
			_, err := anonymous(t, s).AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
				RoleArn:          aws.String(ststest.DemoRoleARN(tt.role)),
				RoleSessionName:  aws.String("ci"),
				WebIdentityToken: aws.String(token),
				DurationSeconds:  tt.duration,
			})
			if tt.code == "" {
				if err != nil {
					t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
				}
				return
			}
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
			if strings.Contains(apiMessage(err), token) {
				t.Error("the error message repeats the token")
			}
			if c := lastCall(t, s, "AssumeRoleWithWebIdentity"); c.Error != tt.code {
				t.Errorf("logged error %q, want %s", c.Error, tt.code)
			}
		})
	}
}

// get fetches a URL and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
