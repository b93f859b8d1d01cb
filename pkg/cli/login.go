package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/sso"
)

// ssoFlags name an IAM Identity Center session: --sso-session, else the
// profile (--profile, AWS_PROFILE, default) whose session it is.
type ssoFlags struct {
	Ref     sso.Ref
	Timeout time.Duration
}

func (f *ssoFlags) bind(cmd *cobra.Command, timeout time.Duration) {
	fl := cmd.Flags()
	fl.StringVar(&f.Ref.Profile, "profile", "", "profile whose IAM Identity Center session to use (default: AWS_PROFILE, AWS_DEFAULT_PROFILE, default)")
	fl.StringVar(&f.Ref.Session, "sso-session", "", "the [sso-session NAME] to use")
	fl.DurationVar(&f.Timeout, "timeout", timeout, "give up after this long")
}

// ssoEnv is the world of the IAM Identity Center commands, all of it from
// the IO seam.
func ssoEnv(io *IO) sso.Env {
	return sso.Env{HomeDir: io.HomeDir, Getenv: io.Getenv, Now: io.Now, Trace: io.Debugf}
}

// LoginOptions are the dependencies and flag values of `rolecall login`.
type LoginOptions struct {
	IO            *IO
	SSO           ssoFlags
	UseDeviceCode bool
	NoBrowser     bool
	Force         bool
}

// NewCmdLogin builds `rolecall login`.
func NewCmdLogin(io *IO, runF func(context.Context, *LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "login [--profile P | --sso-session S]",
		Short: "Sign in to IAM Identity Center (SSO) and cache the token where the AWS CLI finds it",
		Long: `Sign in to an IAM Identity Center session, as aws sso login does: with the
authorization code grant and PKCE in your browser (the default for an
[sso-session]), or with a device code you enter in any browser
(--use-device-code, and always for legacy sso_start_url profiles). The token
and the client registration go to ~/.aws/sso/cache in the AWS CLI v2's format,
so rolecall, the AWS CLI and every SDK share the login.

A token that is still valid, or that its refresh token can renew, is kept:
nobody is asked to sign in again unless --force.

The browser is $BROWSER, else xdg-open (open on macOS); --no-browser only
prints the URL. Everything goes to stderr; stdout stays empty.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return loginRun(cmd.Context(), opts)
		},
	}
	opts.SSO.bind(cmd, 10*time.Minute)
	cmd.Flags().BoolVar(&opts.UseDeviceCode, "use-device-code", false, "sign in with a device code (for a browser on another machine) instead of the authorization code flow")
	cmd.Flags().BoolVar(&opts.NoBrowser, "no-browser", false, "do not open a browser: print the URL to open")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "sign in again even if the cached token is valid")
	return cmd
}

func loginRun(ctx context.Context, opts *LoginOptions) error {
	io := opts.IO
	if opts.SSO.Timeout <= 0 {
		return usageErrorf("pass a positive --timeout such as 10m", "--timeout %s is not a positive duration", opts.SSO.Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.SSO.Timeout)
	defer cancel()
	req := sso.LoginRequest{
		Ref:   opts.SSO.Ref,
		Force: opts.Force,
		LoginOptions: sso.LoginOptions{
			UseDeviceCode: opts.UseDeviceCode,
			Notify:        io.tell,
		},
	}
	if !opts.NoBrowser {
		pages := &pageOpener{io: io}
		defer pages.close()
		req.Browser = pages.open
	}
	res, err := sso.Login(ctx, req, ssoEnv(io))
	if err != nil {
		return err
	}
	until := res.Token.ExpiresAt.Local().Format(time.RFC3339)
	switch res.How {
	case sso.LoginStillValid:
		io.Infof("already signed in to %s until %s (--force signs in again)", res.Session, until)
	case sso.LoginRefreshed:
		io.Infof("renewed the sign-in to %s until %s", res.Session, until)
	default:
		io.Infof("signed in to %s (%s) until %s", res.Session, res.Session.StartURL, until)
	}
	return nil
}

// tell says something a person must read to go on (a URL to open, a code
// to enter) on stderr, even with --quiet: the first line labelled, the
// rest (a URL on a line of its own, for copying) as they are, escaped.
func (io *IO) tell(msg string) {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		if i == 0 {
			l = "rolecall: " + l
		}
		fmt.Fprintln(io.ErrOut, escapeControl(l))
	}
}

// LogoutOptions are the dependencies and flag values of `rolecall logout`.
type LogoutOptions struct {
	IO       *IO
	SSO      ssoFlags
	All      bool
	CacheDir string
}

// NewCmdLogout builds `rolecall logout`.
func NewCmdLogout(io *IO, runF func(context.Context, *LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "logout [--profile P | --sso-session S | --all]",
		Short: "Sign out of IAM Identity Center and remove the cached token",
		Long: `Sign out of an IAM Identity Center session: the portal's Logout ends the
sign-in (credentials already issued stay valid until they expire), the token
file goes from ~/.aws/sso/cache, and rolecall's cached IAM Identity Center
role credentials are removed. --all signs out of every session with a token in
the cache, as aws sso logout does. Client registrations stay.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.All && (opts.SSO.Ref.Profile != "" || opts.SSO.Ref.Session != "") {
				return usageErrorf("pass --all, or name one session", "--all and --profile/--sso-session contradict each other")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return logoutRun(cmd.Context(), opts)
		},
	}
	opts.SSO.bind(cmd, 30*time.Second)
	cmd.Flags().BoolVar(&opts.All, "all", false, "sign out of every session with a token in ~/.aws/sso/cache")
	cmd.Flags().StringVar(&opts.CacheDir, "cache-dir", "", "cache directory (default: ROLECALL_CACHE_DIR, then the user cache dir + /rolecall)")
	return cmd
}

func logoutRun(ctx context.Context, opts *LogoutOptions) error {
	io := opts.IO
	ctx, cancel := context.WithTimeout(ctx, opts.SSO.Timeout)
	defer cancel()
	res, err := sso.Logout(ctx, sso.LogoutRequest{Ref: opts.SSO.Ref, All: opts.All, CacheDir: opts.CacheDir}, ssoEnv(io))
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		io.Warnf("%s", w)
	}
	if len(res.SignedOut) == 0 {
		io.Infof("not signed in: no token to remove")
	}
	for _, s := range res.SignedOut {
		io.Infof("signed out of %s", s)
	}
	if res.RemovedCredentials > 0 {
		io.Infof("removed %d cached IAM Identity Center credential(s)", res.RemovedCredentials)
	}
	return nil
}
