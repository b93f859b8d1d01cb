package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/format"
)

// ConfigureOptions are the dependencies and flag values of
// `rolecall configure`.
type ConfigureOptions struct {
	IO            *IO
	Name          string
	RoleARN       string
	SourceProfile string
	// Force replaces values of a profile rolecall did not write.
	Force   bool
	Request requestFlags
	// ProcessArgs are the assume flags the user set, passed on to
	// `rolecall process` in the profile.
	ProcessArgs []string
	Executable  func() (string, error)
}

// NewCmdConfigure builds `rolecall configure`.
func NewCmdConfigure(io *IO, runF func(context.Context, *ConfigureOptions) error) *cobra.Command {
	opts := &ConfigureOptions{IO: io, Executable: invokedPath}
	cmd := &cobra.Command{
		Use:   "configure NAME --role-arn ARN [--source-profile P] [assume flags...]",
		Short: "Add a profile to ~/.aws/config that gets its credentials through rolecall",
		Long: `Add or update [profile NAME] in the AWS config file with
credential_process = /path/to/rolecall process …, so that every SDK and the
AWS CLI get the role's credentials through rolecall's cache. The profile's
other keys (region, mfa_serial, …) are kept, and nothing else in the file
changes. A profile rolecall did not write keeps its values unless --force:
the error says which keys (role_arn, source_profile, …) would be replaced.
--timeout bounds the wait for another writer's lock on the file.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("rolecall configure NAME --role-arn ARN", "configure needs one profile NAME")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if f.Name == "role-arn" || f.Name == "source-profile" || f.Name == "force" {
					return
				}
				if sv, ok := f.Value.(pflag.SliceValue); ok {
					for _, v := range sv.GetSlice() {
						opts.ProcessArgs = append(opts.ProcessArgs, "--"+f.Name, v)
					}
					return
				}
				opts.ProcessArgs = append(opts.ProcessArgs, "--"+f.Name, f.Value.String())
			})
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return configureRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.RoleARN, "role-arn", "", "the role to assume (required)")
	cmd.Flags().StringVar(&opts.SourceProfile, "source-profile", "", "profile with the base credentials")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "replace the values of a profile rolecall did not write")
	opts.Request.bind(cmd)
	return cmd
}

func configureRun(ctx context.Context, opts *ConfigureOptions) error {
	io := opts.IO
	if opts.RoleARN == "" {
		return usageErrorf("pass --role-arn arn:aws:iam::ACCOUNT:role/NAME", "configure %s needs --role-arn: the role the profile assumes", opts.Name)
	}
	if err := assume.ValidateRoleARN(opts.RoleARN); err != nil {
		return withCode(ExitUsage, err, "pass --role-arn arn:aws:iam::ACCOUNT:role/NAME")
	}
	if opts.Request.Policy == "-" {
		return usageErrorf("pass the policy as JSON text or @FILE", "--policy - cannot be stored in a profile")
	}
	if err := opts.Request.Check(opts.Request.env(io)); err != nil {
		return err
	}
	exe, err := opts.Executable()
	if err != nil {
		return fmt.Errorf("find rolecall's own path: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	// The base is pinned in the profile: AWS_PROFILE means --profile here
	// as everywhere, and an SDK that runs the credential_process for
	// profile NAME would otherwise pass AWS_PROFILE=NAME to it, a profile
	// that gets its credentials from itself.
	base := firstNonEmpty(opts.SourceProfile, opts.Request.Profile)
	if base == "" {
		var from string
		if base, from = awsconfig.EnvProfile(io.Getenv); base != "" {
			io.Infof("base credentials from profile %s (%s); pass --source-profile to choose another", base, from)
		}
	}
	if base == opts.Name {
		return usageErrorf("pass --source-profile with the profile that holds the base credentials",
			"profile %s would get its base credentials from itself", opts.Name)
	}
	words := []string{exe, "process"}
	if base != "" && opts.Request.Profile == "" {
		words = append(words, "--profile", base)
	}
	words = append(words, opts.ProcessArgs...)
	words = append(words, opts.RoleARN)
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = format.QuotePOSIX(w)
	}
	keys := []awsconfig.KeyValue{
		{Key: "credential_process", Value: strings.Join(quoted, " ")},
		{Key: awsconfig.ManagedKey, Value: "true"},
	}
	if opts.Request.Region != "" {
		keys = append(keys, awsconfig.KeyValue{Key: "region", Value: opts.Request.Region})
	}
	path := awsconfig.DefaultFiles(io.Getenv, io.HomeDir).Config
	// A profile that gets its credentials from rolecall must not also name a
	// role or a source: the SDK would try to assume the role itself.
	remove := []string{"role_arn", "source_profile", "credential_source", "aws_access_key_id", "aws_secret_access_key", "aws_session_token", "web_identity_token_file"}
	wo := awsconfig.WriteOptions{Remove: remove, Force: opts.Force, LockTimeout: opts.Request.Timeout}
	if err := awsconfig.WriteConfigProfile(ctx, path, opts.Name, keys, wo); err != nil {
		return withCode(ExitConfig, err, "")
	}
	io.Infof("wrote [profile %s] to %s; try: aws sts get-caller-identity --profile %s", opts.Name, path, opts.Name)
	return nil
}

// invokedPath is the path rolecall was started by, as found on PATH. It is
// preferred to os.Executable, which resolves symlinks: a package manager's
// stable link (/opt/homebrew/bin/rolecall) survives upgrades, the versioned
// file it points at does not.
func invokedPath() (string, error) {
	if arg0 := os.Args[0]; arg0 != "" {
		if strings.ContainsRune(arg0, filepath.Separator) {
			return filepath.Abs(arg0)
		}
		if p, err := exec.LookPath(arg0); err == nil {
			return filepath.Abs(p)
		}
	}
	return os.Executable()
}
