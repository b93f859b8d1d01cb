package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
)

// Defaults for CI web identity. GitHub's token endpoint takes the audience
// as a query parameter (as aws-actions/configure-aws-credentials sends it);
// GitLab puts the token in the variable the job's id_tokens names.
const (
	defaultAudience       = "sts.amazonaws.com"
	defaultGitLabTokenEnv = "GITLAB_OIDC_TOKEN" //nolint:gosec // a variable name, not a credential
	maxTokenBytes         = 64 << 10
)

// webIdentityFlags choose where an OIDC token comes from.
type webIdentityFlags struct {
	TokenFile string
	TokenEnv  string
	OIDC      string
	Audience  string
}

func (f *webIdentityFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.TokenFile, "web-identity-token-file", "", "assume the first role with the OIDC token in this file (AssumeRoleWithWebIdentity)")
	fl.StringVar(&f.TokenEnv, "web-identity-token-env", "", "assume the first role with the OIDC token in this environment variable")
	fl.StringVar(&f.OIDC, "oidc", "", "get the OIDC token from the CI: github, gitlab, or auto")
	fl.StringVar(&f.Audience, "audience", defaultAudience, "audience to request for the GitHub Actions OIDC token")
}

// source fetches the token and names where it came from.
func (f *webIdentityFlags) source(ctx context.Context, io *IO) (assume.Source, error) {
	getenv := io.Getenv
	provider := f.OIDC
	if provider == "auto" {
		switch {
		case getenv("ACTIONS_ID_TOKEN_REQUEST_URL") != "":
			provider = "github"
		case getenv("GITLAB_CI") == "true":
			provider = "gitlab"
		case getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != "":
			provider = ""
		default:
			return assume.Source{}, usageErrorf("in GitHub Actions grant 'permissions: id-token: write'; in GitLab add id_tokens", "--oidc auto found no OIDC token in this environment")
		}
	}
	var token, origin string
	var err error
	switch {
	case provider == "github":
		origin = "GitHub Actions"
		token, err = githubToken(ctx, getenv, f.Audience)
	case provider == "gitlab" || f.TokenEnv != "":
		name := firstNonEmpty(f.TokenEnv, defaultGitLabTokenEnv)
		origin = "$" + name
		if token = getenv(name); token == "" {
			err = usageErrorf(fmt.Sprintf("in GitLab CI, add to the job: id_tokens: { %s: { aud: %s } }", name, defaultAudience),
				"no OIDC token in $%s", name)
		}
	case provider != "":
		return assume.Source{}, usageErrorf("use --oidc github, gitlab or auto", "unknown --oidc %q", provider)
	default:
		path := firstNonEmpty(f.TokenFile, getenv("AWS_WEB_IDENTITY_TOKEN_FILE"))
		origin = "file " + path
		token, err = readTokenFile(path)
	}
	if err != nil {
		return assume.Source{}, err
	}
	return assume.Source{Kind: assume.SourceWebIdentity, Token: strings.TrimSpace(token), TokenOrigin: origin}, nil
}

func readTokenFile(path string) (string, error) {
	f, err := os.Open(path) //nolint:gosec // the token file the user named
	if err != nil {
		return "", usageErrorf("pass a readable --web-identity-token-file, or set AWS_WEB_IDENTITY_TOKEN_FILE", "read web identity token: %v", err)
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenBytes))
	if err != nil {
		return "", usageErrorf("", "read web identity token: %v", err)
	}
	return string(b), nil
}

// githubToken asks the Actions runtime for an OIDC token, as the official
// actions/core getIDToken does: GET $ACTIONS_ID_TOKEN_REQUEST_URL with
// &audience=, bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN, answer {"value": JWT}.
func githubToken(ctx context.Context, getenv func(string) string, audience string) (string, error) {
	reqURL, reqToken := getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqToken == "" {
		return "", usageErrorf("give the job 'permissions: id-token: write'", "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set")
	}
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", usageErrorf("", "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL")
	}
	if audience != "" {
		q := u.Query()
		q.Set("audience", audience)
		u.RawQuery = q.Encode()
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var lastErr error
	for attempt := range 4 {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return "", lastErr
			case <-time.After(time.Duration(1<<attempt) * 250 * time.Millisecond):
			}
		}
		token, retry, err := githubTokenOnce(ctx, u.String(), reqToken)
		if err == nil {
			return token, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return "", lastErr
}

func githubTokenOnce(ctx context.Context, u, bearer string) (token string, retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", true, withCode(ExitUnreachable, fmt.Errorf("get GitHub OIDC token: %w", err), "")
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBytes))
	if err != nil {
		return "", true, withCode(ExitUnreachable, fmt.Errorf("get GitHub OIDC token: %w", err), "")
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("get GitHub OIDC token: HTTP %d", resp.StatusCode)
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return "", true, withCode(ExitUnreachable, err, "")
		}
		return "", false, withCode(ExitRefused, err, "give the job 'permissions: id-token: write'")
	}
	var answer struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Value == "" {
		return "", false, withCode(ExitRefused, fmt.Errorf("get GitHub OIDC token: the answer holds no token"), "")
	}
	return answer.Value, false, nil
}

// ciSessionName names a CI job's session after the job, valid for STS.
func ciSessionName(getenv func(string) string) string {
	switch {
	case getenv("GITHUB_RUN_ID") != "":
		return sanitizeSessionName("GitHubActions-" + getenv("GITHUB_RUN_ID") + "-" + firstNonEmpty(getenv("GITHUB_RUN_ATTEMPT"), "1"))
	case getenv("CI_JOB_ID") != "":
		return sanitizeSessionName("GitLab-" + getenv("CI_JOB_ID"))
	}
	return ""
}

func sanitizeSessionName(s string) string {
	name := assume.SessionNameFor(s)
	return strings.TrimPrefix(name, "rolecall-")
}

// useWebIdentity makes web identity the plan's source when a flag asks for
// it, or when no role is named and the environment follows the EKS/IRSA
// convention (AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE). It returns the
// roles to assume, which must not be empty.
func (pl *planner) useWebIdentity(ctx context.Context, roles []string) ([]string, error) {
	wf, getenv := &pl.flags.WebIdentity, pl.io.Getenv
	explicit := wf.TokenFile != "" || wf.TokenEnv != "" || wf.OIDC != ""
	irsa := len(roles) == 0 && getenv("AWS_ROLE_ARN") != "" && getenv("AWS_WEB_IDENTITY_TOKEN_FILE") != ""
	if !explicit && !irsa {
		if len(roles) == 0 {
			return nil, usageErrorf("name the role: a role ARN or a profile with role_arn", "no role given")
		}
		return roles, nil
	}
	if irsa {
		roles = []string{getenv("AWS_ROLE_ARN")}
	}
	if len(roles) == 0 {
		return nil, usageErrorf("name the role ARN to assume with the token", "no role given")
	}
	o := pl.opts
	if o.externalID != "" || o.mfaSerial != "" || len(o.tags) > 0 || o.sourceIdentity != "" {
		if len(roles) == 1 {
			return nil, usageErrorf("session tags and source identity come from the token's claims", "AssumeRoleWithWebIdentity takes no --external-id, --mfa-serial, --tag or --source-identity")
		}
	}
	src, err := wf.source(ctx, pl.io)
	if err != nil {
		return nil, err
	}
	pl.webIdentity = &src
	return roles, nil
}
