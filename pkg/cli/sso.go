package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/sso"
)

// NewCmdSSO builds `rolecall sso accounts|profiles`.
func NewCmdSSO(io *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sso",
		Short: "List the accounts and roles IAM Identity Center gives you, and make profiles for them",
	}
	cmd.AddCommand(NewCmdSSOAccounts(io, nil), NewCmdSSOProfiles(io, nil))
	return cmd
}

// SSOAccountsOptions are the dependencies and flag values of `rolecall sso
// accounts`.
type SSOAccountsOptions struct {
	IO     *IO
	SSO    ssoFlags
	Format string
}

// NewCmdSSOAccounts builds `rolecall sso accounts`.
func NewCmdSSOAccounts(io *IO, runF func(context.Context, *SSOAccountsOptions) error) *cobra.Command {
	opts := &SSOAccountsOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "accounts [--profile P | --sso-session S]",
		Short: "List the accounts and roles (permission sets) the signed-in user can reach",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Format != "text" && opts.Format != "json" {
				return usageErrorf("use -f text or -f json", "unknown format %q for sso accounts", opts.Format)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ssoAccountsRun(cmd.Context(), opts)
		},
	}
	opts.SSO.bind(cmd, time.Minute)
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: text or json")
	return cmd
}

func ssoAccountsRun(ctx context.Context, opts *SSOAccountsOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.SSO.Timeout)
	defer cancel()
	_, accounts, err := sso.ListAccounts(ctx, opts.SSO.Ref, ssoEnv(opts.IO))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if opts.Format == "json" {
		data, err := sso.MarshalAccounts(accounts)
		if err != nil {
			return err
		}
		out.Write(data)
	} else {
		tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCOUNT\tNAME\tROLE")
		for _, a := range accounts {
			for _, r := range a.Roles {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ID, escapeControl(dash(a.Name)), escapeControl(r))
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err = opts.IO.Out.Write(out.Bytes())
	return err
}

// SSOProfilesOptions are the dependencies and flag values of `rolecall sso
// profiles`.
type SSOProfilesOptions struct {
	IO       *IO
	SSO      ssoFlags
	Template string
	Region   string
	Write    bool
	Force    bool
	Prune    bool
	Diff     bool
}

// NewCmdSSOProfiles builds `rolecall sso profiles`.
func NewCmdSSOProfiles(io *IO, runF func(context.Context, *SSOProfilesOptions) error) *cobra.Command {
	opts := &SSOProfilesOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "profiles [--profile P | --sso-session S] [--write [--prune] [--diff]]",
		Short: "Make a profile for every account and role IAM Identity Center gives you",
		Long: `Make a profile (sso_session, sso_account_id, sso_role_name) for every account
and role the signed-in user can reach, named by --template. Without --write the
profiles are printed; with it they are written into the AWS config file,
marked as rolecall's (x_rolecall_managed = true) and changing nothing else in
the file. Run it again to bring them up to date: a profile that is already
right is left as it is, so a second run over an unchanged directory leaves
the file byte for byte the same. A profile of the same name that rolecall did
not write is left alone unless --force.

--prune also removes the profiles rolecall generated for this session whose
account or role the session no longer reaches; a profile rolecall did not
write is never removed. --diff prints the change as a unified diff on stdout
and writes nothing.

--template is a Go template over .AccountName, .AccountID, .AccountEmail,
.RoleName and .SessionName; characters a profile name cannot hold (spaces,
brackets, quotes, # and ;) become "-".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return ssoProfilesRun(cmd.Context(), opts)
		},
	}
	opts.SSO.bind(cmd, time.Minute)
	cmd.Flags().StringVar(&opts.Template, "template", sso.DefaultProfileTemplate, "profile name template")
	cmd.Flags().StringVar(&opts.Region, "region", "", "region to set in every profile (default: the sso-session's sso_region)")
	cmd.Flags().BoolVar(&opts.Write, "write", false, "write the profiles into the AWS config file")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "with --write: overwrite profiles of the same name that rolecall did not write")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "with --write: remove the profiles rolecall generated whose account or role no longer exists")
	cmd.Flags().BoolVar(&opts.Diff, "diff", false, "with --write: print the change as a unified diff and write nothing")
	return cmd
}

func ssoProfilesRun(ctx context.Context, opts *SSOProfilesOptions) error {
	io := opts.IO
	ctx, cancel := context.WithTimeout(ctx, opts.SSO.Timeout)
	defer cancel()
	if opts.Region != "" && !assume.ValidRegion(opts.Region) {
		return usageErrorf("pass a region name such as us-east-1", "--region %q is not a region name", opts.Region)
	}
	if (opts.Prune || opts.Diff) && !opts.Write {
		return usageErrorf("add --write: rolecall sso profiles --write --prune --diff", "--prune and --diff apply to --write")
	}
	res, err := sso.Profiles(ctx, sso.ProfilesRequest{Ref: opts.SSO.Ref, Template: opts.Template, Region: opts.Region,
		Write: opts.Write, Force: opts.Force, Prune: opts.Prune, Diff: opts.Diff}, ssoEnv(io))
	if err != nil {
		return err
	}
	if !opts.Write {
		_, err := io.Out.Write(sso.MarshalProfiles(res.Profiles))
		return err
	}
	if opts.Diff {
		if res.Diff == "" {
			io.Infof("no change to %s", res.File)
		}
		_, err := io.Out.Write([]byte(res.Diff))
		return err
	}
	if len(res.Pruned) > 0 {
		io.Infof("removed %d profile(s) whose account or role no longer exists: %s", len(res.Pruned), strings.Join(res.Pruned, ", "))
	}
	written := len(res.Profiles) - len(res.Skipped)
	if res.Changed {
		io.Infof("wrote %d profile(s) for %s to %s", written, res.Session, res.File)
	} else {
		io.Infof("the %d profile(s) for %s in %s are up to date", written, res.Session, res.File)
	}
	if len(res.Skipped) > 0 {
		return withCode(ExitLocal, fmt.Errorf("%d profile(s) exist and were not written by rolecall, so were left alone: %s", len(res.Skipped), strings.Join(res.Skipped, ", ")),
			"pass --force to overwrite them, or change --template")
	}
	return nil
}
