package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
)

// WhoamiOptions are the dependencies and flag values of `rolecall whoami`.
type WhoamiOptions struct {
	IO      *IO
	Roles   []string
	Request requestFlags
	Format  string
}

// NewCmdWhoami builds `rolecall whoami`.
func NewCmdWhoami(io *IO, runF func(context.Context, *WhoamiOptions) error) *cobra.Command {
	opts := &WhoamiOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "whoami [ROLE...]",
		Short: "Show the identity STS sees (GetCallerIdentity)",
		Long: `Call GetCallerIdentity with the credentials rolecall resolves, exactly as
assume would: the ROLEs named (through the cache), else the role of --profile
or AWS_PROFILE when it has one, else the base credentials themselves.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return whoamiRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: text or json")
	return cmd
}

func whoamiRun(ctx context.Context, opts *WhoamiOptions) error {
	if opts.Format != "text" && opts.Format != "json" {
		return usageErrorf("use -f text or -f json", "unknown format %q for whoami", opts.Format)
	}
	opts.Request.Roles = opts.Roles
	id, err := assume.WhoAmI(ctx, opts.Request.Request, opts.Request.env(opts.IO))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if opts.Format == "json" {
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(id); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(&out, "Account: %s\nARN:     %s\nUserId:  %s\n", id.Account, id.ARN, id.UserID)
	}
	_, err = opts.IO.Out.Write(out.Bytes())
	return err
}
