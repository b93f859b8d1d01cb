package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/format"
)

// roleEnv names the role a shell or `rolecall exec` child runs as, for
// prompts (shell-init's assume sets it too). execEnv marks an exec child
// alone, so that a nested exec is refused but an exec from an assumed
// shell is not.
const (
	roleEnv = "ROLECALL_ROLE"
	execEnv = "ROLECALL_EXEC"
)

// ExecOptions are the dependencies and flag values of `rolecall exec`.
type ExecOptions struct {
	IO      *IO
	Role    string
	Command []string
	Request requestFlags
	Force   bool
	// Server serves the credentials on a local endpoint for the
	// command's lifetime instead of putting keys in its environment.
	Server   bool
	TokenVia string
}

// NewCmdExec builds `rolecall exec`.
func NewCmdExec(io *IO, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "exec [ROLE] [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with a role's credentials in its environment",
		Long: `Run COMMAND with the role's credentials in AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION (and the
region, when known). AWS_PROFILE and other credential settings are removed so
the command uses only these. On Unix the command then takes rolecall's place
(execve): it has rolecall's PID, gets each Ctrl-C once, and its exit status is
rolecall's. On Windows rolecall runs it and exits with its exit code.

With --server, rolecall instead serves the credentials on a local endpoint
(127.0.0.1, a random port and token) for as long as the command runs, and
gives the command AWS_CONTAINER_CREDENTIALS_FULL_URI and the token
(AWS_CONTAINER_AUTHORIZATION_TOKEN, or _FILE with --token-via file) instead
of keys: its SDKs fetch new credentials from rolecall's cache by themselves
before these expire, so a command may run for longer than a session lasts.
rolecall then stays as the command's parent and exits with its exit code. A
Ctrl-C reaches the command once, from the terminal; a signal sent to
rolecall alone (kill PID) is passed on; on Linux the command dies with
rolecall. See docs/server.md.

Without a ROLE, the credentials are those of --profile (or AWS_PROFILE)
itself: its role_arn if it has one, else its source (IAM Identity Center,
keys, web identity).`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash < 0 || dash > 1 || len(args) <= dash {
				return usageErrorf("write: rolecall exec [ROLE] [--profile P] -- COMMAND [ARGS...]", "exec takes at most one ROLE, then -- and a command")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			opts.Role, opts.Command = strings.Join(args[:dash], ""), args[dash:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return execRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "run even inside another rolecall exec")
	cmd.Flags().BoolVar(&opts.Server, "server", false, "serve refreshing credentials on a local endpoint for the command's lifetime instead of exporting keys")
	cmd.Flags().StringVar(&opts.TokenVia, "token-via", tokenViaEnv, "with --server, how the command gets the endpoint's token: env (AWS_CONTAINER_AUTHORIZATION_TOKEN), file (…_TOKEN_FILE) or both")
	return cmd
}

func execRun(ctx context.Context, opts *ExecOptions) error {
	io := opts.IO
	if outer := io.Getenv(execEnv); outer != "" && !opts.Force {
		return usageErrorf("exit that shell first, or pass --force", "already inside rolecall exec for %s", outer)
	}
	// Without a ROLE the profile itself is the request: its role, or its
	// source's credentials (a source-only profile is a valid request).
	opts.Request.Roles, opts.Request.SourceOnly = nil, opts.Role == ""
	if opts.Role != "" {
		opts.Request.Roles = []string{opts.Role}
	}
	opts.Request.RegionFor = opts.Command[0]
	if opts.Server {
		return execServerRun(ctx, opts)
	}
	if opts.TokenVia != tokenViaEnv {
		return usageErrorf("add --server, or drop --token-via", "--token-via applies only with --server")
	}
	res, err := assume.Obtain(ctx, opts.Request.Request, opts.Request.env(io))
	if err != nil {
		return err
	}
	path, err := exec.LookPath(opts.Command[0])
	if err != nil {
		return commandNotFound(opts.Command[0], err)
	}

	env := childEnv(io.Environ(), format.EnvVars(res.Credentials, format.Options{Region: knownRegion(res.Plan)}))
	role := firstNonEmpty(opts.Role, res.Plan.Target(), "default")
	env = append(env, roleEnv+"="+role, execEnv+"="+role)

	if io.Exec != nil {
		// Nothing of rolecall's needs to outlive this point (the cache is
		// written and unlocked): the command takes rolecall's place, so a
		// Ctrl-C reaches it once, kill PID reaches it, and its exit status
		// is rolecall's.
		argv := append([]string{opts.Command[0]}, opts.Command[1:]...)
		return fmt.Errorf("exec %s: %w", opts.Command[0], io.Exec(path, argv, env))
	}

	// rolecall stays alive to report the child's status; the child
	// decides what the signals a terminal or supervisor sends mean.
	return childExitError(runChild(io.In, io.ErrOut, io.Out, path, opts.Command, env, func(os.Signal) bool { return true }, false))
}

// execServerRun is exec --server: the endpoint serves the role's
// credentials while the command runs, as rolecall's child.
func execServerRun(ctx context.Context, opts *ExecOptions) error {
	io := opts.IO
	if err := checkTokenVia(opts.TokenVia); err != nil {
		return err
	}
	path, err := exec.LookPath(opts.Command[0])
	if err != nil {
		return commandNotFound(opts.Command[0], err)
	}
	// rolecall's lines (one per request) may come from several goroutines;
	// the command gets the stream itself, so that it sees its terminal.
	stderr := io.ErrOut
	io.ErrOut = &lockedWriter{w: stderr}
	e, err := startEndpoint(ctx, io, endpointConfig{
		request:   &opts.Request,
		listen:    "127.0.0.1:0",
		tokenFile: opts.TokenVia != tokenViaEnv,
	})
	if err != nil {
		return err
	}
	defer e.close()
	if ctx.Err() != nil { // interrupted between the fetch and here
		return context.Cause(ctx)
	}
	env := childEnv(io.Environ(), format.EndpointVars(e.vars(opts.TokenVia)))
	role := firstNonEmpty(opts.Role, e.label, "default")
	env = append(env, roleEnv+"="+role, execEnv+"="+role)
	io.Debugf("serving %s to %s", e.describeRoutes(), opts.Command[0])

	// The endpoint lives as long as the command, whatever rolecall is
	// sent meanwhile: a command that cleans up after Ctrl-C may still need
	// credentials. Signals are the command's to act on (see passOn).
	life, stop := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- e.serve(life) }()
	err = runChild(io.In, stderr, io.Out, path, opts.Command, env, passOn, true)
	stop()
	if serr := <-served; serr != nil && err == nil {
		io.Warnf("%v", serr)
	}
	return childExitError(err)
}

// runChild runs argv (path is argv[0] found on PATH) with rolecall's stdin
// and the given stdout and stderr, and waits for it. Not CommandContext: the
// child must outlive a cancelled context; running the user's command is
// the point. Each signal rolecall receives meanwhile is relayed to the
// child if forward says so. A tied child dies with rolecall (tieToParent):
// exec --server's command, which depends on rolecall's endpoint.
func runChild(stdin io.Reader, stderr, stdout io.Writer, path string, argv, env []string, forward func(os.Signal) bool, tied bool) error {
	child := exec.Command(path, argv[1:]...) //nolint:gosec,noctx // see above
	child.Env, child.Stdin, child.Stdout, child.Stderr = env, stdin, stdout, stderr
	if tied {
		defer tieToParent(child)()
	}
	signals := make(chan os.Signal, 4)
	if len(childSignals) > 0 { // Notify with no signals would relay all
		signal.Notify(signals, childSignals...)
		defer signal.Stop(signals)
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-signals:
				if forward(s) {
					_ = child.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err := child.Wait()
	close(done)
	return err
}

// childEnv is the parent's environment without any credential setting that
// could override the role's, plus the role's variables.
func childEnv(parent []string, vars []format.Var) []string {
	drop := map[string]bool{}
	for _, name := range format.ConflictingEnvVars() {
		drop[name] = true
	}
	for _, v := range vars {
		drop[v.Name] = true
	}
	env := make([]string, 0, len(parent)+len(vars))
	for _, kv := range parent {
		name, _, _ := strings.Cut(kv, "=")
		if !drop[name] {
			env = append(env, kv)
		}
	}
	for _, v := range vars {
		env = append(env, v.Name+"="+v.Value)
	}
	return env
}

// childExit carries the child's exit code out through cobra without an
// error message: the child has said what it had to say.
type childExit struct{ code int }

func (e *childExit) Error() string { return fmt.Sprintf("command exited with code %d", e.code) }

func childExitError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &childExit{code: 128 + int(ws.Signal())}
	}
	return &childExit{code: ee.ExitCode()}
}

// Exit codes of a command that could not be run, as shells give them.
const (
	exitCannotRun = 126 // found, but not executable
	exitNotFound  = 127 // not found on PATH
)

// commandNotFound is the error for a command exec cannot run: 127 when it
// is not on PATH and 126 when it is not executable, as sh and bash exit,
// so that a script cannot tell `rolecall exec ROLE -- cmd` from `cmd`
// there.
func commandNotFound(name string, err error) error {
	if errors.Is(err, exec.ErrNotFound) {
		return withCode(exitNotFound, fmt.Errorf("exec %s: command not found", name), "check the command name and PATH")
	}
	return withCode(exitCannotRun, fmt.Errorf("exec %s: %w", name, err), "check that the command is an executable file")
}
