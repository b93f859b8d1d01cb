package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rolecall/rolecall/pkg/eks"
)

// EKSTokenOptions are the dependencies and flag values of `rolecall eks
// token`.
type EKSTokenOptions struct {
	IO *IO

	Roles   []string
	Cluster string
	Request requestFlags
}

// NewCmdEKS builds `rolecall eks token|kubeconfig`.
func NewCmdEKS(io *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eks token|kubeconfig",
		Short: "Amazon EKS: kubectl's credentials from rolecall's cache",
		// Without RunE, cobra answers a mistyped subcommand with the help
		// text and exit 0.
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return unknownCommand(cmd, args[0])
		},
	}
	cmd.AddCommand(NewCmdEKSToken(io, nil), NewCmdEKSKubeconfig(io, nil))
	return cmd
}

// NewCmdEKSToken builds `rolecall eks token`. runF replaces the run function
// in flag tests.
func NewCmdEKSToken(io *IO, runF func(context.Context, *EKSTokenOptions) error) *cobra.Command {
	opts := &EKSTokenOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "token --cluster NAME [ROLE...]",
		Short: "Print an EKS token as kubectl's exec credential plugin (ExecCredential JSON)",
		Long: `Print a bearer token for the EKS cluster NAME, signed with the credentials of
ROLE (a role ARN, or a profile with role_arn; a chain with more than one),
or of the base credentials when no ROLE is named: the ExecCredential JSON
kubectl reads from an exec plugin, in the apiVersion KUBERNETES_EXEC_INFO
asks for (client.authentication.k8s.io/v1beta1 when it is not set).

The token is cached beside the credentials and reused while more than a
minute of its 14-minute life is left, so kubectl runs cost one file read.
'rolecall eks kubeconfig' writes the kubeconfig user entry that runs it.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return eksTokenRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "name of the EKS cluster (required)")
	opts.Request.bind(cmd)
	return cmd
}

func eksTokenRun(ctx context.Context, opts *EKSTokenOptions) error {
	if err := eks.ValidateCluster(opts.Cluster); err != nil {
		return err // checked before KUBERNETES_EXEC_INFO: the first mistake on the command line
	}
	info, err := eks.ParseExecInfo(opts.IO.Getenv(eks.ExecInfoEnv))
	if err != nil {
		return err
	}
	// kubectl says when its plugin may not prompt: an MFA code is then
	// asked of --mfa-code-command or not at all (exit 6).
	opts.Request.KubectlNoPrompt = info.NoPrompt
	opts.Request.Roles = opts.Roles
	opts.Request.SourceOnly = len(opts.Roles) == 0
	token, err := eks.Get(ctx, opts.Cluster, opts.Request.Request, opts.Request.env(opts.IO))
	if err != nil {
		return err
	}
	if _, err := opts.IO.Out.Write(eks.ExecCredential(info.APIVersion, token)); err != nil {
		return fmt.Errorf("write the token: %w", err)
	}
	opts.IO.Debugf("eks token for %s expires at %s", opts.Cluster, token.Expiration.Format("15:04:05Z07:00"))
	return nil
}

// EKSKubeconfigOptions are the dependencies and flag values of `rolecall
// eks kubeconfig`.
type EKSKubeconfigOptions struct {
	IO *IO

	Roles      []string
	Cluster    string
	Request    requestFlags
	User       string
	Command    string
	Write      bool
	Kubeconfig string
	// TokenArgs are the arguments the entry runs rolecall with: eks token,
	// --cluster and every request flag given, then the ROLEs.
	TokenArgs []string
}

// kubeconfigOnlyFlags are the flags of eks kubeconfig that are not passed
// on to eks token.
// (nor --debug, which would trace every kubectl command).
var kubeconfigOnlyFlags = map[string]bool{"user": true, "command": true, "write": true, "kubeconfig": true, "cluster": true, "debug": true}

// NewCmdEKSKubeconfig builds `rolecall eks kubeconfig`.
func NewCmdEKSKubeconfig(io *IO, runF func(context.Context, *EKSKubeconfigOptions) error) *cobra.Command {
	opts := &EKSKubeconfigOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "kubeconfig --cluster NAME [ROLE...]",
		Short: "Print (or --write) the kubeconfig user entry that runs 'rolecall eks token'",
		Long: `Print a kubeconfig whose one users entry runs 'rolecall eks token' with the
same cluster, ROLEs and flags, or with --write merge that entry into the
kubeconfig kubectl uses ($KUBECONFIG's first existing file, else
~/.kube/config; --kubeconfig to choose), replacing only the entry of the
same name. Point a context at it:

    kubectl config set-context prod --cluster prod-cluster --user rolecall-prod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			opts.TokenArgs = []string{"eks", "token", "--cluster", opts.Cluster}
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if kubeconfigOnlyFlags[f.Name] {
					return
				}
				if sv, ok := f.Value.(pflag.SliceValue); ok {
					for _, v := range sv.GetSlice() {
						opts.TokenArgs = append(opts.TokenArgs, "--"+f.Name+"="+v)
					}
					return
				}
				opts.TokenArgs = append(opts.TokenArgs, "--"+f.Name+"="+f.Value.String())
			})
			opts.TokenArgs = append(opts.TokenArgs, args...)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return eksKubeconfigRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Cluster, "cluster", "", "name of the EKS cluster (required)")
	cmd.Flags().StringVar(&opts.User, "user", "", "name of the users entry (default rolecall-CLUSTER)")
	cmd.Flags().StringVar(&opts.Command, "command", "rolecall", "the program kubectl runs: rolecall on its PATH, or a path")
	cmd.Flags().BoolVar(&opts.Write, "write", false, "merge the entry into the kubeconfig instead of printing it")
	cmd.Flags().StringVar(&opts.Kubeconfig, "kubeconfig", "", "with --write: the file (default: KUBECONFIG's first existing file, else ~/.kube/config)")
	opts.Request.bind(cmd)
	return cmd
}

func eksKubeconfigRun(ctx context.Context, opts *EKSKubeconfigOptions) error {
	if err := eks.ValidateCluster(opts.Cluster); err != nil {
		return err
	}
	if opts.Kubeconfig != "" && !opts.Write {
		return usageErrorf("add --write, or leave --kubeconfig out to print", "--kubeconfig names the file --write merges into")
	}
	if opts.Request.Policy == "-" {
		return usageErrorf("put the policy in a file and pass --policy @FILE", "kubectl runs the entry with its own stdin: --policy - cannot be written into it")
	}
	if opts.Request.MFACode != "" {
		return usageErrorf("leave --mfa-code out: rolecall prompts when kubectl runs it, or pass --mfa-code-command", "an MFA code is good once: --mfa-code cannot be written into a kubeconfig")
	}
	u := eks.User{Name: opts.User, Command: opts.Command, Args: opts.TokenArgs}
	if u.Name == "" {
		u.Name = "rolecall-" + opts.Cluster
	}
	if !opts.Write {
		data, err := u.Fragment()
		if err != nil {
			return err
		}
		_, err = opts.IO.Out.Write(data)
		return err
	}
	path := opts.Kubeconfig
	if path == "" {
		path = eks.KubeconfigPath(opts.IO.Getenv("KUBECONFIG"), opts.IO.HomeDir)
	}
	if err := eks.WriteUser(ctx, path, u, opts.Request.Timeout); err != nil {
		var locked *eks.KubeconfigLockedError
		if errors.As(err, &locked) {
			return err
		}
		return withCode(ExitLocal, err, "")
	}
	opts.IO.Infof("wrote user %s to %s", escapeControl(u.Name), escapeControl(path))
	return nil
}
