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
	Request requestFlags
	Format  string
}

// NewCmdWhoami builds `rolecall whoami`.
func NewCmdWhoami(io *IO, runF func(context.Context, *WhoamiOptions) error) *cobra.Command {
	opts := &WhoamiOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show the identity STS sees (GetCallerIdentity)",
		Long: `Call GetCallerIdentity with the credentials rolecall would use: those in the
environment, or those of --profile (a role profile is assumed first, through
the cache).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
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
	io, fl := opts.IO, &opts.Request
	src, region, endpoint, err := whoamiSource(ctx, io, fl)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, fl.Timeout)
	defer cancel()
	s := &assume.STS{Trace: io.Debugf}
	client, err := s.NewClient(ctx, src, region, endpoint)
	if err != nil {
		return withCode(ExitConfig, err, "check --profile and the environment's AWS_* variables")
	}
	id, err := s.CallerIdentity(ctx, client)
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
	_, err = io.Out.Write(out.Bytes())
	return err
}

// whoamiSource finds the credentials to ask with: a role profile is assumed
// (through the cache) first; otherwise the profile or environment is used as
// the SDK would.
func whoamiSource(ctx context.Context, io *IO, fl *requestFlags) (assume.Source, string, string, error) {
	reqOpts, err := fl.validate(io)
	if err != nil {
		return assume.Source{}, "", "", err
	}
	pl := &planner{io: io, flags: fl, opts: reqOpts, config: &configLoader{getenv: io.Getenv}}
	var rc resolvedChain
	if fl.Profile != "" {
		if rc, err = pl.chain(fl.Profile); err != nil {
			return assume.Source{}, "", "", err
		}
	} else {
		rc.source = pl.defaultSource()
	}
	region := firstNonEmpty(fl.Region, rc.region, io.Getenv("AWS_REGION"), io.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	endpoint := firstNonEmpty(fl.EndpointURL, io.Getenv("AWS_ENDPOINT_URL_STS"), io.Getenv("AWS_ENDPOINT_URL"), rc.endpoint)
	if len(rc.hops) == 0 {
		return rc.source, region, endpoint, nil
	}
	roleFlags := *fl
	roleFlags.Profile = "" // the profile is the role here, not its source
	c, _, err := obtain(ctx, io, &roleFlags, []string{fl.Profile})
	if err != nil {
		return assume.Source{}, "", "", err
	}
	return assume.Source{Kind: assume.SourceStatic, Profile: fl.Profile, Static: &c}, region, endpoint, nil
}
