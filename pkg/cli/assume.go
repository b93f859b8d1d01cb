package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
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
	// Pick lets a person pick the role on the terminal when none is named
	// (assume; never process, which an SDK runs).
	Pick bool
	// CommandLine is echoed in the eval hint.
	CommandLine string
}

// NewCmdAssume builds `rolecall assume`. runF replaces the run function in
// flag tests.
func NewCmdAssume(io *IO, runF func(context.Context, *AssumeOptions) error) *cobra.Command {
	opts := &AssumeOptions{IO: io, Pick: true}
	cmd := &cobra.Command{
		Use:   "assume [ROLE...]",
		Short: "Assume a role and print its credentials as shell exports (or another format)",
		Long: `Assume ROLE (a role ARN, or a profile with role_arn) and print the temporary
credentials. With more than one ROLE, each is assumed with the credentials of
the one before. The default output is shell exports:

    eval "$(rolecall assume arn:aws:iam::123456789012:role/deploy)"

Credentials are cached per role and reused while more than --refresh-window
of their life is left.

Without a ROLE (and no --profile or AWS_PROFILE),
on a terminal, a picker lists the profiles with a role, most recently and
most often used first: type part of a name, move with the arrows, Enter
picks, Esc or Ctrl-C cancels (exit 130). It draws on the terminal, never on
stdout, so eval "$(rolecall assume)" works. See docs/profiles.md.`,
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
	if opts.Pick {
		if opts.Roles, err = pickedRoles(ctx, opts.IO, &opts.Request, opts.Roles); err != nil {
			return err
		}
	}
	opts.Request.Roles = opts.Roles
	res, err := assume.Obtain(ctx, opts.Request.Request, opts.Request.env(opts.IO))
	if err != nil {
		return err
	}
	region := knownRegion(res.Plan)
	switch {
	case opts.WriteProfile != "":
		return writeProfile(ctx, opts, res.Credentials)
	case f == format.GitHub:
		return emitGitHub(opts, res.Credentials, region)
	}
	return emit(opts, f, res.Credentials, region)
}

// knownRegion is the region to export: only one the user named somewhere,
// never the partition's default.
func knownRegion(p assume.Plan) string {
	if p.RegionKnown {
		return p.Region
	}
	return ""
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
	if !c.Expiration.IsZero() {
		io.Debugf("credentials for %s expire in %s", c.AssumedRoleARN, c.Expiration.Sub(io.Now()).Round(time.Minute))
	}
	return nil
}

// commandLine quotes the command line back for the eval hint, -f included.
func commandLine(args []string) string {
	words := []string{"rolecall"}
	for _, a := range args {
		words = append(words, format.QuotePOSIX(a))
	}
	return strings.Join(words, " ")
}
