package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/build"
)

// NewCmdVersion builds `rolecall version`.
func NewCmdVersion(io *IO) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print rolecall's version, commit and build date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(io.Out, "rolecall %s (commit %s, built %s, %s %s/%s)\n",
				build.Version, build.Commit, build.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
