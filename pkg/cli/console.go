package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/console"
)

// ConsoleOptions are the dependencies and flag values of `rolecall console`.
type ConsoleOptions struct {
	IO *IO

	Roles           []string
	Request         requestFlags
	Service         string
	Destination     string
	FederationURL   string
	ConsoleDuration time.Duration
	Print           bool
}

// NewCmdConsole builds `rolecall console`. runF replaces the run function in
// flag tests.
func NewCmdConsole(io *IO, runF func(context.Context, *ConsoleOptions) error) *cobra.Command {
	opts := &ConsoleOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "console [ROLE...]",
		Short: "Open the AWS Management Console signed in as a role (or print the sign-in link)",
		Long: `Sign in to the AWS Management Console with the session rolecall makes for
ROLE, exactly as assume would (every assume flag applies, and the cache is
used), and open it in the browser. With no ROLE, the session of --profile
or of the environment: IAM user keys sign in as a federated user of the same
name (GetFederationToken) with the user's own permissions, narrowed by
--policy and --policy-arn.

The console opens on --service (Console Home without it) in the region
rolecall resolves for STS (--region, AWS_REGION, AWS_DEFAULT_REGION, the
profile's), or on --destination.

The sign-in link is a credential: it works once, for 15 minutes. rolecall
hands it to the browser through a private file rather than its command
line, and prints it only with --print, or when no browser can be started.

    rolecall console deploy --service cloudformation --region eu-west-1
    rolecall console --profile alice --print

See docs/console.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return consoleRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&opts.Print, "print", false, "print the sign-in link on stdout instead of opening a browser")
	fl.StringVar(&opts.Service, "service", "", "console page to land on: s3, ec2, cloudformation, ... (default: Console Home)")
	fl.StringVar(&opts.Destination, "destination", "", "URL to land on instead of a --service page")
	fl.Var(newDurationFlag(&opts.ConsoleDuration, 0), "console-duration", "console session length: a Go duration or seconds, 15m to 12h (default: as long as the credentials); not for chained role sessions or federated users")
	fl.StringVar(&opts.FederationURL, "federation-url", "", "federation endpoint (default: AWS_ENDPOINT_URL_SIGNIN, else the partition's, regional when the region is known)")
	return cmd
}

func consoleRun(ctx context.Context, opts *ConsoleOptions) error {
	io := opts.IO
	opts.Request.Roles = opts.Roles
	req := console.Request{
		Request:       opts.Request.Request,
		Service:       opts.Service,
		Destination:   opts.Destination,
		FederationURL: opts.FederationURL,
	}
	req.ConsoleDuration = opts.ConsoleDuration
	link, err := console.SignIn(ctx, req, opts.Request.env(io))
	if err != nil {
		return err
	}
	who := firstNonEmpty(link.Identity, "the session")
	until := link.Expires.Local().Format("15:04")
	if opts.Print {
		if err := printLink(io, link); err != nil {
			return err
		}
		io.Infof("the sign-in link for %s works once, until %s", who, until)
		return nil
	}
	browser := console.Browser{Getenv: io.Getenv, Now: io.Now, TempDir: io.Getenv("TMPDIR"), Stderr: io.ErrOut}
	opened, err := browser.Open(ctx, link)
	if err != nil {
		if perr := printLink(io, link); perr != nil {
			return perr
		}
		io.Infof("could not start a browser (%v): the sign-in link for %s is on stdout; it works once, until %s", err, who, until)
		return nil
	}
	io.Debugf("started %s on %s", opened.Command, opened.Page)
	io.Infof("opened the AWS console as %s in the browser (%s)", who, link.Destination)
	return nil
}

// printLink writes the link alone on one line: the whole of stdout.
func printLink(io *IO, link console.Link) error {
	if _, err := fmt.Fprintln(io.Out, link.URL); err != nil {
		return fmt.Errorf("write the sign-in link: %w", err)
	}
	return nil
}
