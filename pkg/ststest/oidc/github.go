package oidc

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
)

// GitHubIssuer is the iss of GitHub Actions' ID tokens on github.com.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// GitLabIssuer is the iss of GitLab.com's CI ID tokens.
const GitLabIssuer = "https://gitlab.com"

// GitHubContext describes the workflow run a GitHub Actions token speaks for.
// Empty fields take the defaults GitHubClaims documents.
type GitHubContext struct {
	Repository string // "ORG/REPO"; required
	Ref        string // full ref, "refs/heads/main" by default
	RunID      string // "1" by default
	Actor      string // the repository owner by default
	Workflow   string // workflow name, "CI" by default
	EventName  string // "push" by default
}

// GitHubClaims returns the claims of a GitHub Actions ID token for c, ready
// for Set.Mint with GitHubIssuer (which fills iss, iat, nbf, exp and jti).
// The claim set follows GitHub's "OpenID Connect reference"
// (docs.github.com/en/actions/reference/security/oidc):
//
//   - sub is "repo:ORG/REPO:ref:REF", or "repo:ORG/REPO:pull_request" for a
//     pull_request event, as GitHub builds it for a job without an environment;
//   - aud is audience, or when audience is empty GitHub's default, the URL of
//     the repository owner ("https://github.com/ORG");
//   - run_id, run_number and run_attempt are strings, as in GitHub's tokens;
//   - workflow_ref and job_workflow_ref point at
//     ORG/REPO/.github/workflows/FILE@REF, FILE being Workflow when it already
//     ends in .yml or .yaml and otherwise Workflow lower-cased with spaces as
//     dashes plus ".yml" (the context carries the workflow's name, not its file).
//
// Claims GitHub derives from state the emulator does not model (repository_id,
// owner IDs, sha, workflow_sha, environment) are left out.
func GitHubClaims(c GitHubContext, audience string) map[string]any {
	owner, _, _ := strings.Cut(c.Repository, "/")
	ref := orDefault(c.Ref, "refs/heads/main")
	event := orDefault(c.EventName, "push")
	if audience == "" {
		audience = "https://github.com/" + owner
	}
	sub := "repo:" + c.Repository + ":ref:" + ref
	if event == "pull_request" {
		sub = "repo:" + c.Repository + ":pull_request"
	}
	refType := ""
	switch {
	case strings.HasPrefix(ref, "refs/heads/"):
		refType = "branch"
	case strings.HasPrefix(ref, "refs/tags/"):
		refType = "tag"
	}
	workflow := orDefault(c.Workflow, "CI")
	workflowRef := c.Repository + "/.github/workflows/" + workflowFile(workflow) + "@" + ref
	return map[string]any{
		"sub":                   sub,
		"aud":                   audience,
		"repository":            c.Repository,
		"repository_owner":      owner,
		"repository_visibility": "private",
		"ref":                   ref,
		"ref_type":              refType,
		"run_id":                orDefault(c.RunID, "1"),
		"run_number":            "1",
		"run_attempt":           "1",
		"actor":                 orDefault(c.Actor, owner),
		"workflow":              workflow,
		"workflow_ref":          workflowRef,
		"job_workflow_ref":      workflowRef,
		"event_name":            event,
		"runner_environment":    "github-hosted",
	}
}

// GitLabClaims returns the claims of a GitLab CI ID token for a pipeline on
// branch ref of project ("GROUP/PROJECT", subgroups allowed), for Set.Mint
// with GitLabIssuer. The claim names follow GitLab's "OpenID Connect (OIDC)
// Authentication Using ID Tokens" (docs.gitlab.com/ci/secrets/id_token_authentication):
// sub is "project_path:GROUP/PROJECT:ref_type:branch:ref:REF" and ref is the
// bare branch name. GitLab has no default audience (a job's id_tokens entry
// names it), so an empty audience leaves aud out.
func GitLabClaims(project, ref string, audience string) map[string]any {
	namespace := project
	if i := strings.LastIndex(project, "/"); i >= 0 {
		namespace = project[:i]
	}
	claims := map[string]any{
		"sub":             "project_path:" + project + ":ref_type:branch:ref:" + ref,
		"namespace_path":  namespace,
		"project_path":    project,
		"ref":             ref,
		"ref_type":        "branch",
		"ref_path":        "refs/heads/" + ref,
		"pipeline_source": "push",
	}
	if audience != "" {
		claims["aud"] = audience
	}
	return claims
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func workflowFile(name string) string {
	if strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml") {
		return name
	}
	return strings.ReplaceAll(strings.ToLower(name), " ", "-") + ".yml"
}

// GitHubTokenHandler serves GitHub Actions' ID token request endpoint (the URL
// a job finds in ACTIONS_ID_TOKEN_REQUEST_URL): GET with
// "Authorization: Bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>" and an optional
// audience query parameter, answering 200 application/json
// {"count":1,"value":"<jwt>"}; clients such as @actions/core read value.
//
// mint receives the audience parameter, or "" when the request names none;
// GitHubClaims turns "" into GitHub's default audience, the repository owner's
// URL, so a mint built on it answers as GitHub does.
//
// A request without a bearer token gets 401; one with the wrong token also
// gets 401, with error="invalid_token" as RFC 6750 section 3.1 prescribes
// (GitHub's own status for a wrong token is not publicly documented; clients
// treat any non-200 as failure). An empty requestToken accepts no request.
func GitHubTokenHandler(requestToken string, mint func(audience string) (string, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		scheme, presented, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || presented == "" {
			w.Header().Set("WWW-Authenticate", `Bearer`)
			http.Error(w, "bearer token required", http.StatusUnauthorized)
			return
		}
		if requestToken == "" || subtle.ConstantTimeCompare([]byte(presented), []byte(requestToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid bearer token", http.StatusUnauthorized)
			return
		}
		token, err := mint(r.URL.Query().Get("audience"))
		if err != nil {
			// The minting error names an issuer at most, never key material.
			http.Error(w, "mint id token: "+err.Error(), http.StatusInternalServerError)
			return
		}
		body, err := json.Marshal(struct {
			Count int    `json:"count"`
			Value string `json:"value"`
		}{Count: 1, Value: token})
		if err != nil {
			http.Error(w, "encode id token response", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
}
