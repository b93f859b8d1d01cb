package assume

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Defaults for CI web identity. GitHub's token endpoint takes the audience
// as a query parameter (as aws-actions/configure-aws-credentials sends it);
// GitLab puts the token in the variable the job's id_tokens names.
const (
	DefaultAudience       = "sts.amazonaws.com"
	defaultGitLabTokenEnv = "GITLAB_OIDC_TOKEN" //nolint:gosec // a variable name, not a credential
	maxTokenBytes         = 64 << 10
)

// webIdentityToken is an OIDC token and where it came from, for messages
// ("file /var/run/…", "GitHub Actions").
type webIdentityToken struct {
	Token  string
	Origin string
}

// TokenFetchError is a failed request for a CI provider's OIDC token.
// Status is the HTTP status, 0 when no answer came.
type TokenFetchError struct {
	Status int
	Err    error
	Hint   string
}

func (e *TokenFetchError) Error() string { return "get GitHub OIDC token: " + e.Err.Error() }
func (e *TokenFetchError) Unwrap() error { return e.Err }

// fetchToken gets the token the flags name.
func (w WebIdentityFlags) fetchToken(ctx context.Context, env Env) (webIdentityToken, error) {
	getenv := env.Getenv
	provider := w.OIDC
	if provider == "auto" {
		switch {
		case getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "":
			provider = "github"
		case getenv("GITLAB_CI") == "true":
			provider = "gitlab"
		case getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "":
			provider = ""
		default:
			return webIdentityToken{}, usageErrorf("in GitHub Actions grant 'permissions: id-token: write'; in GitLab add id_tokens", "--oidc auto found no OIDC token in this environment")
		}
	}
	switch {
	case provider == "github":
		token, err := githubToken(ctx, env, firstNonEmpty(w.Audience, DefaultAudience))
		return webIdentityToken{Token: token, Origin: "GitHub Actions"}, err
	case provider == "gitlab" || w.TokenEnv != "":
		name := firstNonEmpty(w.TokenEnv, defaultGitLabTokenEnv)
		token := strings.TrimSpace(getenv(name))
		if token == "" {
			return webIdentityToken{}, usageErrorf(fmt.Sprintf("in GitLab CI, add to the job: id_tokens: { %s: { aud: %s } }", name, DefaultAudience),
				"no OIDC token in $%s", name)
		}
		return webIdentityToken{Token: token, Origin: "$" + name}, nil
	case provider != "":
		return webIdentityToken{}, usageErrorf("use --oidc github, gitlab or auto", "unknown --oidc %q", provider)
	}
	return readTokenFile(firstNonEmpty(w.TokenFile, getenv("AWS_WEB_IDENTITY_TOKEN_FILE")))
}

func readTokenFile(path string) (webIdentityToken, error) {
	b, err := readRegularFile(path, maxTokenBytes)
	if err != nil {
		return webIdentityToken{}, usageErrorf("pass a readable --web-identity-token-file, or set AWS_WEB_IDENTITY_TOKEN_FILE", "read web identity token %s: %v", path, err)
	}
	return webIdentityToken{Token: strings.TrimSpace(string(b)), Origin: "file " + path}, nil
}

// githubToken asks the Actions runtime for an OIDC token, as the official
// actions/core getIDToken does: GET $ACTIONS_ID_TOKEN_REQUEST_URL with
// &audience=, bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN, answer {"value": JWT}.
func githubToken(ctx context.Context, env Env, audience string) (string, error) {
	reqURL, reqToken := env.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), env.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqToken == "" {
		return "", usageErrorf("give the job 'permissions: id-token: write'", "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", usageErrorf("", "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL")
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var client aws.HTTPClient = http.DefaultClient
	if env.HTTPClient != nil {
		client = env.HTTPClient
	}
	var lastErr error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", lastErr
			case <-time.After(time.Duration(1<<attempt) * 250 * time.Millisecond):
			}
		}
		token, err := githubTokenOnce(ctx, client, u.String(), reqToken)
		if err == nil {
			return token, nil
		}
		lastErr = err
		if err.Status != 0 && err.Status < 500 && err.Status != http.StatusTooManyRequests {
			break
		}
	}
	return "", lastErr
}

func githubTokenOnce(ctx context.Context, client aws.HTTPClient, u, bearer string) (string, *TokenFetchError) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", &TokenFetchError{Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "", &TokenFetchError{Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := readCapped(resp.Body, maxTokenBytes)
	if err != nil {
		return "", &TokenFetchError{Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return "", &TokenFetchError{Status: resp.StatusCode, Err: fmt.Errorf("HTTP %d", resp.StatusCode), Hint: "give the job 'permissions: id-token: write'"}
	}
	var answer struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Value == "" {
		return "", &TokenFetchError{Status: resp.StatusCode, Err: fmt.Errorf("the answer holds no token")}
	}
	return answer.Value, nil
}

// ciSessionName names a CI job's session after the job, valid for STS; ""
// outside CI.
func ciSessionName(getenv func(string) string) string {
	var name string
	switch {
	case getenv("GITHUB_RUN_ID") != "":
		name = "GitHubActions-" + getenv("GITHUB_RUN_ID") + "-" + firstNonEmpty(getenv("GITHUB_RUN_ATTEMPT"), "1")
	case getenv("CI_JOB_ID") != "":
		name = "GitLab-" + getenv("CI_JOB_ID")
	default:
		return ""
	}
	return strings.TrimPrefix(SessionNameFor(name), defaultSessionPrefix)
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
