package cli

import (
	"context"
	"errors"
	"fmt"
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
}

// NewCmdExec builds `rolecall exec`.
func NewCmdExec(io *IO, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "exec ROLE [flags] -- COMMAND [ARGS...]",
		Short: "Run a command with a role's credentials in its environment",
		Long: `Run COMMAND with the role's credentials in AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION (and the
region, when known). AWS_PROFILE and other credential settings are removed so
the command uses only these. On Unix the command then takes rolecall's place
(execve): it has rolecall's PID, gets each Ctrl-C once, and its exit status is
rolecall's. On Windows rolecall runs it and exits with its exit code.`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if dash != 1 || len(args) < 2 {
				return usageErrorf("write: rolecall exec ROLE -- COMMAND [ARGS...]", "exec needs one ROLE, then -- and a command")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Role, opts.Command = args[0], args[1:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return execRun(cmd.Context(), opts)
		},
	}
	opts.Request.bind(cmd)
	cmd.Flags().BoolVar(&opts.Force, "force", false, "run even inside another rolecall exec")
	return cmd
}

func execRun(ctx context.Context, opts *ExecOptions) error {
	io := opts.IO
	if outer := io.Getenv(execEnv); outer != "" && !opts.Force {
		return usageErrorf("exit that shell first, or pass --force", "already inside rolecall exec for %s", outer)
	}
	opts.Request.Roles = []string{opts.Role}
	res, err := assume.Obtain(ctx, opts.Request.Request, opts.Request.env(io))
	if err != nil {
		return err
	}
	path, err := exec.LookPath(opts.Command[0])
	if err != nil {
		return usageErrorf("check the command name and PATH", "exec %s: %v", opts.Command[0], err)
	}

	env := childEnv(io.Environ(), format.EnvVars(res.Credentials, format.Options{Region: knownRegion(res.Plan)}))
	env = append(env, roleEnv+"="+opts.Role, execEnv+"="+opts.Role)

	if io.Exec != nil {
		// Nothing of rolecall's needs to outlive this point (the cache is
		// written and unlocked): the command takes rolecall's place, so a
		// Ctrl-C reaches it once, kill PID reaches it, and its exit status
		// is rolecall's.
		argv := append([]string{opts.Command[0]}, opts.Command[1:]...)
		return fmt.Errorf("exec %s: %w", opts.Command[0], io.Exec(path, argv, env))
	}

	// Not CommandContext: the child must outlive a cancelled context (an
	// interrupt is forwarded to it, and it decides); running the user's
	// command is the point.
	child := exec.Command(path, opts.Command[1:]...) //nolint:gosec,noctx // see above
	child.Env, child.Stdin, child.Stdout, child.Stderr = env, io.In, io.Out, io.ErrOut

	// Forward the signals a terminal or supervisor sends; the child decides
	// what they mean. rolecall stays alive to report the child's status.
	signals := make(chan os.Signal, 4)
	if len(forwardedSignals) > 0 { // Notify with no signals would relay all
		signal.Notify(signals, forwardedSignals...)
		defer signal.Stop(signals)
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("start %s: %w", opts.Command[0], err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-signals:
				_ = child.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err = child.Wait()
	close(done)
	return childExitError(err)
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
