// Package assume turns a request (ROLE arguments, flags, the environment and
// the AWS config files) into a plan of STS calls, and runs it: the cache
// first, STS second. Resolve is the one place that decides how a role is
// reached; Obtain is the whole use case the commands call.
//
// Each hop of a chain is cached on its own, keyed by the hop before it (and
// the first hop by the identity of the base credentials), so a warm chain
// makes no STS call and a chain whose last hop expired makes exactly one.
package assume

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
)

// Source is where the credentials of the first hop come from: the kind and
// profile awsconfig resolved, with what the runner needs to load it.
type Source struct {
	awsconfig.Source
	// Settings is the source profile's definition (credential_process, SSO
	// settings); nil for a source that is no profile.
	Settings *awsconfig.Profile
	// ContainerURI is the container credentials endpoint (SourceECS).
	ContainerURI string
	// ContainerTokenDigest is the SHA-256 of the authorization token the
	// endpoint is sent (the token file's content, else the token
	// variable's): one endpoint serves each token's own identity, as EKS
	// Pod Identity gives every service account its own token.
	ContainerTokenDigest string
	// LookedIn is, for instance metadata reached because nothing else
	// had credentials, where rolecall looked before it: a failure then
	// says "no AWS credentials found" with what instance metadata said
	// last, as when it is turned off.
	LookedIn string
}

// cacheID names the base identity in the cache key without holding a
// secret: the access key ID of keys, the digest of a web identity token, the
// whole definition of a profile whose identity only its provider knows
// (credential_process, SSO), the container endpoint. Two sources that could
// be different principals never share an ID.
func (s Source) cacheID(token string) string {
	switch s.Kind {
	case awsconfig.SourceStatic, awsconfig.SourceEnvironment, awsconfig.SourceKeychain:
		return "keys:" + s.StaticKeys.AccessKeyID
	case awsconfig.SourceWebIdentity:
		sum := sha256.Sum256([]byte(token))
		return "web-identity:" + hex.EncodeToString(sum[:])
	case awsconfig.SourceProcess, awsconfig.SourceSSO:
		return string(s.Kind) + ":" + s.Settings.Fingerprint()
	case awsconfig.SourceECS:
		return "container:" + s.ContainerURI + " token:" + s.ContainerTokenDigest
	}
	return string(s.Kind)
}

// longTermKeys reports whether the source is an IAM user's own access key,
// the only kind of credentials GetSessionToken with MFA can start from.
func (s Source) longTermKeys() bool {
	return s.StaticKeys != nil && s.StaticKeys.SessionToken == ""
}

// Hop is one STS call of a chain.
type Hop struct {
	Kind  string // cache.KindAssumeRole, KindSessionToken, KindWebIdentity, KindFederationToken or KindSSORole
	Label string // what the user named: a profile or a role ARN

	RoleARN string
	// SessionName is the role session name; for KindFederationToken the
	// federated user's Name, empty for the IAM user's own name (asked of
	// GetCallerIdentity when the call is made).
	SessionName       string
	ExternalID        string
	MFASerial         string
	TokenCode         string // given up front; else Env.MFACode asks
	Policy            string // canonical, see CanonicalPolicy
	PolicyARNs        []string
	Tags              []cache.Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	Duration          time.Duration // 0: STS's default
}

// Plan is a whole request: a source and the hops to assume from it, and
// where to send the calls.
type Plan struct {
	Source Source
	// WebIdentity is the OIDC token of a SourceWebIdentity.
	WebIdentity webIdentityToken
	// SSO is the IAM Identity Center role of a SourceSSO, whose
	// credentials are the first hop (KindSSORole).
	SSO  *SSORole
	Hops []Hop
	// Region is the region STS is called in; RegionKnown says whether the
	// user named it (a flag, the environment, a profile) rather than it
	// being the partition's default.
	Region      string
	RegionKnown bool
	Endpoint    string // STS endpoint URL; empty for the SDK's regional default
	CABundle    string // PEM file of extra roots for STS's TLS certificate
}

// Target names the role a plan ends at, for messages.
func (p Plan) Target() string {
	if len(p.Hops) == 0 {
		return p.Source.Profile
	}
	return p.Hops[len(p.Hops)-1].Label
}

// useMFASession rewrites a plan whose hops need MFA and whose source is an
// IAM user's long-term key: it first gets an MFA-authenticated session token
// (one prompt, cached for sessionDuration) and assumes every role with that
// session, the way aws-vault does, so one code serves every role for the day.
// Roles that require MFA accept such a session: it carries
// aws:MultiFactorAuthPresent.
func (p Plan) useMFASession(sessionDuration time.Duration) Plan {
	if !p.Source.longTermKeys() {
		return p
	}
	serial, code := "", ""
	for _, h := range p.Hops {
		if h.MFASerial != "" {
			serial, code = h.MFASerial, h.TokenCode
			break
		}
	}
	if serial == "" {
		return p
	}
	hops := make([]Hop, 0, len(p.Hops)+1)
	hops = append(hops, Hop{
		Kind:      cache.KindSessionToken,
		Label:     "mfa-session " + serial,
		MFASerial: serial,
		TokenCode: code,
		Duration:  sessionDuration,
	})
	for _, h := range p.Hops {
		h.MFASerial, h.TokenCode = "", ""
		hops = append(hops, h)
	}
	p.Hops = hops
	return p
}

// chained reports whether hop i is assumed with a role session's
// credentials, which STS caps at one hour: the hop after a role (assumed,
// by web identity, or IAM Identity Center's), and a first AssumeRole when
// the source is itself a role session. The calls that make a role session
// from a source (AssumeRoleWithWebIdentity, GetRoleCredentials) are no
// chaining themselves. This is the one rule of role chaining.
func (p Plan) chained(i int) bool {
	if p.Hops[i].Kind == cache.KindFederationToken {
		return false // called with long-term keys only
	}
	if i == 0 {
		return p.Hops[0].Kind == cache.KindAssumeRole && p.Source.RoleSession()
	}
	switch p.Hops[i-1].Kind {
	case cache.KindAssumeRole, cache.KindWebIdentity, cache.KindSSORole:
		return true
	}
	return false
}

// FederationAllowAllPolicy is the session policy of a GetFederationToken
// call that names none. Without a session policy a federated user's
// session has no permissions at all; a session policy can only narrow the
// IAM user's own permissions ("the resulting session's permissions are the
// intersection of the user's identity-based policy and the session
// policies. You cannot use the session policy to grant more permissions
// than those allowed by the identity-based policy of the user that is being
// federated", IAM User Guide, "Permissions for GetFederationToken"). So
// allowing everything here gives the console exactly the user's own
// permissions, never more: what aws-vault passes for `aws-vault login`
// (vault/federationtokenprovider.go). --policy and --policy-arn narrow it.
const FederationAllowAllPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// consoleDurationRefusal says why the federation endpoint would refuse a
// SessionDuration for the credentials p ends at, or "" when it takes one or
// only the endpoint can tell. The IAM User Guide ("Enable custom identity
// broker access to the AWS console"): SessionDuration is for sessions from
// the AssumeRole* operations, and "When you use DurationSeconds in an
// AssumeRole* operation, you must call it as an IAM user with long-term
// credentials. Otherwise, the call to the federation endpoint in step 3
// fails"; "Do not use the SessionDuration HTTP parameter if you got the
// temporary credentials with GetFederationToken". Brokers leave it out for
// chained sessions for that reason (gravitational/teleport#9792).
func (p Plan) consoleDurationRefusal() string {
	if len(p.Hops) == 0 {
		return "" // the source's own session (SSO, process, ...): the endpoint decides
	}
	i := len(p.Hops) - 1
	switch p.Hops[i].Kind {
	case cache.KindFederationToken:
		return "a federated user's session (GetFederationToken), whose console session lasts as long as the session itself"
	case cache.KindWebIdentity, cache.KindSSORole:
		return ""
	}
	switch {
	case i > 0 && p.Hops[i-1].Kind == cache.KindSessionToken:
		return "a role assumed with an MFA session token, which is temporary credentials"
	case i > 0:
		return "a role assumed with another role's session (role chaining)"
	case p.Source.RoleSession():
		return "a role assumed with an IAM Identity Center or web identity session (role chaining)"
	case p.Source.Kind == awsconfig.SourceEC2 || p.Source.Kind == awsconfig.SourceECS:
		return "a role assumed with instance or container credentials, which are temporary"
	case p.Source.StaticKeys != nil && p.Source.StaticKeys.SessionToken != "":
		return "a role assumed with temporary credentials (AWS_SESSION_TOKEN or aws_session_token is set)"
	}
	return ""
}

// Keys returns the cache key of every hop of p, in order. A hop's key
// includes the key of the hop before it, so a chain is a path of keys, and
// the first includes the identity of the source.
func (p Plan) Keys() []string {
	inputs := p.keyInputs()
	keys := make([]string, len(inputs))
	for i, in := range inputs {
		keys[i] = in.Key()
	}
	return keys
}

// keyInputs are what each hop's cache key is made of.
func (p Plan) keyInputs() []cache.KeyInput {
	inputs := make([]cache.KeyInput, len(p.Hops))
	source := p.Source.cacheID(p.WebIdentity.Token)
	for i, h := range p.Hops {
		if h.Kind == cache.KindSSORole && p.SSO != nil {
			inputs[i] = p.SSO.keyInput()
		} else {
			inputs[i] = cache.KeyInput{
				Kind:              h.Kind,
				Source:            source,
				RoleARN:           h.RoleARN,
				SessionName:       h.SessionName,
				ExternalID:        h.ExternalID,
				MFASerial:         h.MFASerial,
				Policy:            h.Policy,
				PolicyARNs:        h.PolicyARNs,
				Tags:              h.Tags,
				TransitiveTagKeys: h.TransitiveTagKeys,
				SourceIdentity:    h.SourceIdentity,
				DurationSeconds:   int(h.Duration / time.Second),
				Region:            p.Region,
				Endpoint:          p.Endpoint,
			}
		}
		source = "cache:" + inputs[i].Key()
	}
	return inputs
}

// sourceLabel says in words where hop i's credentials come from, for
// `cache list`: the hop before it, else the plan's source.
func (p Plan) sourceLabel(i int) string {
	if i > 0 {
		return "via " + p.Hops[i-1].Label
	}
	s := p.Source
	switch {
	case p.Hops[0].Kind == cache.KindSSORole && p.SSO != nil && p.SSO.Session.Name != "":
		return "sso-session " + p.SSO.Session.Name
	case p.Hops[0].Kind == cache.KindSSORole && p.SSO != nil:
		return "sso " + p.SSO.Session.StartURL
	case s.Kind == awsconfig.SourceWebIdentity:
		return "web identity token"
	case s.Profile != "":
		return "profile " + s.Profile
	case s.StaticKeys != nil:
		return "AWS_ACCESS_KEY_ID " + s.StaticKeys.AccessKeyID
	case s.Kind == awsconfig.SourceECS:
		return "container endpoint"
	case s.Kind == awsconfig.SourceEC2:
		return "instance metadata"
	}
	return string(s.Kind)
}

// staticSource is a source of keys already in hand.
func staticSource(kind awsconfig.SourceKind, profile string, c *creds.Credentials) Source {
	return Source{Source: awsconfig.Source{Kind: kind, Profile: profile, StaticKeys: c}}
}
