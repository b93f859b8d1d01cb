package assume

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os/user"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
)

// Resolve turns a request into a plan: where the base credentials come from,
// which roles to assume from them in order, with which options, and where to
// send the calls. It is the only place that decides how a role is reached;
// docs/config.md describes the order it follows. Every flag and every value
// read from the config files is checked here, once, before any call.
//
// The base credentials, first match wins:
//
//  1. --web-identity-token-file, --web-identity-token-env or --oidc: the
//     first ROLE is assumed with the token.
//  2. A first ROLE that names a profile, unless --profile is given: that
//     profile's own chain (its source_profile or credential_source), which
//     stands against AWS_PROFILE and AWS_DEFAULT_PROFILE.
//  3. --profile P: P's chain, then the ROLEs from it; a role profile's own
//     source is replaced, with a warning.
//  4. AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, refused when
//     AWS_CREDENTIAL_EXPIRATION has passed.
//  5. AWS_PROFILE, else AWS_DEFAULT_PROFILE: as --profile, for a role ARN or
//     no role. (Keys in the environment come first, as in every AWS SDK;
//     --profile does not give way to them.) Messages name the variable.
//  6. AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (EKS): web identity.
//  7. The [default] profile.
//  8. The container credentials endpoint, then instance metadata.
//
// A ROLE that names the role the base already ends at is not assumed again:
// `rolecall exec "$AWS_ROLE_ARN" -- cmd` on EKS is one hop.
//
// For the console (Request.ForConsole) a request may name no role; when the
// base is then an IAM user's long-term keys, which the federation endpoint
// does not take, the plan gets a GetFederationToken hop (a federated user
// named after the IAM user, with FederationAllowAllPolicy unless a session
// policy is given), and a console duration is refused here for sessions the
// endpoint would refuse it for.
func Resolve(ctx context.Context, req Request, env Env) (Plan, error) {
	opts, err := parseSession(req, env)
	if err != nil {
		return Plan{}, err
	}
	r := &resolver{req: req, env: env, opts: opts}
	return r.resolve(ctx)
}

type resolver struct {
	req  Request
	env  Env
	opts sessionOptions

	cfg     *awsconfig.Config
	cfgErr  error
	cfgDone bool
}

// base is where a plan starts: a source, the hops of a profile chain, and
// the profiles whose settings (region, endpoint) apply, in chain order.
type base struct {
	source   Source
	token    webIdentityToken
	sso      *SSORole
	hops     []Hop
	profiles []awsconfig.Profile
}

func (r *resolver) resolve(ctx context.Context) (Plan, error) {
	roles := r.req.Roles
	for _, role := range roles {
		if LooksLikeARN(role) {
			if err := ValidateRoleARN(role); err != nil {
				return Plan{}, withHint(err, "pass a role ARN (arn:aws:iam::ACCOUNT:role/NAME) or a profile name")
			}
		}
	}
	profile, from := r.namedProfile()
	firstIsProfile := len(roles) > 0 && !LooksLikeARN(roles[0])
	var b base
	var err error
	switch {
	case r.req.WebIdentity.explicit():
		if len(roles) == 0 || !LooksLikeARN(roles[0]) {
			return Plan{}, usageErrorf("pass the role ARN the token's trust policy names", "with a web identity token the first ROLE must be a role ARN")
		}
		b, err = r.webIdentityFlagsBase(ctx, roles[0])
		roles = roles[1:]
	case firstIsProfile && from != fromFlag:
		// A role profile's own source_profile or credential_source stands
		// against a profile named only by the environment: an AWS_PROFILE
		// exported weeks ago must not re-route the chain the profile
		// describes (aws --profile X keeps it too).
		if profile != "" {
			r.env.trace("%s=%s is not used: profile %s has a source of its own", from, profile, roles[0])
		}
		b, err = r.profileBase(roles[0], "")
		if err == nil && len(b.hops) == 0 {
			err = configErrorf("name a profile with role_arn, or pass a role ARN with --profile "+roles[0],
				"profile %q has no role_arn: there is no role to assume", roles[0])
		}
		roles = roles[1:]
	case profile != "":
		b, err = r.profileBase(profile, from)
		if err == nil && firstIsProfile {
			r.warnReplacedSource(roles[0], profile)
		}
	default:
		b, err = r.defaultBase()
	}
	if err != nil {
		return Plan{}, err
	}

	p := Plan{Source: b.source, WebIdentity: b.token, SSO: b.sso, Hops: b.hops}
	profiles := b.profiles
	for i, role := range roles {
		h := Hop{Kind: cache.KindAssumeRole, Label: role, RoleARN: role}
		if !LooksLikeARN(role) {
			prof, err := r.roleProfile(role)
			if err != nil {
				return Plan{}, err
			}
			h = hopFromProfile(prof)
			profiles = append(profiles, prof)
		}
		if i == 0 && len(p.Hops) > 0 && p.Hops[len(p.Hops)-1].RoleARN == h.RoleARN {
			r.env.trace("%s is the role %s already reaches: not assumed again", role, p.Hops[len(p.Hops)-1].Label)
			continue
		}
		p.Hops = append(p.Hops, h)
	}
	if len(p.Hops) == 0 && r.req.ForConsole && p.Source.longTermKeys() {
		// The console takes no IAM user keys: they become a federated
		// user's session first, as aws-vault login does (cli/login.go), and
		// cached like any hop.
		p.Hops = append(p.Hops, Hop{Kind: cache.KindFederationToken, Label: firstNonEmpty(p.Source.Profile, "AWS_ACCESS_KEY_ID")})
	}
	if len(p.Hops) == 0 && !r.req.SourceOnly && !r.req.ForConsole && p.Source.Kind != awsconfig.SourceKeychain {
		if profile != "" {
			return Plan{}, configErrorf("name a profile with role_arn, or pass a role ARN with --profile "+profile,
				"profile %q has no role_arn: there is no role to assume", profile)
		}
		return Plan{}, usageErrorf("name the role: a role ARN or a profile with role_arn", "no role given")
	}
	if len(p.Hops) > 0 {
		if err := r.applySession(&p); err != nil {
			return Plan{}, err
		}
	}
	if err := validateHops(p.Hops); err != nil {
		return Plan{}, err
	}
	if err := r.placeCalls(&p, profiles); err != nil {
		return Plan{}, err
	}
	if r.req.ForConsole && r.req.ConsoleDuration > 0 {
		// The federation endpoint takes SessionDuration only for a role
		// assumed with long-term keys: no MFA session token in between, so
		// the role is assumed with the code itself.
		if why := p.consoleDurationRefusal(); why != "" {
			return Plan{}, usageErrorf("leave out --console-duration: the console session then lasts as long as the credentials (--duration; at most 1h for a chained role)",
				"--console-duration: the federation endpoint takes no session duration for %s", why)
		}
		return p, nil
	}
	p = p.useMFASession(r.req.MFASessionTTL)
	if len(p.Hops) == 0 && p.Source.Kind == awsconfig.SourceKeychain {
		p.Hops = []Hop{r.keychainSessionHop(p)}
	}
	return p, nil
}

// Where a profile name came from, for messages: the flag, or the variable.
const fromFlag = "--profile"

// namedProfile is --profile, else AWS_PROFILE, else AWS_DEFAULT_PROFILE
// (the AWS CLI v2's order), and which of them named it. A profile named
// only by the environment gives way to keys in the environment, as in
// every AWS SDK.
func (r *resolver) namedProfile() (name, from string) {
	if r.req.Profile != "" {
		return r.req.Profile, fromFlag
	}
	if name, from = awsconfig.EnvProfile(r.env.Getenv); name == "" {
		return "", ""
	}
	if r.envKeys() != nil {
		r.env.trace("%s=%s is not used: AWS_ACCESS_KEY_ID is set, and keys in the environment come first", from, name)
		return "", ""
	}
	return name, from
}

// warnReplacedSource says, on one line, that --profile takes the place of
// the source a role profile names itself: the user asked for both, and
// the chain they get is not the one the profile describes.
func (r *resolver) warnReplacedSource(roleProfile, profile string) {
	if roleProfile == profile {
		return // the profile's own role, reached through its own chain
	}
	cfg, err := r.config()
	if err != nil {
		return
	}
	p, err := cfg.Profile(roleProfile)
	if err != nil {
		return
	}
	own := ""
	switch {
	case p.SourceProfile != "":
		own = "source_profile = " + p.SourceProfile
	case p.CredentialSource != "":
		own = "credential_source = " + p.CredentialSource
	}
	if own != "" && p.SourceProfile != profile {
		r.env.warn("--profile %s replaces profile %s's own %s: %s is assumed with %s's credentials", profile, roleProfile, own, roleProfile, profile)
	}
}

// defaultBase is the base when no profile is named: the environment, the
// [default] profile, then the container and instance endpoints.
func (r *resolver) defaultBase() (base, error) {
	getenv := r.env.Getenv
	if r.envKeys() != nil {
		src, err := r.envSource("")
		return base{source: src}, err
	}
	if roleARN, file := getenv("AWS_ROLE_ARN"), getenv("AWS_WEB_IDENTITY_TOKEN_FILE"); roleARN != "" && file != "" {
		if err := ValidateRoleARN(roleARN); err != nil {
			return base{}, configError(fmt.Errorf("AWS_ROLE_ARN: %w", err), "set AWS_ROLE_ARN to the role the token may assume")
		}
		token, err := readTokenFile(file)
		if err != nil {
			return base{}, err
		}
		name := firstNonEmpty(getenv("AWS_ROLE_SESSION_NAME"), ciSessionName(getenv))
		return webIdentityBase(token, roleARN, roleARN, name, 0), nil
	}
	cfg, err := r.config()
	if err != nil {
		return base{}, err
	}
	if cfg.HasProfile("default") {
		return r.profileBase("default", "")
	}
	src, err := r.ambientSource(nil)
	return base{source: src}, err
}

// ambientSource is what is left of the default chain when no profile gives
// credentials: the container endpoint, then instance metadata. settings is
// the profile that had none, if any.
func (r *resolver) ambientSource(settings *awsconfig.Profile) (Source, error) {
	getenv := r.env.Getenv
	if containerURI(getenv) != "" {
		return containerSource(getenv, settings)
	}
	where := "AWS_ACCESS_KEY_ID, AWS_PROFILE"
	if r.cfg != nil {
		files := r.cfg.Files()
		where += ", the [default] profile in " + files.Config + " and " + files.Credentials
	}
	where += ", AWS_WEB_IDENTITY_TOKEN_FILE"
	if !strings.EqualFold(getenv("AWS_EC2_METADATA_DISABLED"), "true") {
		return Source{Source: awsconfig.Source{Kind: awsconfig.SourceEC2}, Settings: settings, LookedIn: where + ", the container endpoint"}, nil
	}
	return Source{}, configErrorf(lookedEverywhereHint,
		"no AWS credentials found: looked in %s and the container endpoint; instance metadata is off (AWS_EC2_METADATA_DISABLED)", where)
}

// containerURI is the container credentials endpoint the environment names,
// as the SDKs build it: the full URI, else the relative URI on ECS's
// link-local address.
func containerURI(getenv func(string) string) string {
	if rel := getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		return "http://169.254.170.2" + rel
	}
	return getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
}

// containerSource is the container endpoint the environment names, with
// the digest of the token it will be sent, which tells identities behind
// one URI apart in the cache key.
func containerSource(getenv func(string) string, settings *awsconfig.Profile) (Source, error) {
	src := Source{Source: awsconfig.Source{Kind: awsconfig.SourceECS}, Settings: settings, ContainerURI: containerURI(getenv)}
	token := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
	// The file wins, as in the SDKs (and sourceProvider): it is what is sent.
	if file := getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
		b, err := readRegularFile(file, maxTokenBytes)
		if err != nil {
			return Source{}, configError(fmt.Errorf("read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE %s: %w", file, err),
				"point AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE at the endpoint's token file, or unset it")
		}
		token = strings.TrimSpace(string(b))
	}
	sum := sha256.Sum256([]byte(token))
	src.ContainerTokenDigest = hex.EncodeToString(sum[:])
	return src, nil
}

// profileBase resolves a profile's chain: its source and the roles to
// assume from it.
// from names what named the profile: "" for a ROLE, the flag, or the
// variable, which a message must then name.
func (r *resolver) profileBase(name, from string) (base, error) {
	cfg, err := r.config()
	if err != nil {
		return base{}, err
	}
	if _, err := cfg.Profile(name); err != nil {
		if from != "" && from != fromFlag {
			return base{}, configError(fmt.Errorf("%s=%s names no profile: %w", from, name, err),
				"unset "+from+" (it was exported earlier), or set it to a profile that exists")
		}
		return base{}, configError(err, "profiles are the [profile NAME] sections of ~/.aws/config (or AWS_CONFIG_FILE) and the [NAME] sections of ~/.aws/credentials; or pass a role ARN")
	}
	chain, err := cfg.Chain(name)
	if err != nil {
		return base{}, configError(err, "fix the profile in the AWS config file")
	}
	sp, err := cfg.Profile(chain.Source.Profile)
	if err != nil {
		return base{}, configError(err, "")
	}
	b := base{source: Source{Source: chain.Source, Settings: &sp}, profiles: []awsconfig.Profile{sp}}
	switch chain.Source.Kind {
	case awsconfig.SourceEnvironment:
		src, err := r.envSource(sp.Name)
		if err != nil {
			return base{}, err
		}
		b.source.StaticKeys = src.StaticKeys
	case awsconfig.SourceECS:
		if containerURI(r.env.Getenv) == "" {
			return base{}, configErrorf("run it in a container with a credentials endpoint, or change credential_source",
				"profile %q has credential_source = EcsContainer but AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI are not set", sp.Name)
		}
		container, err := containerSource(r.env.Getenv, &sp)
		if err != nil {
			return base{}, err
		}
		b.source.ContainerURI, b.source.ContainerTokenDigest = container.ContainerURI, container.ContainerTokenDigest
	case awsconfig.SourceNone:
		if b.source, err = r.ambientSource(&sp); err != nil {
			return base{}, err
		}
	case awsconfig.SourceSSO:
		// rolecall makes the GetRoleCredentials call itself, so it is
		// cached and locked like any hop.
		if b.sso, err = r.ssoRole(cfg, sp); err != nil {
			return base{}, err
		}
		b.hops = []Hop{{Kind: cache.KindSSORole, Label: sp.Name}}
	case awsconfig.SourceWebIdentity:
		// rolecall makes the AssumeRoleWithWebIdentity call itself, so it
		// is cached like any hop.
		roleARN := firstNonEmpty(sp.RoleARN, r.env.Getenv("AWS_ROLE_ARN"))
		if err := ValidateRoleARN(roleARN); err != nil {
			return base{}, configError(fmt.Errorf("profile %q (%s): web_identity_token_file needs role_arn: %w", sp.Name, sp.Where(), err), "")
		}
		token, err := readTokenFile(sp.WebIdentityTokenFile)
		if err != nil {
			return base{}, err
		}
		wi := webIdentityBase(token, sp.Name, roleARN, sp.RoleSessionName, secondsToDuration(sp.DurationSeconds))
		wi.source.Settings, wi.profiles = &sp, b.profiles
		b = wi
	}
	for _, prof := range chain.Roles {
		b.hops = append(b.hops, hopFromProfile(prof))
		b.profiles = append(b.profiles, prof)
	}
	return b, nil
}

// webIdentityFlagsBase is a base from the web identity flags.
func (r *resolver) webIdentityFlagsBase(ctx context.Context, roleARN string) (base, error) {
	token, err := r.req.WebIdentity.fetchToken(ctx, r.env)
	if err != nil {
		return base{}, err
	}
	return webIdentityBase(token, roleARN, roleARN, ciSessionName(r.env.Getenv), 0), nil
}

func webIdentityBase(token webIdentityToken, label, roleARN, sessionName string, d time.Duration) base {
	return base{
		source: Source{Source: awsconfig.Source{Kind: awsconfig.SourceWebIdentity}},
		token:  token,
		hops:   []Hop{{Kind: cache.KindWebIdentity, Label: label, RoleARN: roleARN, SessionName: sessionName, Duration: d}},
	}
}

// roleProfile returns a profile that must have a role_arn: a ROLE after the
// first, or one whose source --profile replaces.
func (r *resolver) roleProfile(name string) (awsconfig.Profile, error) {
	cfg, err := r.config()
	if err != nil {
		return awsconfig.Profile{}, err
	}
	prof, err := cfg.Profile(name)
	if err != nil {
		return prof, configError(err, "profiles are the [profile NAME] sections of ~/.aws/config (or AWS_CONFIG_FILE) and the [NAME] sections of ~/.aws/credentials; or pass a role ARN")
	}
	if prof.RoleARN == "" {
		return prof, configErrorf("name a profile with role_arn, or a role ARN", "profile %q has no role_arn", name)
	}
	return prof, nil
}

// config reads the AWS config files at most once per request, and only when
// a profile must be resolved: the cache-hit path of a role ARN with keys in
// the environment reads nothing but the cache entry.
func (r *resolver) config() (*awsconfig.Config, error) {
	if !r.cfgDone {
		r.cfgDone = true
		r.cfg, r.cfgErr = awsconfig.Load(awsconfig.DefaultFiles(r.env.Getenv, r.env.HomeDir))
		if r.cfgErr != nil {
			r.cfgErr = configError(r.cfgErr, "fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere")
		}
	}
	return r.cfg, r.cfgErr
}

// applySession puts the session flags on the last hop (the role the command
// names last) and a session name on every hop that has none.
func (r *resolver) applySession(p *Plan) error {
	o := r.opts
	if p.Hops[len(p.Hops)-1].Kind == cache.KindSSORole {
		return o.forSSO()
	}
	defaultName := ""
	for i := range p.Hops {
		h := &p.Hops[i]
		if h.Kind == cache.KindSSORole {
			continue // no session name: the portal names the session after the user
		}
		if o.sessionName != "" && i == len(p.Hops)-1 {
			h.SessionName = o.sessionName
		}
		// A federated user without --session-name is named after the IAM
		// user, which the source's key already fixes.
		if h.SessionName == "" && h.Kind != cache.KindFederationToken {
			if defaultName == "" {
				defaultName = defaultSessionName(r.env.Getenv)
			}
			h.SessionName = defaultName
		}
	}
	last := &p.Hops[len(p.Hops)-1]
	if o.duration != 0 {
		last.Duration = o.duration
	}
	if o.policy != "" {
		last.Policy = o.policy
	}
	if len(o.policyARNs) > 0 {
		last.PolicyARNs = o.policyARNs
	}
	switch last.Kind {
	case cache.KindWebIdentity:
		return o.forWebIdentity()
	case cache.KindFederationToken:
		if err := o.forFederation(); err != nil {
			return err
		}
		if last.Policy == "" && len(last.PolicyARNs) == 0 {
			r.env.trace("GetFederationToken with a policy allowing everything: the console gets the IAM user's own permissions (--policy or --policy-arn narrows them)")
			last.Policy = FederationAllowAllPolicy
		}
		last.Tags = o.tags
		return nil
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&last.ExternalID, o.externalID)
	set(&last.MFASerial, o.mfaSerial)
	set(&last.SourceIdentity, o.sourceIdentity)
	if len(o.tags) > 0 {
		last.Tags, last.TransitiveTagKeys = o.tags, o.transitiveTagKeys
	}
	if o.mfaCode != "" {
		// A code on the command line serves whichever hop needs MFA.
		for i := range p.Hops {
			if p.Hops[i].MFASerial != "" {
				p.Hops[i].TokenCode = o.mfaCode
				break
			}
		}
	}
	return nil
}

// validateHops checks what came from config files as strictly as flags.
func validateHops(hops []Hop) error {
	for _, h := range hops {
		if h.Kind == cache.KindSSORole {
			continue // checked when the profile was read (ssoRole)
		}
		checks := []error{
			ValidateRoleARN(h.RoleARN),
			ValidateSessionName(h.SessionName),
			ValidateDuration(h.Duration),
			optionalCheck(h.ExternalID, ValidateExternalID),
			optionalCheck(h.MFASerial, ValidateMFASerial),
		}
		if h.Kind == cache.KindFederationToken {
			checks = []error{
				withHint(optionalCheck(h.SessionName, ValidateFederatedUserName), "pass a --session-name of 2 to 32 letters, digits and _+=,.@-"),
				withHint(ValidateFederationDuration(h.Duration), "pass --duration between 15m and 36h"),
			}
		}
		for _, err := range checks {
			if err != nil {
				// A federated user's settings come from flags only.
				if LooksLikeARN(h.Label) || h.Kind == cache.KindFederationToken {
					return err
				}
				return configError(fmt.Errorf("profile %s: %w", h.Label, err), "fix the profile in the AWS config file")
			}
		}
	}
	return nil
}

func optionalCheck(v string, check func(string) error) error {
	if v == "" {
		return nil
	}
	return check(v)
}

// placeCalls decides the region and the STS endpoint, as the AWS CLI v2
// does: a flag, then the environment, then the most specific profile of the
// chain (the role named last, back to the source).
func (r *resolver) placeCalls(p *Plan, profiles []awsconfig.Profile) error {
	getenv := r.env.Getenv
	region, from := r.req.Region, "--region"
	for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if region == "" {
			region, from = getenv(name), name
		}
	}
	var regionProfile *awsconfig.Profile
	for i := len(profiles) - 1; region == "" && i >= 0; i-- {
		if profiles[i].Region != "" {
			region, regionProfile = profiles[i].Region, &profiles[i]
		}
	}
	if err := checkRegion(region, from, regionProfile, r.env); err != nil {
		return err
	}
	if region == "" && r.req.RegionFor != "" && !r.defaultProfileHasRegion() {
		r.env.warn("%s", noRegionWarning(r.req.RegionFor, profiles))
	}
	p.Region, p.RegionKnown = region, region != ""
	if region == "" && len(p.Hops) > 0 {
		p.Region = DefaultRegion(p.Hops[len(p.Hops)-1].RoleARN)
	} else if region == "" {
		p.Region = "us-east-1"
	}

	endpoint, from := r.req.EndpointURL, "--endpoint-url"
	if !strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, name := range []string{"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"} {
			if endpoint == "" {
				endpoint, from = getenv(name), name
			}
		}
		for i := len(profiles) - 1; endpoint == "" && i >= 0; i-- {
			endpoint, from = profiles[i].STSEndpointURL, "profile "+profiles[i].Name+" endpoint_url"
		}
	}
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usageErrorf("pass a URL such as https://sts.us-east-1.amazonaws.com", "%s %q is not an http(s) URL", from, endpoint)
		}
	}
	p.Endpoint = endpoint
	// The CA bundle as the AWS CLI takes it: --ca-bundle, AWS_CA_BUNDLE, then
	// the profile's ca_bundle (botocore's configprovider order).
	p.CABundle = firstNonEmpty(r.req.CABundle, getenv("AWS_CA_BUNDLE"))
	for i := len(profiles) - 1; p.CABundle == "" && i >= 0; i-- {
		p.CABundle = profiles[i].CABundle
	}
	return nil
}

func hopFromProfile(p awsconfig.Profile) Hop {
	return Hop{
		Kind:        cache.KindAssumeRole,
		Label:       p.Name,
		RoleARN:     p.RoleARN,
		SessionName: p.RoleSessionName,
		ExternalID:  p.ExternalID,
		MFASerial:   p.MFASerial,
		Duration:    secondsToDuration(p.DurationSeconds),
	}
}

// defaultSessionName is rolecall- plus the OS user name, made valid for STS.
func defaultSessionName(getenv func(string) string) string {
	// The environment first: user.Current reads /etc/passwd (or loads NSS
	// libraries with cgo), a cost every cache hit would pay.
	name := firstNonEmpty(getenv("USER"), getenv("LOGNAME"), getenv("USERNAME"))
	if name == "" {
		if u, err := user.Current(); err == nil {
			name = u.Username
		}
	}
	return SessionNameFor(name)
}

func secondsToDuration(s int) time.Duration { return time.Duration(s) * time.Second }
