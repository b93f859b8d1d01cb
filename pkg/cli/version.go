package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/build"
)

// NewCmdVersion builds `rolecall version` (`rolecall --version` prints the
// same line, see NewCmdRoot).
func NewCmdVersion(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rolecall's version, commit and build date",
		Long: `Print rolecall's version, commit and build date. A release has them
stamped in; a binary built from a clone (go build, go install) reports what
the Go toolchain recorded: the module version, the commit, its time, and
"modified" when the tree had uncommitted changes. rolecall --version prints
the same line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(io.Out, build.Read())
			return err
		},
	}
}
