package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const requestToken = "request-token-for-tests"

func TestGitHubTokenHandler(t *testing.T) {
	set, _ := fixtures(t)
	context := GitHubContext{Repository: "octo-org/octo-repo", Ref: "refs/heads/main"}
	var asked []string
	handler := GitHubTokenHandler(requestToken, func(audience string) (string, error) {
		asked = append(asked, audience)
		return set.Mint(GitHubIssuer, GitHubClaims(context, audience), testNow)
	})

	tests := []struct {
		name          string
		method        string
		authorization string
		query         url.Values
		wantStatus    int
		wantAsked     []string
		wantAudience  string // of the token returned, for 200 answers
		wantFailure   string // Verify's message for that token, "" for success
		wantChallenge string
	}{
		{
			name:          "no authorization",
			method:        http.MethodGet,
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: "Bearer",
		},
		{
			name:          "wrong bearer token",
			method:        http.MethodGet,
			authorization: "Bearer not-the-request-token",
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: `Bearer error="invalid_token"`,
		},
		{
			name:          "request token under another scheme",
			method:        http.MethodGet,
			authorization: "Basic " + requestToken,
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: "Bearer",
		},
		{
			name:          "empty bearer",
			method:        http.MethodGet,
			authorization: "Bearer ",
			wantStatus:    http.StatusUnauthorized,
			wantChallenge: "Bearer",
		},
		{
			name:          "POST",
			method:        http.MethodPost,
			authorization: "Bearer " + requestToken,
			wantStatus:    http.StatusMethodNotAllowed,
		},
		{
			name:          "audience for STS",
			method:        http.MethodGet,
			authorization: "Bearer " + requestToken,
			query:         url.Values{"audience": {stsAudience}},
			wantStatus:    http.StatusOK,
			wantAsked:     []string{stsAudience},
			wantAudience:  stsAudience,
		},
		{
			name:          "lower-case scheme as in GitHub's curl example",
			method:        http.MethodGet,
			authorization: "bearer " + requestToken,
			query:         url.Values{"audience": {stsAudience}},
			wantStatus:    http.StatusOK,
			wantAsked:     []string{stsAudience},
			wantAudience:  stsAudience,
		},
		{
			name:          "no audience gets the owner URL, which STS refuses",
			method:        http.MethodGet,
			authorization: "Bearer " + requestToken,
			wantStatus:    http.StatusOK,
			wantAsked:     []string{""},
			wantAudience:  "https://github.com/octo-org",
			wantFailure:   "Incorrect token audience",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			target := "/_ststest/github-token"
			if tt.query != nil {
				target += "?" + tt.query.Encode()
			}
			req := httptest.NewRequest(tt.method, target, nil)
			if tt.authorization != "" {
				req.Header.Set("Authorization", tt.authorization)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)

			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.wantChallenge)
			}
			if strings.Join(asked, ",") != strings.Join(tt.wantAsked, ",") || len(asked) != len(tt.wantAsked) {
				t.Errorf("mint called with audiences %q, want %q", asked, tt.wantAsked)
			}
			if tt.wantStatus != http.StatusOK {
				if strings.Contains(rec.Body.String(), requestToken) {
					t.Error("error body echoes the request token")
				}
				return
			}

			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("response is not a JSON object: %v", err)
			}
			if len(body) != 2 || string(body["count"]) != "1" {
				t.Errorf("response has fields %d and count %s, want exactly count 1 and value", len(body), body["count"])
			}
			var value string
			if err := json.Unmarshal(body["value"], &value); err != nil {
				t.Fatalf("value is not a string: %v", err)
			}

			payload := decodeSegment(t, segments(t, value)[1])
			if payload["aud"] != tt.wantAudience || payload["sub"] != "repo:octo-org/octo-repo:ref:refs/heads/main" {
				t.Errorf("token aud %v sub %v, want aud %s for repo:octo-org/octo-repo:ref:refs/heads/main", payload["aud"], payload["sub"], tt.wantAudience)
			}
			_, failure := set.Verify(value, testNow)
			switch {
			case tt.wantFailure == "" && failure != nil:
				t.Errorf("STS would refuse the token: %s", failure)
			case tt.wantFailure != "" && (failure == nil || failure.Message != tt.wantFailure):
				t.Errorf("Verify failure = %v, want %q", failure, tt.wantFailure)
			}
		})
	}
}

func TestGitHubTokenHandlerWithoutConfiguredToken(t *testing.T) {
	called := false
	handler := GitHubTokenHandler("", func(string) (string, error) {
		called = true
		return "x", nil
	})
	for _, auth := range []string{"Bearer ", "Bearer x"} {
		req := httptest.NewRequest(http.MethodGet, "/_ststest/github-token", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, rec.Code)
		}
	}
	if called {
		t.Error("mint called although no request token is configured")
	}
}

func TestGitHubTokenHandlerMintFailure(t *testing.T) {
	handler := GitHubTokenHandler(requestToken, func(string) (string, error) {
		return "", errors.New("no oidc provider https://token.actions.githubusercontent.com")
	})
	req := httptest.NewRequest(http.MethodGet, "/_ststest/github-token?audience=x", nil)
	req.Header.Set("Authorization", "Bearer "+requestToken)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if !strings.Contains(rec.Body.String(), "no oidc provider") {
		t.Errorf("body %q does not say why minting failed", rec.Body.String())
	}
}

func TestGitHubClaims(t *testing.T) {
	tests := []struct {
		name     string
		context  GitHubContext
		audience string
		want     map[string]any
	}{
		{
			name:     "push to main with defaults",
			context:  GitHubContext{Repository: "octo-org/octo-repo"},
			audience: stsAudience,
			want: map[string]any{
				"sub":              "repo:octo-org/octo-repo:ref:refs/heads/main",
				"aud":              stsAudience,
				"repository":       "octo-org/octo-repo",
				"repository_owner": "octo-org",
				"ref":              "refs/heads/main",
				"ref_type":         "branch",
				"run_id":           "1",
				"actor":            "octo-org",
				"workflow":         "CI",
				"event_name":       "push",
				"workflow_ref":     "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
				"job_workflow_ref": "octo-org/octo-repo/.github/workflows/ci.yml@refs/heads/main",
			},
		},
		{
			name: "tag push with every field given",
			context: GitHubContext{
				Repository: "octo-org/octo-repo", Ref: "refs/tags/v1.0.0", RunID: "5891843478",
				Actor: "octocat", Workflow: "Release Build", EventName: "push",
			},
			audience: stsAudience,
			want: map[string]any{
				"sub":              "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0",
				"ref_type":         "tag",
				"run_id":           "5891843478",
				"actor":            "octocat",
				"workflow":         "Release Build",
				"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release-build.yml@refs/tags/v1.0.0",
			},
		},
		{
			name:     "pull request",
			context:  GitHubContext{Repository: "octo-org/octo-repo", Ref: "refs/pull/7/merge", EventName: "pull_request", Workflow: "checks.yaml"},
			audience: stsAudience,
			want: map[string]any{
				"sub":          "repo:octo-org/octo-repo:pull_request",
				"ref":          "refs/pull/7/merge",
				"ref_type":     "",
				"event_name":   "pull_request",
				"workflow_ref": "octo-org/octo-repo/.github/workflows/checks.yaml@refs/pull/7/merge",
			},
		},
		{
			name:    "default audience is the owner URL",
			context: GitHubContext{Repository: "octo-org/octo-repo"},
			want:    map[string]any{"aud": "https://github.com/octo-org"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GitHubClaims(tt.context, tt.audience)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
		})
	}
}

func TestGitLabClaims(t *testing.T) {
	tests := []struct {
		name      string
		project   string
		ref       string
		audience  string
		want      map[string]any
		wantNoAud bool
	}{
		{
			name:     "group project",
			project:  "mygroup/myproject",
			ref:      "main",
			audience: "https://gitlab.example",
			want: map[string]any{
				"sub":            "project_path:mygroup/myproject:ref_type:branch:ref:main",
				"aud":            "https://gitlab.example",
				"project_path":   "mygroup/myproject",
				"namespace_path": "mygroup",
				"ref":            "main",
				"ref_type":       "branch",
				"ref_path":       "refs/heads/main",
			},
		},
		{
			name:      "subgroup project without audience",
			project:   "top/sub/proj",
			ref:       "release/1.x",
			want:      map[string]any{"sub": "project_path:top/sub/proj:ref_type:branch:ref:release/1.x", "namespace_path": "top/sub"},
			wantNoAud: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GitLabClaims(tt.project, tt.ref, tt.audience)
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("%s = %#v, want %#v", k, got[k], want)
				}
			}
			if _, has := got["aud"]; has == tt.wantNoAud {
				t.Errorf("aud present = %v, want %v", has, !tt.wantNoAud)
			}
		})
	}
}
