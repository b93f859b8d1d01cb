package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/format"
)

// ServeOptions are the dependencies and flag values of `rolecall serve`.
type ServeOptions struct {
	IO *IO

	Roles      []string
	Request    requestFlags
	Format     string
	Listen     string
	AllowRoles []string
	TokenVia   string
}

// NewCmdServe builds `rolecall serve`.
func NewCmdServe(io *IO, runF func(context.Context, *ServeOptions) error) *cobra.Command {
	opts := &ServeOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "serve [ROLE...] [flags]",
		Short: "Serve a role's credentials on a local endpoint that SDKs refresh from",
		Long: `Serve the credentials of ROLE (as assume would get them: every flag applies,
--policy and --policy-arn above all) on a local endpoint that every AWS SDK
and the AWS CLI read through AWS_CONTAINER_CREDENTIALS_FULL_URI, and fetch
again by themselves before they expire: no rolecall process per refresh.

serve gets the credentials first (prompting for an MFA code now if one is
needed), then prints the variables to export on stdout (-f: env, fish,
powershell, cmd or dotenv) and serves in the foreground until Ctrl-C or
SIGTERM. The token is random for each run; by default it is exported both
in a private file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, removed when serve
stops), which newer SDKs prefer, and itself (AWS_CONTAINER_AUTHORIZATION_TOKEN),
for clients older than about 2023 (--token-via file exports the file alone).

    rolecall serve deploy            # then, in another shell, paste the exports
    rolecall serve deploy -f dotenv --token-via env --listen 127.0.0.1:9911 > deploy.env &
    docker run --network host --env-file deploy.env amazon/aws-cli sts get-caller-identity

--allow-role ARN also serves ARN (assumed with the credentials of the ROLEs,
or the base credentials) at /role-arn/ARN, for clients that pick one of a
few roles; no other ARN is ever assumed. See docs/server.md.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Roles = args
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return serveRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	fl := cmd.Flags()
	fl.StringVarP(&opts.Format, "format", "f", "env", "format of the exports: env (sh, bash, zsh), fish, powershell, cmd or dotenv")
	fl.StringVar(&opts.Listen, "listen", "127.0.0.1:0", "address to listen on (port 0: any free port); beyond loopback, see docs/server.md")
	fl.StringArrayVar(&opts.AllowRoles, "allow-role", nil, "also serve this role ARN at /role-arn/ARN (repeatable)")
	fl.StringVar(&opts.TokenVia, "token-via", tokenViaBoth, "how clients get the token: both (the file, which newer SDKs prefer, and the token itself, for clients older than about 2023), file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) or env (AWS_CONTAINER_AUTHORIZATION_TOKEN)")
	return cmd
}

func serveRun(ctx context.Context, opts *ServeOptions) error {
	io := opts.IO
	f, err := format.Parse(opts.Format)
	if err != nil {
		return withCode(ExitUsage, err, "")
	}
	if !f.IsShell() && f != format.Dotenv {
		return usageErrorf("use -f env, fish, powershell, cmd or dotenv", "serve prints variables to export: -f %s is no shell or dotenv format", f)
	}
	if err := checkTokenVia(opts.TokenVia); err != nil {
		return err
	}
	if opts.Roles, err = pickedRoles(ctx, io, &opts.Request, opts.Roles); err != nil {
		return err
	}
	io.ErrOut = &lockedWriter{w: io.ErrOut}
	opts.Request.Roles = opts.Roles
	// Serve stops on a signal, not when its parent exits: `rolecall serve &`
	// from a script outlives the script, as a server should.
	stopSignals := make(chan os.Signal, 1)
	signal.Notify(stopSignals, terminationSignals...)
	defer signal.Stop(stopSignals)

	e, err := startEndpoint(ctx, io, endpointConfig{
		request:            &opts.Request,
		listen:             opts.Listen,
		allowRoles:         opts.AllowRoles,
		tokenFile:          true,
		promptWhileServing: true,
	})
	if err != nil {
		return err
	}
	defer e.close()

	var out bytes.Buffer
	ep := e.vars(opts.TokenVia)
	// What the exports replace is recorded beside them, for unassume.
	ep.Outer = func(name string) (string, bool) {
		v := io.Getenv(name)
		return v, v != ""
	}
	if err := format.RenderEndpoint(&out, f, ep); err != nil {
		return err
	}
	if _, err := io.Out.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write the exports: %w", err)
	}
	io.Infof("serving %s", e.describeRoutes())
	io.Infof("token file: %s (removed when serve stops)", e.tokenFile)
	if io.OutIsTerminal && f.IsShell() {
		io.Infof("export these in the shells and programs that should use the role; stop with Ctrl-C")
	}

	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go func() {
		defer stop()
		cancelled := ctx.Done()
		for {
			select {
			case s := <-stopSignals:
				io.Infof("%s stopped by %s", stamp(io.Now()), signalName(s))
				return
			case <-cancelled:
				var intr *interrupted
				if errors.As(context.Cause(ctx), &intr) && intr.reason != "" {
					cancelled = nil // the parent exited: keep serving; a signal still stops it
					io.Debugf("%s: serving on until a signal", intr.reason)
					continue
				}
				if intr != nil && intr.signal != nil {
					// The same signal as stopSignals', which goroutine saw
					// it first is chance: one line for both.
					io.Infof("%s stopped by %s", stamp(io.Now()), signalName(intr.signal))
					return
				}
				io.Infof("%s stopped: %v", stamp(io.Now()), context.Cause(ctx))
				return
			case <-life.Done():
				return
			}
		}
	}()
	if err := e.serve(life); err != nil {
		return err
	}
	return nil
}
