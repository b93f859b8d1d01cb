package assume

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/sso"
)

// Profile kinds, as `rolecall profiles` names them.
const (
	ProfileKeys        = "keys"
	ProfileKeychain    = "keychain" // keys in a secret store (rolecall keys add)
	ProfileRole        = "role"
	ProfileSSO         = "sso"
	ProfileWebIdentity = "web-identity"
	ProfileProcess     = "process"
	ProfileOther       = "settings" // no credentials of its own (region, endpoints; or the ambient chain)
)

// ProfileStatus is one profile as `rolecall profiles` and the picker show
// it: what it is, what it reaches, and the time left on the credentials
// `rolecall assume PROFILE` would take from the cache now.
type ProfileStatus struct {
	Name string
	Kind string
	// AccountID and RoleName are the role the profile reaches (an
	// AssumeRole ARN's, or IAM Identity Center's account and permission
	// set); empty for keys and processes.
	AccountID, RoleName, RoleARN string
	// Via is the chain in front of the profile, shortened: the source
	// profile, then the role profiles between it and this one.
	Via    string
	Region string
	// MFA says a hop of the chain needs an MFA code.
	MFA bool
	// Expires is when the cached credentials of the profile's last hop
	// expire; zero when the cache holds none that assume would use (none,
	// expired, or within the refresh window).
	Expires time.Time
	// SignInRequired says the profile's IAM Identity Center session has no
	// token (never signed in, signed out).
	SignInRequired bool
	// Err is why `rolecall assume PROFILE` would fail before any call (a
	// mistake in the profile); nil for keys and other source profiles.
	Err error
}

// Assumable says whether `rolecall assume NAME` has a role to assume.
func (s ProfileStatus) Assumable() bool {
	return s.Err == nil && (s.Kind == ProfileRole || s.Kind == ProfileSSO || s.Kind == ProfileWebIdentity)
}

// SurveyProfiles describes every profile of the config and credentials
// files. It reads the files once and the cache, and nothing else: no
// network, no credential_process, no prompt. The time left is decided the
// way Obtain decides a cache hit: each profile is resolved by the resolver
// as `rolecall assume PROFILE` with req's flags would be, and its last
// hop's cache key looked up with req's refresh window.
func SurveyProfiles(ctx context.Context, req Request, env Env) ([]ProfileStatus, error) {
	opts, err := parseSession(req, env)
	if err != nil {
		return nil, err
	}
	// Nothing the resolver would say about one profile is wanted in a list
	// of all of them; errors are kept per profile.
	quiet := env
	quiet.Warn, quiet.Trace, quiet.MFACode = nil, nil, nil
	first := &resolver{req: req, env: quiet, opts: opts}
	cfg, err := first.config()
	if err != nil {
		return nil, err
	}
	store := requestCache(req, env)
	runner := &Runner{STS: &STS{Env: quiet}}
	names := cfg.ProfileNames()
	out := make([]ProfileStatus, 0, len(names))
	for _, name := range names {
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		out = append(out, surveyOne(ctx, cfg, name, req, quiet, opts, store, runner))
	}
	return out, nil
}

func surveyOne(ctx context.Context, cfg *awsconfig.Config, name string, req Request, env Env, opts sessionOptions,
	store *cache.Store, runner *Runner) ProfileStatus {
	st := ProfileStatus{Name: name}
	prof, err := cfg.Profile(name)
	if err != nil {
		st.Kind, st.Err = ProfileOther, err
		return st
	}
	st.Kind = profileKind(cfg, prof)
	st.Region = prof.Region
	if st.Kind != ProfileRole && st.Kind != ProfileSSO && st.Kind != ProfileWebIdentity && st.Kind != ProfileKeychain {
		st.MFA = prof.MFASerial != ""
		return st
	}
	st.RoleARN = prof.RoleARN
	st.AccountID, st.RoleName = arnAccountRole(prof.RoleARN)
	if st.Kind == ProfileSSO && prof.RoleARN == "" {
		st.AccountID, st.RoleName = prof.SSOAccountID, prof.SSORoleName
	}
	one := req
	one.Roles = []string{name}
	if st.Kind == ProfileKeychain && prof.RoleARN == "" {
		// `assume --profile NAME`: the session rolecall hands out for
		// the stored key.
		one.Profile, one.Roles = name, nil
	}
	r := &resolver{req: one, env: env, opts: opts, cfg: cfg, cfgDone: true}
	plan, err := r.resolve(ctx)
	if err != nil {
		st.Err = err
		return st
	}
	if plan.RegionKnown {
		st.Region = plan.Region
	}
	st.Via = planVia(plan)
	for _, h := range plan.Hops {
		if h.MFASerial != "" {
			st.MFA = true
		}
	}
	if plan.SSO != nil && plan.SSO.TokenErr != nil {
		var lr *sso.LoginRequiredError
		st.SignInRequired = errors.As(plan.SSO.TokenErr, &lr)
		return st
	}
	if store == nil || req.Refresh || len(plan.Hops) == 0 {
		return st
	}
	// Obtain's two looks at the cache: Runner.Cached with the plan's keys,
	// then the runner's fetch with a chained hop's duration clamped.
	for _, keys := range [][]string{plan.Keys(), runner.clampChained(plan).Keys()} {
		if e, ok := store.Lookup(keys[len(keys)-1], req.RefreshWindow); ok {
			st.Expires = e.Credentials.Expiration
			break
		}
	}
	return st
}

// profileKind names what a profile is, in the order the resolver takes
// its settings (awsconfig.Config.Chain); a profile's own credentials are
// the kind the chain itself picks (Config.OwnSourceKind).
func profileKind(cfg *awsconfig.Config, p awsconfig.Profile) string {
	switch {
	case p.WebIdentityTokenFile != "":
		return ProfileWebIdentity
	case p.RoleARN != "" && (p.SourceProfile != "" || p.CredentialSource != ""):
		return ProfileRole
	}
	switch cfg.OwnSourceKind(p) {
	case awsconfig.SourceSSO:
		return ProfileSSO
	case awsconfig.SourceKeychain:
		return ProfileKeychain
	case awsconfig.SourceStatic:
		return ProfileKeys
	case awsconfig.SourceProcess:
		return ProfileProcess
	}
	switch {
	case p.StaticKeys != nil:
		return ProfileKeys // incomplete: the resolver says what is missing
	case p.RoleARN != "":
		return ProfileRole // incomplete: the resolver says what is missing
	}
	return ProfileOther
}

// arnAccountRole splits arn:PARTITION:iam::ACCOUNT:role/PATH/NAME.
func arnAccountRole(arn string) (account, role string) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return "", ""
	}
	role = parts[5]
	if i := strings.LastIndexByte(role, '/'); i >= 0 {
		role = role[i+1:]
	}
	return parts[4], role
}

// planVia is the chain in front of the plan's last hop, shortened: the
// source, then each hop but the last (an MFA session left out).
func planVia(p Plan) string {
	var parts []string
	switch {
	case p.SSO != nil && p.SSO.Session.Name != "":
		parts = append(parts, "sso-session "+p.SSO.Session.Name)
	case p.SSO != nil:
		parts = append(parts, "sso")
	case p.Source.Kind == awsconfig.SourceWebIdentity:
		parts = append(parts, "web identity")
	case p.Source.Profile != "":
		parts = append(parts, p.Source.Profile)
	default:
		parts = append(parts, string(p.Source.Kind))
	}
	for _, h := range p.Hops[:max(len(p.Hops)-1, 0)] {
		if h.Kind == cache.KindSessionToken || h.Kind == cache.KindSSORole || h.Kind == cache.KindWebIdentity {
			continue
		}
		parts = append(parts, h.Label)
	}
	return strings.Join(parts, " > ")
}
