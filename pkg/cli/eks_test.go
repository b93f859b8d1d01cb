package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestEKSFlags: eks token and eks kubeconfig take every request flag
// assume takes, bound into the same request.
func TestEKSFlags(t *testing.T) {
	io, _, _ := testIO(nil)
	assumeFlags := map[string]bool{}
	NewCmdAssume(io, nil).Flags().VisitAll(func(f *pflag.Flag) { assumeFlags[f.Name] = true })
	for _, name := range []string{"format", "profile-name", "write-profile", "force", "github-output"} {
		delete(assumeFlags, name) // assume's output flags
	}
	for name, cmd := range map[string]interface{ Flags() *pflag.FlagSet }{
		"token":      NewCmdEKSToken(io, nil),
		"kubeconfig": NewCmdEKSKubeconfig(io, nil),
	} {
		for flag := range assumeFlags {
			if cmd.Flags().Lookup(flag) == nil {
				t.Errorf("eks %s has no --%s", name, flag)
			}
		}
	}

	var got *EKSTokenOptions
	cmd := NewCmdEKSToken(io, func(_ context.Context, o *EKSTokenOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--cluster", "prod", "--profile", "base", "--tag", "a=1", "--policy-arn", "p", "--region", "eu-west-1", "r1", "r2"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Cluster != "prod" || got.Request.Profile != "base" || len(got.Request.Tags) != 1 || got.Request.Region != "eu-west-1" || strings.Join(got.Roles, ",") != "r1,r2" {
		t.Errorf("eks token options: %+v", got)
	}
}

// TestEKSKubeconfigArgs: the entry runs eks token with the cluster, every
// request flag given (repeated ones repeated) and the ROLEs, and none of
// kubeconfig's own flags.
func TestEKSKubeconfigArgs(t *testing.T) {
	io, _, _ := testIO(nil)
	var got *EKSKubeconfigOptions
	cmd := NewCmdEKSKubeconfig(io, func(_ context.Context, o *EKSKubeconfigOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--cluster", "prod", "--write", "--user", "me", "--kubeconfig", "k", "--command", "/bin/rolecall",
		"--tag", "a=1", "--tag", "b=2", "--session-name", "kube", "r1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := []string{"eks", "token", "--cluster", "prod", "--session-name=kube", "--tag=a=1", "--tag=b=2", "r1"}
	if !slices.Equal(got.TokenArgs, want) {
		t.Errorf("token args %q, want %q", got.TokenArgs, want)
	}
	if got.User != "me" || got.Command != "/bin/rolecall" || !got.Write || got.Kubeconfig != "k" {
		t.Errorf("kubeconfig options: %+v", got)
	}
}
