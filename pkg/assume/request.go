package assume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/safefile"
	"github.com/rolecall/rolecall/pkg/sso"
)

// Request is everything a command says about the credentials it wants, as
// the user wrote it. The CLI binds its flags straight into these fields;
// Resolve parses and checks every one of them once.
type Request struct {
	// Roles are the ROLE arguments in chain order: role ARNs, or names of
	// profiles with role_arn.
	Roles []string
	// SourceOnly lets a request name no role at all: the base credentials
	// themselves are wanted (whoami).
	SourceOnly bool
	// ForConsole says the credentials will sign in to the AWS Management
	// Console through the federation endpoint, which takes role and
	// federated user sessions only. A request that names no role is then
	// allowed, and an IAM user's long-term keys are turned into a federated
	// user's session with GetFederationToken (see docs/console.md); the
	// session flags then apply to that call.
	ForConsole bool
	// ConsoleDuration is the console session length the federation endpoint
	// will be asked for (its SessionDuration), 0 for none. With ForConsole,
	// the resolver refuses it where the endpoint would: federated users and
	// roles assumed with temporary credentials (role chaining).
	ConsoleDuration time.Duration

	// Profile is --profile; empty lets AWS_PROFILE, then AWS_DEFAULT_PROFILE
	// name it, with the same meaning.
	Profile string

	// The session flags. They apply to the role the command names last
	// (the last hop); hops before it take their settings from their
	// profiles. MFACode serves whichever hop needs MFA.
	SessionName       string
	Duration          string // a Go duration (1h30m) or whole seconds
	ExternalID        string
	MFASerial         string
	MFACode           string
	Policy            string // JSON, @FILE, or - for stdin
	PolicyARNs        []string
	Tags              []string // KEY=VALUE
	TransitiveTagKeys []string
	SourceIdentity    string

	Region      string
	EndpointURL string
	// RegionFor names the program the credentials are handed to (exec's
	// command). When set and
	// nothing names a region, Resolve warns that the program gets none:
	// rolecall calls STS in the partition's global region, but does not
	// guess a region for the program.
	RegionFor string
	// CABundle is a PEM file of CAs to trust for STS instead of the
	// system's (a TLS-inspecting proxy's), over AWS_CA_BUNDLE and ca_bundle.
	CABundle    string
	WebIdentity WebIdentityFlags

	// MFASessionTTL is the life of the MFA session token that serves every
	// role assumed from long-term keys behind MFA.
	MFASessionTTL time.Duration

	NoCache       bool
	Refresh       bool
	CacheDir      string
	RefreshWindow time.Duration
	Timeout       time.Duration
}

// WebIdentityFlags choose where an OIDC token for AssumeRoleWithWebIdentity
// comes from.
type WebIdentityFlags struct {
	TokenFile string
	TokenEnv  string
	OIDC      string // github, gitlab or auto
	Audience  string
}

func (w WebIdentityFlags) explicit() bool {
	return w.TokenFile != "" || w.TokenEnv != "" || w.OIDC != ""
}

// Env is the world a request is resolved in: the process environment, the
// home directory, stdin, the clock, and the people and programs that can be
// asked. Nothing in this package reads them any other way, so tests give
// fakes.
type Env struct {
	Getenv func(string) string
	// Environ is the environment children (credential_process) start from.
	Environ func() []string
	HomeDir string
	Stdin   io.Reader
	// Stderr receives what a credential_process child says to a person.
	Stderr io.Writer
	Now    func() time.Time
	// HTTPClient carries every request; nil means the SDK's default.
	HTTPClient aws.HTTPClient
	// MFACode returns a code for an MFA device (a prompt, a command); nil
	// means there is no one to ask.
	MFACode func(ctx context.Context, serial string) (string, error)
	// KeyringPassphrase asks a person for the encrypted file keyring's
	// passphrase (confirm: a new file, ask twice); nil when nobody can be
	// asked.
	KeyringPassphrase func(ctx context.Context, confirm bool) (string, error)
	// SSOSignIn signs a person in to an IAM Identity Center session whose
	// token is missing or expired and returns the new token; nil means
	// there is nobody to ask, and a missing sign-in is an error
	// (*sso.LoginRequiredError).
	SSOSignIn func(ctx context.Context, s sso.Session) (sso.Token, error)
	// AutoLogin asks for sign-in on demand (--auto-login) for every
	// profile; a profile's rolecall_auto_login asks for it for that one.
	AutoLogin bool
	// Warn reports a problem that does not stop the command.
	Warn func(msg string)
	// Trace reports each step for --debug; it never receives a secret.
	Trace func(format string, args ...any)
}

func (e Env) warn(format string, args ...any) {
	if e.Warn != nil {
		e.Warn(fmt.Sprintf(format, args...))
	}
}

func (e Env) trace(format string, args ...any) {
	if e.Trace != nil {
		e.Trace(format, args...)
	}
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// sessionOptions are the session flags, parsed and checked.
type sessionOptions struct {
	sessionName       string
	duration          time.Duration
	externalID        string
	mfaSerial         string
	mfaCode           string
	policy            string
	policyARNs        []string
	tags              []cache.Tag
	transitiveTagKeys []string
	sourceIdentity    string
}

// forWebIdentity reports the flags AssumeRoleWithWebIdentity cannot take:
// tags and source identity come from the token's claims.
func (o sessionOptions) forWebIdentity() error {
	if o.externalID != "" || o.mfaSerial != "" || len(o.tags) > 0 || o.sourceIdentity != "" {
		return usageErrorf("session tags and source identity come from the token's claims; name a second role to assume with them",
			"AssumeRoleWithWebIdentity takes no --external-id, --mfa-serial, --tag or --source-identity")
	}
	return nil
}

// forFederation reports the flags GetFederationToken cannot take: it has
// no role to name an external ID, MFA or source identity for, and nothing
// can follow a federated user for tags to pass on to.
func (o sessionOptions) forFederation() error {
	if o.externalID != "" || o.mfaSerial != "" || o.mfaCode != "" || o.sourceIdentity != "" || len(o.transitiveTagKeys) > 0 {
		return usageErrorf("name a role to sign in to the console with them, or leave them out",
			"without a role, IAM user keys sign in as a federated user (GetFederationToken), which takes no --external-id, --mfa-serial, --mfa-code, --source-identity or --transitive-tag-key")
	}
	return nil
}

// maxPolicyBytes caps a --policy read from stdin or a file: far above any
// policy STS accepts, so a wrong pipe or /dev/zero fails fast.
const maxPolicyBytes = 1 << 20

// parseSession checks every session flag before anything is called or
// read, so bad input fails fast with a message that names the flag.
func parseSession(r Request, env Env) (sessionOptions, error) {
	var o sessionOptions
	var err error
	if o.duration, err = ParseDuration(r.Duration); err != nil {
		return o, err
	}
	if r.ForConsole {
		// A federated user's session may last 36h; validateHops holds each
		// hop to the limit of its kind once the plan says which it is.
		if err := ValidateFederationDuration(o.duration); err != nil {
			return o, withHint(err, "pass --duration between 15m and 36h (12h for a role)")
		}
	} else if err := ValidateDuration(o.duration); err != nil {
		return o, withHint(err, "pass --duration between 15m and 12h")
	}
	if err := ValidateMFASessionDuration(r.MFASessionTTL); err != nil {
		return o, withHint(err, "pass --mfa-session-duration between 15m and 36h")
	}
	if err := ValidateConsoleDuration(r.ConsoleDuration); err != nil {
		return o, withHint(err, "pass --console-duration between 15m and 12h, or leave it out")
	}
	for _, c := range []struct {
		value string
		check func(string) error
	}{
		{r.SessionName, ValidateSessionName},
		{r.ExternalID, ValidateExternalID},
		{r.MFASerial, ValidateMFASerial},
		{r.MFACode, ValidateTokenCode},
		{r.SourceIdentity, ValidateSourceIdentity},
	} {
		if c.value != "" {
			if err := c.check(c.value); err != nil {
				return o, err
			}
		}
	}
	o.sessionName, o.externalID, o.mfaSerial, o.mfaCode, o.sourceIdentity = r.SessionName, r.ExternalID, r.MFASerial, r.MFACode, r.SourceIdentity

	policy, err := readPolicy(r.Policy, env)
	if err != nil {
		return o, err
	}
	if o.policy, err = CanonicalPolicy(policy); err != nil {
		return o, err
	}
	if err := ValidatePolicyARNs(r.PolicyARNs); err != nil {
		return o, err
	}
	o.policyARNs = r.PolicyARNs
	for _, t := range r.Tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return o, usageErrorf("write tags as --tag KEY=VALUE", "--tag %q has no '='", t)
		}
		o.tags = append(o.tags, cache.Tag{Key: k, Value: v})
	}
	if err := ValidateTags(o.tags, r.TransitiveTagKeys); err != nil {
		return o, err
	}
	o.transitiveTagKeys = r.TransitiveTagKeys
	if r.RefreshWindow < 0 {
		return o, usageErrorf("", "--refresh-window must not be negative")
	}
	if r.Timeout <= 0 {
		return o, usageErrorf("pass a positive --timeout such as 30s", "--timeout %s is not a positive duration", r.Timeout)
	}
	return o, nil
}

// ParseDuration takes a Go duration ("1h") or whole seconds ("3600").
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 || n > int64(MaxSessionDuration/time.Second) {
			return 0, usageErrorf("pass --duration between 15m and 12h", "--duration %s seconds is out of range", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usageErrorf("use a Go duration like 1h30m or a number of seconds", "--duration %q is not a duration", s)
	}
	return d, nil
}

// readPolicy takes the --policy value: JSON text, @FILE, or - for stdin.
func readPolicy(v string, env Env) (string, error) {
	switch {
	case v == "-":
		if env.Stdin == nil {
			return "", usageErrorf("", "read --policy from stdin: no stdin")
		}
		b, err := readCapped(env.Stdin, maxPolicyBytes)
		if err != nil {
			return "", usageErrorf("", "read --policy from stdin: %v", err)
		}
		return string(b), nil
	case strings.HasPrefix(v, "@"):
		b, err := readRegularFile(v[1:], maxPolicyBytes)
		if err != nil {
			return "", usageErrorf("pass --policy @FILE with a readable file", "read --policy file: %v", err)
		}
		return string(b), nil
	}
	return v, nil
}

// readCapped reads r whole, failing past limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, err
}

// readRegularFile reads a file the user named, which must be a regular
// file of at most limit bytes: a FIFO never blocks and /dev/zero is refused
// instead of read forever.
func readRegularFile(path string, limit int64) ([]byte, error) {
	b, err := safefile.ReadFile(path, safefile.ReadOptions{MaxSize: limit})
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return nil, pe.Err
	}
	return b, err
}

// Pinned returns r with what can be read only once read now: a --policy
// of - (stdin) or @FILE becomes the policy's text. A credential endpoint
// obtains one request again and again, and stdin is gone after the first
// read; the policy it serves is the one given at start.
func (r Request) Pinned(env Env) (Request, error) {
	policy, err := readPolicy(r.Policy, env)
	if err != nil {
		return r, err
	}
	r.Policy = policy
	r.Roles = slices.Clip(r.Roles)
	return r, nil
}

// Check parses and checks the request's flags without resolving anything,
// for commands that store them (configure) rather than use them.
func (r Request) Check(env Env) error {
	if _, err := parseSession(r, env); err != nil {
		return err
	}
	return checkRegion(r.Region, "--region", nil, env)
}
