package cli

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
)

// requestFlags are the flags of every command that obtains credentials
// (assume, process, exec). They bind straight into this struct.
type requestFlags struct {
	Profile           string
	SessionName       string
	Duration          string
	ExternalID        string
	MFASerial         string
	MFACode           string
	MFACodeCommand    string
	MFASessionTTL     time.Duration
	Policy            string
	PolicyARNs        []string
	Tags              []string
	TransitiveTagKeys []string
	SourceIdentity    string
	Region            string
	EndpointURL       string
	NoCache           bool
	Refresh           bool
	CacheDir          string
	RefreshWindow     time.Duration
	Timeout           time.Duration
	NoPrompt          bool
	WebIdentity       webIdentityFlags
}

func (f *requestFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.Profile, "profile", "", "profile the base credentials come from (default: AWS_PROFILE, the SDK's default chain)")
	fl.StringVar(&f.SessionName, "session-name", "", "role session name (default: rolecall-USER)")
	fl.StringVar(&f.Duration, "duration", "", "session duration: a Go duration (1h30m) or seconds, 15m to 12h")
	fl.StringVar(&f.ExternalID, "external-id", "", "external ID the role's trust policy requires")
	fl.StringVar(&f.MFASerial, "mfa-serial", "", "MFA device serial or ARN")
	fl.StringVar(&f.MFACode, "mfa-code", "", "MFA code (6 digits); without it rolecall prompts on the terminal")
	fl.StringVar(&f.MFACodeCommand, "mfa-code-command", "", "command whose stdout is the MFA code (e.g. a YubiKey tool)")
	fl.DurationVar(&f.MFASessionTTL, "mfa-session-duration", 12*time.Hour, "life of the cached MFA session that serves every role assumed from long-term keys")
	fl.StringVar(&f.Policy, "policy", "", "inline session policy: JSON, @FILE, or - for stdin")
	fl.StringArrayVar(&f.PolicyARNs, "policy-arn", nil, "managed session policy ARN (repeatable, up to 10)")
	fl.StringArrayVar(&f.Tags, "tag", nil, "session tag KEY=VALUE (repeatable, up to 50)")
	fl.StringArrayVar(&f.TransitiveTagKeys, "transitive-tag-key", nil, "tag key that passes on to chained roles (repeatable)")
	fl.StringVar(&f.SourceIdentity, "source-identity", "", "source identity to set on the session")
	fl.StringVar(&f.Region, "region", "", "STS region (default: the profile's, AWS_REGION, then the partition's global region)")
	fl.StringVar(&f.EndpointURL, "endpoint-url", "", "STS endpoint URL (default: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's, the regional endpoint)")
	fl.BoolVar(&f.NoCache, "no-cache", false, "neither read nor write the credential cache")
	fl.BoolVar(&f.Refresh, "refresh", false, "get new credentials even if the cache holds valid ones")
	fl.StringVar(&f.CacheDir, "cache-dir", "", "cache directory (default: ROLECALL_CACHE_DIR, then the user cache dir + /rolecall)")
	fl.DurationVar(&f.RefreshWindow, "refresh-window", cache.DefaultRefreshWindow, "use cached credentials only with more than this left")
	fl.DurationVar(&f.Timeout, "timeout", time.Minute, "give up on STS (with retries) and cache locks after this long")
	fl.BoolVar(&f.NoPrompt, "no-prompt", false, "never prompt (also when CI=true): fail if an MFA code is needed")
	f.WebIdentity.bind(cmd)
}

// parseDuration takes a Go duration ("1h") or whole seconds ("3600").
func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, usageErrorf("use a Go duration like 1h30m or a number of seconds", "--duration %q is not a duration", s)
	}
	return d, nil
}

// requestOptions are the validated per-role options from the flags; they
// apply to the role named on the command line (the last hop).
type requestOptions struct {
	sessionName       string
	duration          time.Duration
	externalID        string
	mfaSerial         string
	mfaCode           string
	policy            string
	policyARNs        []string
	tags              []assume.Tag
	transitiveTagKeys []string
	sourceIdentity    string
}

// validate checks every flag before anything is called or read, so bad
// input fails fast with a message that names the flag.
func (f *requestFlags) validate(io *IO) (requestOptions, error) {
	var o requestOptions
	var err error
	if o.duration, err = parseDuration(f.Duration); err != nil {
		return o, err
	}
	if err := assume.ValidateDuration(o.duration); err != nil {
		return o, withCode(ExitUsage, err, "pass --duration between 15m and 12h")
	}
	checks := []struct {
		value string
		check func(string) error
	}{
		{f.SessionName, assume.ValidateSessionName},
		{f.ExternalID, assume.ValidateExternalID},
		{f.MFASerial, assume.ValidateMFASerial},
		{f.MFACode, assume.ValidateTokenCode},
		{f.SourceIdentity, assume.ValidateSourceIdentity},
	}
	for _, c := range checks {
		if c.value != "" {
			if err := c.check(c.value); err != nil {
				return o, err
			}
		}
	}
	if f.MFACode != "" && f.MFACodeCommand != "" {
		return o, usageErrorf("pass one of them", "--mfa-code and --mfa-code-command both given")
	}
	o.sessionName, o.externalID, o.mfaSerial, o.mfaCode, o.sourceIdentity = f.SessionName, f.ExternalID, f.MFASerial, f.MFACode, f.SourceIdentity

	policy, err := readPolicy(f.Policy, io)
	if err != nil {
		return o, err
	}
	if o.policy, err = assume.CanonicalPolicy(policy); err != nil {
		return o, err
	}
	if err := assume.ValidatePolicyARNs(f.PolicyARNs); err != nil {
		return o, err
	}
	o.policyARNs = f.PolicyARNs
	for _, t := range f.Tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return o, usageErrorf("write tags as --tag KEY=VALUE", "--tag %q has no '='", t)
		}
		o.tags = append(o.tags, assume.Tag{Key: k, Value: v})
	}
	if err := assume.ValidateTags(o.tags, f.TransitiveTagKeys); err != nil {
		return o, err
	}
	o.transitiveTagKeys = f.TransitiveTagKeys
	if f.RefreshWindow < 0 {
		return o, usageErrorf("", "--refresh-window must not be negative")
	}
	return o, nil
}

// readPolicy takes the --policy value: JSON text, @FILE, or - for stdin.
func readPolicy(v string, io *IO) (string, error) {
	switch {
	case v == "-":
		b, err := readAllLimited(io.In)
		if err != nil {
			return "", usageErrorf("", "read --policy from stdin: %v", err)
		}
		return string(b), nil
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return "", usageErrorf("pass --policy @FILE with a readable file", "read --policy file: %v", err)
		}
		return string(b), nil
	}
	return v, nil
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
	return assume.SessionNameFor(name)
}

// configLoader reads the AWS config files at most once per command, and
// only when a profile must be resolved: the cache-hit path of an ARN with
// no --profile reads nothing but the cache entry.
type configLoader struct {
	getenv func(string) string
	cfg    *awsconfig.Config
	err    error
	done   bool
}

func (l *configLoader) load() (*awsconfig.Config, error) {
	if !l.done {
		l.done = true
		home, _ := os.UserHomeDir()
		l.cfg, l.err = awsconfig.Load(awsconfig.DefaultFiles(l.getenv, home))
		if l.err != nil {
			l.err = withCode(ExitConfig, l.err, "fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere")
		}
	}
	return l.cfg, l.err
}

// profileNotFound reports a profile that exists in neither file.
func profileNotFound(name string) error {
	return withCode(ExitConfig, fmt.Errorf("profile %q not found in the AWS config or credentials file", name),
		"list profiles with: aws configure list-profiles; or pass a role ARN")
}
