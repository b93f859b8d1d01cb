package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
)

// planner turns the command line (ROLE [ROLE…] and the request flags) into
// an assume.Plan: where the base credentials come from and which roles to
// assume from them, in order.
type planner struct {
	io     *IO
	flags  *requestFlags
	opts   requestOptions
	config *configLoader
	// webIdentity, when set, is the source: the first role is assumed with
	// AssumeRoleWithWebIdentity.
	webIdentity *assume.Source
}

func (pl *planner) plan(roles []string) (assume.Plan, error) {
	getenv := pl.io.Getenv
	var p assume.Plan
	var regionFromProfile, endpointFromProfile string

	first := roles[0]
	switch {
	case pl.webIdentity != nil:
		if !assume.LooksLikeARN(first) {
			return p, usageErrorf("pass the role ARN the token's trust policy names", "with web identity the first role must be a role ARN, got %q", first)
		}
		p.Source = *pl.webIdentity
		p.Hops = []assume.Hop{{Kind: assume.KindWebIdentity, Label: first, RoleARN: first, SessionName: ciSessionName(getenv)}}
		roles = roles[1:]
	case assume.LooksLikeARN(first) && pl.flags.Profile != "":
		chain, err := pl.chain(pl.flags.Profile)
		if err != nil {
			return p, err
		}
		p.Source, p.Hops = chain.source, chain.hops
		regionFromProfile, endpointFromProfile = chain.region, chain.endpoint
	case assume.LooksLikeARN(first):
		p.Source = pl.defaultSource()
	default:
		if pl.flags.Profile != "" {
			// ROLE names a role profile; --profile replaces its source.
			src, err := pl.chain(pl.flags.Profile)
			if err != nil {
				return p, err
			}
			role, err := pl.roleProfile(first)
			if err != nil {
				return p, err
			}
			p.Source, p.Hops = src.source, append(src.hops, pl.hopFromProfile(role))
			regionFromProfile, endpointFromProfile = firstNonEmpty(role.Region, src.region), firstNonEmpty(role.STSEndpointURL, src.endpoint)
		} else {
			chain, err := pl.chain(first)
			if err != nil {
				return p, err
			}
			if len(chain.hops) == 0 {
				return p, withCode(ExitConfig, fmt.Errorf("profile %q has no role_arn: there is no role to assume", first),
					"name a profile with role_arn, or pass a role ARN with --profile "+first)
			}
			p.Source, p.Hops = chain.source, chain.hops
			regionFromProfile, endpointFromProfile = chain.region, chain.endpoint
		}
		roles = roles[1:]
	}

	// The remaining roles (ARNs or role profiles) are assumed in order, each
	// with the credentials of the one before.
	for _, r := range roles {
		if assume.LooksLikeARN(r) {
			if err := assume.ValidateRoleARN(r); err != nil {
				return p, withCode(ExitUsage, err, "pass a role ARN (arn:aws:iam::ACCOUNT:role/NAME) or a profile name")
			}
			p.Hops = append(p.Hops, assume.Hop{Kind: assume.KindAssumeRole, Label: r, RoleARN: r})
			continue
		}
		prof, err := pl.roleProfile(r)
		if err != nil {
			return p, err
		}
		p.Hops = append(p.Hops, pl.hopFromProfile(prof))
	}
	pl.applyFlags(&p)

	p.Region = firstNonEmpty(pl.flags.Region, regionFromProfile, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"))
	p.Endpoint = firstNonEmpty(pl.flags.EndpointURL, getenv("AWS_ENDPOINT_URL_STS"), getenv("AWS_ENDPOINT_URL"), endpointFromProfile)
	return p, nil
}

// region is the region the plan will call, with the partition's default
// when nothing names one; known says whether a user named it.
func planRegion(p assume.Plan) (region string, known bool) {
	if p.Region != "" {
		return p.Region, true
	}
	return assume.DefaultRegion(p.Hops[len(p.Hops)-1].RoleARN), false
}

// applyFlags puts the per-role flags on the last hop and the session name
// on every hop that has none from its profile.
func (pl *planner) applyFlags(p *assume.Plan) {
	o := pl.opts
	defaultName := ""
	for i := range p.Hops {
		h := &p.Hops[i]
		if o.sessionName != "" && i == len(p.Hops)-1 {
			h.SessionName = o.sessionName
		}
		if h.SessionName == "" {
			if defaultName == "" {
				defaultName = defaultSessionName(pl.io.Getenv)
			}
			h.SessionName = defaultName
		}
	}
	last := &p.Hops[len(p.Hops)-1]
	if last.Kind == assume.KindWebIdentity {
		// AssumeRoleWithWebIdentity takes no external ID, MFA, tags or
		// source identity (those come from the token); validateWebIdentity
		// refuses them.
		last.Policy, last.PolicyARNs = o.policy, o.policyARNs
		if o.duration != 0 {
			last.Duration = o.duration
		}
		return
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&last.ExternalID, o.externalID)
	set(&last.MFASerial, o.mfaSerial)
	set(&last.TokenCode, o.mfaCode)
	set(&last.Policy, o.policy)
	set(&last.SourceIdentity, o.sourceIdentity)
	if o.duration != 0 {
		last.Duration = o.duration
	}
	last.PolicyARNs, last.Tags, last.TransitiveTagKeys = o.policyARNs, o.tags, o.transitiveTagKeys
	if o.mfaCode != "" {
		// A code on the command line serves whichever hop needs MFA.
		for i := range p.Hops {
			if p.Hops[i].MFASerial != "" {
				p.Hops[i].TokenCode = o.mfaCode
				break
			}
		}
	}
}

// defaultSource is the base for a role ARN with no --profile: keys in the
// environment, else the SDK's default chain. The config file is not read,
// so a cache hit costs one file read.
func (pl *planner) defaultSource() assume.Source {
	getenv := pl.io.Getenv
	if id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		return assume.Source{Kind: assume.SourceStatic, Profile: "env", Static: &creds.Credentials{
			AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN"),
		}}
	}
	if p := firstNonEmpty(getenv("AWS_PROFILE"), getenv("AWS_DEFAULT_PROFILE")); p != "" {
		return assume.Source{Kind: assume.SourceProfile, Profile: p}
	}
	return assume.Source{Kind: assume.SourceDefault}
}

// resolvedChain is a profile's chain in the terms of a plan.
type resolvedChain struct {
	source   assume.Source
	hops     []assume.Hop
	region   string
	endpoint string
}

func (pl *planner) chain(profile string) (resolvedChain, error) {
	var rc resolvedChain
	cfg, err := pl.config.load()
	if err != nil {
		return rc, err
	}
	if !cfg.HasProfile(profile) {
		return rc, profileNotFound(profile)
	}
	chain, err := cfg.Chain(profile)
	if err != nil {
		return rc, withCode(ExitConfig, err, "fix the profile in the AWS config file")
	}
	switch chain.Source.Kind {
	case awsconfig.SourceStatic:
		rc.source = assume.Source{Kind: assume.SourceStatic, Profile: chain.Source.Profile, Static: chain.Source.StaticKeys}
	case awsconfig.SourceEnvironment:
		rc.source = pl.defaultSource()
		if rc.source.Kind != assume.SourceStatic {
			return rc, withCode(ExitConfig, fmt.Errorf("profile %q has credential_source = Environment but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", profile),
				"export the keys, or change credential_source")
		}
	case awsconfig.SourceEC2:
		rc.source = assume.Source{Kind: assume.SourceEC2}
	case awsconfig.SourceECS:
		rc.source = assume.Source{Kind: assume.SourceECS}
	default:
		rc.source = assume.Source{Kind: assume.SourceProfile, Profile: chain.Source.Profile}
	}
	if sp, err := cfg.Profile(chain.Source.Profile); err == nil {
		rc.region, rc.endpoint = sp.Region, sp.STSEndpointURL
		if sp.RoleARN != "" && sp.WebIdentityTokenFile != "" {
			// role_arn with web_identity_token_file: rolecall makes the
			// AssumeRoleWithWebIdentity call itself, so it is cached.
			token, err := readTokenFile(sp.WebIdentityTokenFile)
			if err != nil {
				return rc, err
			}
			rc.source = assume.Source{Kind: assume.SourceWebIdentity, Token: strings.TrimSpace(token), TokenOrigin: "file " + sp.WebIdentityTokenFile}
			rc.hops = append(rc.hops, assume.Hop{Kind: assume.KindWebIdentity, Label: sp.Name, RoleARN: sp.RoleARN,
				SessionName: sp.RoleSessionName, Duration: secondsToDuration(sp.DurationSeconds)})
		}
	}
	for _, prof := range chain.Roles {
		rc.hops = append(rc.hops, pl.hopFromProfile(prof))
		rc.region = firstNonEmpty(prof.Region, rc.region)
		rc.endpoint = firstNonEmpty(prof.STSEndpointURL, rc.endpoint)
	}
	return rc, nil
}

// roleProfile returns a profile that must have a role_arn.
func (pl *planner) roleProfile(name string) (awsconfig.Profile, error) {
	cfg, err := pl.config.load()
	if err != nil {
		return awsconfig.Profile{}, err
	}
	if !cfg.HasProfile(name) {
		return awsconfig.Profile{}, profileNotFound(name)
	}
	prof, err := cfg.Profile(name)
	if err != nil {
		return prof, withCode(ExitConfig, err, "")
	}
	if prof.RoleARN == "" {
		return prof, withCode(ExitConfig, fmt.Errorf("profile %q has no role_arn", name), "name a profile with role_arn, or a role ARN")
	}
	return prof, nil
}

func (pl *planner) hopFromProfile(p awsconfig.Profile) assume.Hop {
	return assume.Hop{
		Kind:        assume.KindAssumeRole,
		Label:       p.Name,
		RoleARN:     p.RoleARN,
		SessionName: p.RoleSessionName,
		ExternalID:  p.ExternalID,
		MFASerial:   p.MFASerial,
		Duration:    secondsToDuration(p.DurationSeconds),
	}
}

func secondsToDuration(s int) time.Duration { return time.Duration(s) * time.Second }
