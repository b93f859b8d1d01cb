package assume

import (
	"context"
	"errors"
	"fmt"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/sso"
)

// SSORole is an IAM Identity Center source: the permission set (role) in
// an account whose credentials the portal's GetRoleCredentials gives for
// the token of a login. Those credentials are the plan's first hop
// (cache.KindSSORole), cached and locked like an STS call, so however many
// processes ask, one call is made; the roles behind it are assumed from
// them (role chaining, see Plan.chained).
type SSORole struct {
	Session   sso.Session
	AccountID string
	RoleName  string
	// Token is the session's cached token as Resolve read it; a fetch
	// refreshes it first when it is about to expire.
	Token sso.Token
	// TokenErr is why there is no token (never signed in, signed out): a
	// *sso.LoginRequiredError that Obtain returns before anything else, as
	// no cache key can be made without the login. Resolve itself does not
	// fail on it: a plan is how credentials are reached, not whether the
	// person is signed in now.
	TokenErr  error
	Endpoints sso.Endpoints
	// AutoLogin is the profile's rolecall_auto_login: sign in on demand
	// as with Env.AutoLogin.
	AutoLogin bool
}

// keyInput keys the role's credentials by the start URL, account and role,
// and by the login: the token's identity, so that another user's login (or
// a new one after a sign-out) never reaches these credentials.
func (s *SSORole) keyInput() cache.KeyInput {
	return cache.KeyInput{
		Kind:     cache.KindSSORole,
		Source:   "sso-token:" + s.Token.Identity() + ":" + s.Session.StartURL,
		RoleARN:  "sso:" + s.AccountID + "/" + s.RoleName,
		Region:   s.Session.Region,
		Endpoint: s.Endpoints.Portal,
	}
}

// ssoRole reads what an SSO profile's first hop needs: the profile's
// account and role, its session, the endpoints and the cached token (see
// TokenErr for a missing one).
func (r *resolver) ssoRole(cfg *awsconfig.Config, p awsconfig.Profile) (*SSORole, error) {
	if !validAccountID(p.SSOAccountID) || p.SSORoleName == "" {
		return nil, configErrorf("give the profile sso_account_id (12 digits) and sso_role_name (a permission set); rolecall sso profiles --write makes such profiles",
			"profile %q (%s) needs sso_account_id and sso_role_name", p.Name, p.Where())
	}
	s, err := sso.SessionOf(cfg, p)
	if err != nil {
		return nil, ssoConfigError(err)
	}
	ep, err := sso.EndpointsFrom(r.env.Getenv)
	if err != nil {
		return nil, ssoConfigError(err)
	}
	t, err := sso.LoadToken(r.env.HomeDir, s)
	return &SSORole{Session: s, AccountID: p.SSOAccountID, RoleName: p.SSORoleName, Token: t, TokenErr: err, Endpoints: ep, AutoLogin: p.AutoLogin}, nil
}

func ssoConfigError(err error) error {
	var ce *sso.ConfigError
	if errors.As(err, &ce) {
		if ce.Usage {
			return &UsageError{Err: ce.Err, Hint: ce.Hint}
		}
		return configError(ce.Err, ce.Hint)
	}
	return err
}

func validAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func ssoEnv(env Env) sso.Env {
	return sso.Env{HomeDir: env.HomeDir, Getenv: env.Getenv, HTTPClient: env.HTTPClient, Now: env.Now, Trace: env.Trace}
}

// freshenSSO refreshes an SSO plan's token when it is about to expire,
// before the plan's keys are taken for a fetch: a refreshed token is
// another login identity, so the credentials fetched with it are stored
// under the key the next run computes. A cache hit never gets here: the
// credentials cached for a token outlive it, as the AWS CLI's do.
func freshenSSO(ctx context.Context, p Plan, env Env) (Plan, error) {
	if p.SSO == nil {
		return p, nil
	}
	c := &sso.Client{Env: ssoEnv(env), Endpoints: p.SSO.Endpoints}
	t, err := c.Freshen(ctx, p.SSO.Session, p.SSO.Token)
	var lr *sso.LoginRequiredError
	if errors.As(err, &lr) && p.SSO.signInOnDemand(env) {
		return signInSSO(ctx, p, env)
	}
	if err != nil {
		return p, err
	}
	role := *p.SSO
	role.Token = t
	p.SSO = &role
	return p, nil
}

// signInOnDemand says whether a missing sign-in starts one: asked for
// (--auto-login, or rolecall_auto_login in the profile) and someone to
// ask (Env.SSOSignIn).
func (s *SSORole) signInOnDemand(env Env) bool {
	return env.SSOSignIn != nil && (env.AutoLogin || s.AutoLogin)
}

// noteAutoLogin marks a sign-in error that --auto-login would have spared:
// someone could have been asked (Env.SSOSignIn) and sign-in on demand was
// off.
func noteAutoLogin(err error, p Plan, env Env) {
	var lr *sso.LoginRequiredError
	if p.SSO != nil && env.SSOSignIn != nil && !p.SSO.signInOnDemand(env) && errors.As(err, &lr) {
		lr.AutoLoginOff = true
	}
}

// signInSSO is sign-in on demand: the plan with the token Env.SSOSignIn
// got for its session (one sign-in however many processes ask; see
// sso.Client.SignInOnce).
func signInSSO(ctx context.Context, p Plan, env Env) (Plan, error) {
	t, err := env.SSOSignIn(ctx, p.SSO.Session)
	if err != nil {
		return p, err
	}
	role := *p.SSO
	role.Token, role.TokenErr = t, nil
	p.SSO = &role
	return p, nil
}

// ssoRoleCredentials is the first hop of an SSO plan: GetRoleCredentials.
func ssoRoleCredentials(ctx context.Context, p Plan, env Env) (creds.Credentials, error) {
	if p.SSO == nil {
		return creds.Credentials{}, fmt.Errorf("an IAM Identity Center hop without its source")
	}
	c := &sso.Client{Env: ssoEnv(env), Endpoints: p.SSO.Endpoints}
	return c.RoleCredentials(ctx, p.SSO.Session, p.SSO.Token, p.SSO.AccountID, p.SSO.RoleName)
}

// forSSO reports the session flags GetRoleCredentials cannot take: the
// permission set decides the session.
func (o sessionOptions) forSSO() error {
	if o.sessionName != "" || o.duration != 0 || o.externalID != "" || o.mfaSerial != "" || o.policy != "" ||
		len(o.policyARNs) > 0 || len(o.tags) > 0 || o.sourceIdentity != "" {
		return usageErrorf("name a role to assume from the IAM Identity Center role to set them",
			"an IAM Identity Center role (GetRoleCredentials) takes no session flags: its permission set decides the session")
	}
	return nil
}
