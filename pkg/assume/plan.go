// Package assume turns a request (a source of base credentials and a list of
// roles) into STS calls, asking the cache first. Each hop of a chain is
// cached on its own, keyed by the hop before it, so a warm chain makes no STS
// call and a chain whose last hop expired makes exactly one.
package assume

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

// Kinds of STS call a hop makes; they are also the cache entry kinds.
const (
	KindAssumeRole   = "assume-role"
	KindSessionToken = "session-token"
	KindWebIdentity  = "web-identity"
)

// SourceKind says where the first hop's credentials come from.
type SourceKind string

// Source kinds.
const (
	// SourceDefault is the SDK's default chain with no explicit profile.
	SourceDefault SourceKind = "default"
	// SourceProfile is a profile the SDK loads itself (SSO,
	// credential_process, web identity, or anything rolecall does not
	// resolve on its own).
	SourceProfile SourceKind = "profile"
	// SourceStatic is a set of keys read from a profile or the environment.
	SourceStatic SourceKind = "static"
	// SourceEC2 and SourceECS are the instance and container metadata
	// endpoints named by credential_source.
	SourceEC2 SourceKind = "ec2-instance-metadata"
	SourceECS SourceKind = "ecs-container"
	// SourceWebIdentity means the first hop is AssumeRoleWithWebIdentity and
	// needs no base credentials.
	SourceWebIdentity SourceKind = "web-identity"
)

// Source is where the credentials of the first hop come from.
type Source struct {
	Kind    SourceKind
	Profile string             // SourceProfile, and the origin of SourceStatic keys
	Static  *creds.Credentials // SourceStatic
	// Token is the web identity token (SourceWebIdentity); Origin names where
	// it came from for messages ("file /var/run/…", "GitHub Actions").
	Token       string
	TokenOrigin string
}

// cacheID names the source in the cache key without holding a secret: the
// profile, the access key ID, or a digest of the web identity token.
func (s Source) cacheID() string {
	switch s.Kind {
	case SourceStatic:
		return "static:" + s.Profile + ":" + s.Static.AccessKeyID
	case SourceProfile:
		return "profile:" + s.Profile
	case SourceWebIdentity:
		sum := sha256.Sum256([]byte(s.Token))
		return "web-identity:" + hex.EncodeToString(sum[:])
	default:
		return string(s.Kind)
	}
}

// longTermKeys reports whether the source is an IAM user's own access key,
// the only kind of credentials GetSessionToken with MFA can start from.
func (s Source) longTermKeys() bool {
	return s.Kind == SourceStatic && s.Static.SessionToken == ""
}

// Hop is one STS call of a chain.
type Hop struct {
	Kind  string
	Label string // what the user named: a profile or a role ARN

	RoleARN           string
	SessionName       string
	ExternalID        string
	MFASerial         string
	TokenCode         string // given up front; else Runner.MFACode asks
	Policy            string // canonical, see CanonicalPolicy
	PolicyARNs        []string
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	Duration          time.Duration // 0: STS's default
}

// Plan is a whole request: a source and the hops to assume from it.
type Plan struct {
	Source   Source
	Hops     []Hop
	Region   string
	Endpoint string // STS endpoint URL; empty for the SDK's regional default
}

// UseMFASession rewrites a plan whose hops need MFA and whose source is an
// IAM user's long-term key: it first gets an MFA-authenticated session token
// (one prompt, cached for sessionDuration) and assumes every role with that
// session, the way aws-vault does, so one code serves every role for the day.
// Roles that require MFA accept such a session: it carries
// aws:MultiFactorAuthPresent.
func (p Plan) UseMFASession(sessionDuration time.Duration) Plan {
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
		Kind:      KindSessionToken,
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
// credentials: STS then caps its duration at one hour.
func (p Plan) chained(i int) bool {
	if i == 0 {
		return false // a source's own session (if any) is not known to be a role's
	}
	prev := p.Hops[i-1].Kind
	return prev == KindAssumeRole || prev == KindWebIdentity
}
