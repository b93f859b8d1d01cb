package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/sso"
)

// requestFlags are the flags of every command that obtains credentials
// (assume, process, exec, whoami): the request itself binds straight into
// assume.Request, which resolves it; the rest say how to ask a person.
type requestFlags struct {
	assume.Request
	MFACodeCommand string
	NoPrompt       bool
	// AutoLogin signs a person in to IAM Identity Center when the token is
	// missing or expired (also ROLECALL_AUTO_LOGIN=true), instead of exit 6.
	AutoLogin bool
	// KubectlNoPrompt is set when kubectl says its exec plugin may not
	// prompt (eks token).
	KubectlNoPrompt bool
}

func (f *requestFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	r := &f.Request
	fl.StringVar(&r.Profile, "profile", "", "profile the base credentials come from (default: AWS_PROFILE, AWS_DEFAULT_PROFILE; see docs/config.md)")
	fl.StringVar(&r.SessionName, "session-name", "", "role session name of the role named last (default: rolecall-USER)")
	fl.StringVar(&r.Duration, "duration", "", "session duration of the role named last: a Go duration (1h30m) or seconds, 15m to 12h")
	fl.StringVar(&r.ExternalID, "external-id", "", "external ID the trust policy of the role named last requires")
	fl.StringVar(&r.MFASerial, "mfa-serial", "", "MFA device serial or ARN for the role named last")
	fl.StringVar(&r.MFACode, "mfa-code", "", "MFA code (6 digits) for whichever role needs MFA; without it rolecall prompts on the terminal")
	fl.StringVar(&f.MFACodeCommand, "mfa-code-command", "", "command whose stdout is the MFA code (e.g. a YubiKey tool)")
	fl.Var(newDurationFlag(&r.MFASessionTTL, assume.DefaultMFASessionDuration), "mfa-session-duration", "life of the cached MFA session that serves every role assumed from long-term keys: a Go duration or seconds, 15m to 36h")
	fl.StringVar(&r.Policy, "policy", "", "inline session policy for the role named last: JSON, @FILE, or - for stdin")
	fl.StringArrayVar(&r.PolicyARNs, "policy-arn", nil, "managed session policy ARN for the role named last (repeatable, up to 10)")
	fl.StringArrayVar(&r.Tags, "tag", nil, "session tag KEY=VALUE for the role named last (repeatable, up to 50)")
	fl.StringArrayVar(&r.TransitiveTagKeys, "transitive-tag-key", nil, "tag key that passes on to chained roles (repeatable)")
	fl.StringVar(&r.SourceIdentity, "source-identity", "", "source identity to set on the session of the role named last")
	fl.StringVar(&r.Region, "region", "", "STS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, then the partition's global region)")
	fl.StringVar(&r.EndpointURL, "endpoint-url", "", "STS endpoint URL (default: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's, the regional endpoint)")
	fl.StringVar(&r.CABundle, "ca-bundle", "", "PEM file of CAs to trust for STS instead of the system's (default: AWS_CA_BUNDLE, the profile's ca_bundle)")
	fl.BoolVar(&r.NoCache, "no-cache", false, "neither read nor write the credential cache")
	fl.BoolVar(&r.Refresh, "refresh", false, "get new credentials even if the cache holds valid ones")
	fl.StringVar(&r.CacheDir, "cache-dir", "", "cache directory (default: ROLECALL_CACHE_DIR, then the user cache dir + /rolecall)")
	fl.DurationVar(&r.RefreshWindow, "refresh-window", cache.DefaultRefreshWindow, "use cached credentials only with more than this left")
	fl.DurationVar(&r.Timeout, "timeout", time.Minute, "give up on STS (with retries), cache locks and prompts after this long")
	fl.BoolVar(&f.AutoLogin, "auto-login", false, "sign in to IAM Identity Center (rolecall login's flow) when the token is missing or expired, instead of failing (also ROLECALL_AUTO_LOGIN=true)")
	fl.BoolVar(&f.NoPrompt, "no-prompt", false, "never prompt (also when CI=true): fail if an MFA code is needed")
	w := &r.WebIdentity
	fl.StringVar(&w.TokenFile, "web-identity-token-file", "", "assume the first role with the OIDC token in this file (AssumeRoleWithWebIdentity)")
	fl.StringVar(&w.TokenEnv, "web-identity-token-env", "", "assume the first role with the OIDC token in this environment variable")
	fl.StringVar(&w.OIDC, "oidc", "", "get the OIDC token from the CI: github, gitlab, or auto")
	fl.StringVar(&w.Audience, "audience", assume.DefaultAudience, "audience to request for the GitHub Actions OIDC token")
}

// env is the world a request resolves in, all of it from the IO seam.
func (f *requestFlags) env(io *IO) assume.Env {
	return assume.Env{
		Getenv:    io.Getenv,
		Environ:   io.Environ,
		HomeDir:   io.HomeDir,
		Stdin:     io.In,
		Stderr:    io.ErrOut,
		Now:       io.Now,
		MFACode:   mfaCodeSource(io, f),
		SSOSignIn: f.ssoSignIn(io),

		KeyringPassphrase: keyringPassphrase(io, f),
		AutoLogin:         f.AutoLogin || strings.EqualFold(io.Getenv(autoLoginEnv), "true") || io.Getenv(autoLoginEnv) == "1",
		Warn:              io.warnOnce,
		Trace:             io.Debugf,
	}
}

// autoLoginEnv turns --auto-login on for every command (a shell profile,
// an SDK's credential_process line that cannot take the flag everywhere).
const autoLoginEnv = "ROLECALL_AUTO_LOGIN"

// ssoSignIn is sign-in on demand (--auto-login, ROLECALL_AUTO_LOGIN, or a
// profile's rolecall_auto_login): rolecall login's flow
// (the browser, else a device code), told to the person on the terminal
// (/dev/tty: a credential_process's stderr may go to a log) or stderr, one
// sign-in for all the processes that need it (sso.Client.SignInOnce),
// bounded by --timeout and Ctrl-C. nil where nobody can be asked
// (--no-prompt, CI).
func (f *requestFlags) ssoSignIn(io *IO) func(context.Context, sso.Session) (sso.Token, error) {
	if f.NoPrompt || io.Getenv("CI") != "" {
		return nil
	}
	return func(ctx context.Context, s sso.Session) (sso.Token, error) {
		c, err := sso.NewClient(ssoEnv(io))
		if err != nil {
			return sso.Token{}, err
		}
		tell := io.tell
		if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
			defer func() { _ = tty.Close() }()
			tell = func(msg string) {
				for i, l := range strings.Split(msg, "\n") {
					if i == 0 {
						l = "rolecall: " + l
					}
					fmt.Fprintln(tty, escapeControl(l))
				}
			}
		}
		pages := &pageOpener{io: io}
		defer pages.close()
		return c.SignInOnce(ctx, s, sso.LoginOptions{Notify: tell, Browser: pages.open}, f.Timeout)
	}
}
