package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/format"
)

// registerCompletions adds dynamic completion to the tree built by
// NewCmdRoot: profile names from the AWS config files for ROLE arguments
// and --profile/--source-profile, and the output formats for --format.
// Cobra's own `completion` command turns these into bash, zsh, fish and
// PowerShell scripts, which call `rolecall __complete` as the user types;
// nothing here may print or prompt.
func registerCompletions(root *cobra.Command, io *IO) {
	profiles := profileCompletion(io, false)
	roles := profileCompletion(io, true)
	walk(root, func(cmd *cobra.Command) {
		switch cmd.CommandPath() {
		case "rolecall assume", "rolecall process", "rolecall console", "rolecall serve", "rolecall eks token", "rolecall eks kubeconfig":
			cmd.ValidArgsFunction = roles
		case "rolecall exec":
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					// After the role come -- and a command with its
					// arguments: the shell's own completion knows those.
					// (ArgsLenAtDash cannot tell here: cobra parses the
					// words twice, once with a -- of its own appended.)
					return nil, cobra.ShellCompDirectiveDefault
				}
				return roles(cmd, args, toComplete)
			}
		case "rolecall cache clear", "rolecall configure":
			cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return profiles(cmd, args, toComplete)
			}
		}
		if cmd.Flags().Lookup("cluster") != nil {
			// EKS's cluster names are not known without a call.
			_ = cmd.RegisterFlagCompletionFunc("cluster", cobra.NoFileCompletions)
		}
		if cmd.Flags().Lookup("token-via") != nil {
			_ = cmd.RegisterFlagCompletionFunc("token-via", cobra.FixedCompletions([]string{tokenViaBoth, tokenViaEnv, tokenViaFile}, cobra.ShellCompDirectiveNoFileComp))
		}
		for _, name := range []string{"profile", "source-profile"} {
			if cmd.Flags().Lookup(name) != nil {
				_ = cmd.RegisterFlagCompletionFunc(name, profiles)
			}
		}
		if cmd.Flags().Lookup("sso-session") != nil {
			_ = cmd.RegisterFlagCompletionFunc("sso-session", ssoSessionCompletion(io))
		}
		if f := cmd.Flags().Lookup("format"); f != nil {
			values := format.Names()
			switch cmd.CommandPath() {
			case "rolecall whoami", "rolecall sso accounts":
				values = []string{"text", "json"}
			case "rolecall serve":
				values = []string{"env", "fish", "powershell", "cmd", "dotenv"}
			}
			_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	})
}

// walk calls fn for cmd and every command below it.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		walk(c, fn)
	}
}

// ssoSessionCompletion completes the [sso-session NAME] sections of the
// config file.
func ssoSessionCompletion(io *IO) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg, err := awsconfig.Load(awsconfig.DefaultFiles(io.Getenv, io.HomeDir))
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, name := range cfg.SSOSessionNames() {
			if strings.HasPrefix(name, toComplete) {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// profileCompletion completes profile names from the config and credentials
// files the command itself would read (AWS_CONFIG_FILE,
// AWS_SHARED_CREDENTIALS_FILE, else ~/.aws), with the role ARN as the
// description where the profile has one. With rolesOnly, for ROLE
// arguments, only the profiles that name a role: role_arn, or (as the
// first ROLE) an IAM Identity Center account and role; a profile of keys
// alone is no ROLE. A file that cannot be read gives no candidates rather
// than an error: completion must never get in the way.
func profileCompletion(io *IO, rolesOnly bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		cfg, err := awsconfig.Load(awsconfig.DefaultFiles(io.Getenv, io.HomeDir))
		if err != nil {
			cobra.CompDebugln("rolecall: read AWS config for completion: "+err.Error(), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []string
		for _, name := range cfg.ProfileNames() {
			if !strings.HasPrefix(name, toComplete) {
				continue
			}
			p, err := cfg.Profile(name)
			isRole := err == nil && (p.RoleARN != "" || len(args) == 0 && p.SSOAccountID != "" && p.SSORoleName != "")
			if rolesOnly && !isRole {
				continue
			}
			if err == nil && p.RoleARN != "" {
				name += "\t" + p.RoleARN
			}
			out = append(out, name)
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
