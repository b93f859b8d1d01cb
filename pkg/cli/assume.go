package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/format"
)

// AssumeOptions are the dependencies and flag values of `rolecall assume`
// and `rolecall process`.
type AssumeOptions struct {
	IO *IO

	Roles        []string
	Request      requestFlags
	Format       string
	ProfileName  string
	WriteProfile string
	Force        bool
	GitHubOutput bool
	// CommandLine is echoed in the eval hint.
	CommandLine string
}

// NewCmdAssume builds `rolecall assume`. runF replaces the run function in
// flag tests.
func NewCmdAssume(io *IO, runF func(context.Context, *AssumeOptions) error) *cobra.Command {
	opts := &AssumeOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "assume ROLE [ROLE...]",
		Short: "Assume a role and print its credentials as shell exports (or another format)",
		Long: `Assume ROLE (a role ARN, or a profile with role_arn) and print the temporary
credentials. With more than one ROLE, each is assumed with the credentials of
the one before. The default output is shell exports:

    eval "$(rolecall assume arn:aws:iam::123456789012:role/deploy)"

Credentials are cached per role and reused while more than --refresh-window
of their life is left.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			opts.CommandLine = commandLine(io.Args)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return assumeRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "env", "output format: "+strings.Join(format.Names(), ", "))
	cmd.Flags().StringVar(&opts.ProfileName, "profile-name", "default", "section name for -f ini")
	cmd.Flags().StringVar(&opts.WriteProfile, "write-profile", "", "write the credentials to this section of the shared credentials file instead of stdout")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "with --write-profile: overwrite a section rolecall did not write")
	cmd.Flags().BoolVar(&opts.GitHubOutput, "github-output", false, "with -f github: also set step outputs in $GITHUB_OUTPUT")
	return cmd
}

// NewCmdProcess builds `rolecall process`: assume with the credential_process
// output and nothing else on stdout.
func NewCmdProcess(io *IO, runF func(context.Context, *AssumeOptions) error) *cobra.Command {
	opts := &AssumeOptions{IO: io, Format: string(format.Process)}
	cmd := &cobra.Command{
		Use:   "process ROLE [ROLE...]",
		Short: "Print credentials as credential_process JSON, for ~/.aws/config",
		Long: `For the credential_process setting of an AWS config profile:

    [profile deploy]
    credential_process = rolecall process --profile base arn:aws:iam::123456789012:role/deploy

Every AWS SDK and the AWS CLI then get the role's credentials from rolecall's
cache, which makes an STS call only when they are about to expire.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return assumeRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	return cmd
}

func assumeRun(ctx context.Context, opts *AssumeOptions) error {
	f, err := format.Parse(opts.Format)
	if err != nil {
		return withCode(ExitUsage, err, "")
	}
	if f == format.GitHub && opts.IO.Getenv("GITHUB_ENV") == "" {
		return usageErrorf("-f github runs inside a GitHub Actions step; elsewhere use -f env or -f dotenv", "GITHUB_ENV is not set")
	}
	if opts.GitHubOutput && (f != format.GitHub || opts.IO.Getenv("GITHUB_OUTPUT") == "") {
		return usageErrorf("use --github-output with -f github inside a GitHub Actions step", "--github-output needs -f github and GITHUB_OUTPUT")
	}
	c, region, err := obtain(ctx, opts.IO, &opts.Request, opts.Roles)
	if err != nil {
		return err
	}
	switch {
	case opts.WriteProfile != "":
		return writeProfile(ctx, opts, c)
	case f == format.GitHub:
		return emitGitHub(opts, c, region)
	}
	return emit(opts, f, c, region)
}

// obtain resolves the roles into a plan and returns the last role's
// credentials: from the cache on a hit (no SDK, no lock), else from STS.
func obtain(ctx context.Context, io *IO, fl *requestFlags, roles []string) (creds.Credentials, string, error) {
	reqOpts, err := fl.validate(io)
	if err != nil {
		return creds.Credentials{}, "", err
	}
	for _, r := range roles {
		if assume.LooksLikeARN(r) {
			if err := assume.ValidateRoleARN(r); err != nil {
				return creds.Credentials{}, "", withCode(ExitUsage, err, "pass a role ARN (arn:aws:iam::ACCOUNT:role/NAME) or a profile name")
			}
		}
	}
	pl := &planner{io: io, flags: fl, opts: reqOpts, config: &configLoader{getenv: io.Getenv}}
	if roles, err = pl.useWebIdentity(ctx, roles); err != nil {
		return creds.Credentials{}, "", err
	}
	plan, err := pl.plan(roles)
	if err != nil {
		return creds.Credentials{}, "", err
	}
	if err := validatePlan(plan); err != nil {
		return creds.Credentials{}, "", err
	}
	region, known := planRegion(plan)
	plan.Region = region
	if !known {
		region = ""
	}
	plan = plan.UseMFASession(fl.MFASessionTTL)

	if last := plan.Hops[len(plan.Hops)-1]; !fl.NoCache && last.Duration != 0 && last.Duration <= fl.RefreshWindow {
		io.Warnf("%s lasts %s, no more than the refresh window (%s): it will never be reused from the cache; pass a longer --duration or a shorter --refresh-window", last.Label, last.Duration, fl.RefreshWindow)
	}
	runner := newRunner(io, fl)
	if c, ok := runner.Cached(plan); ok {
		return c, region, nil
	}
	io.Debugf("cache miss for %s", plan.Hops[len(plan.Hops)-1].Label)
	if err := guardRecursion(io, plan); err != nil {
		return creds.Credentials{}, "", err
	}
	ctx, cancel := context.WithTimeout(ctx, fl.Timeout)
	defer cancel()
	c, err := runner.Run(ctx, plan)
	return c, region, err
}

// validatePlan checks what came from config files as strictly as flags.
func validatePlan(p assume.Plan) error {
	for _, h := range p.Hops {
		for _, err := range []error{
			assume.ValidateRoleARN(h.RoleARN),
			assume.ValidateSessionName(h.SessionName),
			assume.ValidateDuration(h.Duration),
			optionalCheck(h.ExternalID, assume.ValidateExternalID),
			optionalCheck(h.MFASerial, assume.ValidateMFASerial),
		} {
			if err != nil {
				return withCode(ExitUsage, fmt.Errorf("%s: %w", h.Label, err), "")
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

// newRunner wires the cache, STS and the MFA prompt for one command.
func newRunner(io *IO, fl *requestFlags) *assume.Runner {
	r := &assume.Runner{
		RefreshWindow: fl.RefreshWindow,
		Refresh:       fl.Refresh,
		STS:           &assume.STS{Trace: io.Debugf},
		MFACode:       mfaCodeSource(io, fl),
		Warn:          func(msg string) { io.Warnf("%s", msg) },
		Trace:         io.Debugf,
	}
	if fl.NoCache {
		return r
	}
	dir := fl.CacheDir
	if dir == "" {
		var err error
		if dir, err = cache.DefaultDir(io.Getenv); err != nil {
			io.Warnf("no cache directory (%v): credentials will not be cached", err)
			return r
		}
	}
	store, err := cache.Open(dir, cache.Options{
		Now:         io.Now,
		LockTimeout: fl.Timeout,
		Warn:        func(msg string) { io.Warnf("%s", msg) },
	})
	if err != nil {
		io.Warnf("%v: credentials will not be cached", err)
		return r
	}
	r.Cache = store
	return r
}

// emit renders the credentials completely before writing a byte, so a
// failure never leaves half an export on stdout for eval to run.
func emit(opts *AssumeOptions, f format.Format, c creds.Credentials, region string) error {
	io := opts.IO
	var out bytes.Buffer
	fo := format.Options{Region: region, ProfileName: opts.ProfileName}
	if err := format.Render(&out, f, c, fo); err != nil {
		return withCode(ExitUsage, err, "choose another --format")
	}
	if _, err := io.Out.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	if io.OutIsTerminal && f.IsShell() && opts.CommandLine != "" {
		io.Infof("to set these in your shell, run: %s", format.EvalHint(f, opts.CommandLine))
	}
	if left := time.Until(c.Expiration); !c.Expiration.IsZero() {
		io.Debugf("credentials for %s expire in %s", c.AssumedRoleARN, left.Round(time.Minute))
	}
	return nil
}

// readAllLimited reads a policy from stdin: at most 1 MiB, far above any
// policy STS accepts, so a wrong pipe fails fast instead of eating memory.
func readAllLimited(r io.Reader) ([]byte, error) {
	const limit = 1 << 20
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && len(b) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return b, err
}

// commandLine quotes the command line back for the eval hint, -f included.
func commandLine(args []string) string {
	words := []string{"rolecall"}
	for _, a := range args {
		words = append(words, format.QuotePOSIX(a))
	}
	return strings.Join(words, " ")
}
