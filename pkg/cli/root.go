// Package cli is rolecall's command tree. It parses flags into an options
// struct per command, calls the library packages, and is the only place
// that writes to stdout and stderr.
//
// Output contract: stdout carries only what a machine reads (exports, JSON,
// credential_process output), and only once the whole command succeeded;
// everything for a person goes to stderr.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// IO is the process environment a command runs in. Tests replace it.
type IO struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	Getenv func(string) string
	// Environ is the environment children start from (exec, and a
	// credential_process).
	Environ func() []string
	HomeDir string
	Now     func() time.Time
	// Exec replaces this process with a program (execve), so that exec's
	// child is the process a terminal and a supervisor signal; nil where
	// the platform cannot (Windows), and rolecall then runs a child.
	Exec func(path string, argv, env []string) error
	// OutIsTerminal and ErrIsTerminal decide the eval hint and colour.
	OutIsTerminal bool
	ErrIsTerminal bool

	// Args is the command line, for the eval hint.
	Args []string

	debug   bool
	quiet   bool
	noColor bool
}

// testHookNow, when set, is rolecall's clock instead of time.Now. The
// end-to-end tests' binary sets it (go:linkname) to the STS emulator's
// credential clock, so that moving that clock moves rolecall's too.
var testHookNow func() time.Time

func systemIO() *IO {
	home, _ := os.UserHomeDir()
	now := time.Now
	if testHookNow != nil {
		now = testHookNow
	}
	return &IO{
		In:            os.Stdin,
		Out:           os.Stdout,
		ErrOut:        os.Stderr,
		Getenv:        os.Getenv,
		Environ:       os.Environ,
		HomeDir:       home,
		Now:           now,
		Exec:          replaceProcess,
		OutIsTerminal: isTerminal(os.Stdout),
		ErrIsTerminal: isTerminal(os.Stderr),
	}
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// colored decides per stream: fatih/color's global switch looks only at
// stdout, and stderr is what rolecall colours.
func (io *IO) colored() bool {
	return io.ErrIsTerminal && !io.noColor && io.Getenv("NO_COLOR") == ""
}

// Debugf traces a step on stderr with --debug. Callers pass no secret.
func (io *IO) Debugf(format string, args ...any) {
	if io.debug {
		fmt.Fprintf(io.ErrOut, "rolecall: debug: "+format+"\n", args...)
	}
}

// Warnf reports a problem that does not stop the command.
func (io *IO) Warnf(format string, args ...any) {
	label := "warning:"
	if io.colored() {
		label = paint(label, color.FgYellow)
	}
	fmt.Fprintf(io.ErrOut, "rolecall: %s %s\n", label, oneLine(fmt.Sprintf(format, args...)))
}

// Infof tells a person something on stderr unless --quiet.
func (io *IO) Infof(format string, args ...any) {
	if !io.quiet {
		fmt.Fprintf(io.ErrOut, "rolecall: "+format+"\n", args...)
	}
}

// Main runs rolecall with the process's arguments and returns its exit code.
// Ctrl-C, SIGTERM, SIGHUP or the death of the parent process end whatever
// rolecall is waiting on (a prompt, a lock, STS) at once.
func Main() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, terminationSignals...)
	go func() {
		if s, ok := <-signals; ok {
			cancel(&interrupted{signal: s})
		}
	}()
	go watchParent(ctx, cancel)
	return Run(ctx, systemIO(), os.Args[1:])
}

// interrupted is why a command was cancelled: a signal, or the parent's
// death (reported as a hangup, which is what a closed terminal sends).
type interrupted struct {
	signal os.Signal
	reason string
}

func (e *interrupted) Error() string {
	if e.reason != "" {
		return e.reason
	}
	return "interrupted by " + signalName(e.signal)
}

// watchParent cancels ctx when the parent process exits: a credential_process
// whose SDK was killed must not keep waiting on a prompt or a lock. The
// parent's death is seen as a change of parent PID (the orphan is adopted).
func watchParent(ctx context.Context, cancel context.CancelCauseFunc) {
	parent := os.Getppid()
	if parent <= 1 {
		return // started by init or a subreaper already: nothing to watch
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != parent {
				cancel(&interrupted{signal: hangup, reason: "the parent process exited"})
				return
			}
		}
	}
}

// Run executes one command line and returns its exit code.
func Run(ctx context.Context, io *IO, args []string) int {
	io.Args = args
	root := NewCmdRoot(io)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	// A child's exit code first: exec --server's command may have ended
	// on the Ctrl-C that also reached rolecall, and its code is the answer.
	var ce *childExit
	if errors.As(err, &ce) {
		return ce.code
	}
	var intr *interrupted
	if errors.As(context.Cause(ctx), &intr) {
		printError(io.ErrOut, io.colored(), intr, nil)
		return 128 + signalNumber(intr.signal)
	}
	var debug func(string, ...any)
	if io.debug {
		debug = io.Debugf
	}
	if isFlagError(cmd, err) {
		err = withCode(ExitUsage, err, fmt.Sprintf("see '%s --help'", cmd.CommandPath()))
	}
	return printError(io.ErrOut, io.colored(), err, debug)
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "rolecall",
		Short: "Assume AWS IAM roles and use the temporary credentials anywhere",
		Long: `rolecall assumes AWS IAM roles through STS, caches the temporary credentials
safely on disk, and hands them to your shell, your SDKs (credential_process),
a child process, or a CI job.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().BoolVar(&io.debug, "debug", false, "trace each step on stderr (secrets are never shown)")
	root.PersistentFlags().BoolVarP(&io.quiet, "quiet", "q", false, "print nothing on stderr but errors")
	root.PersistentFlags().BoolVar(&io.noColor, "no-color", false, "never colour stderr (also: NO_COLOR)")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(ExitUsage, err, fmt.Sprintf("see '%s --help'", c.CommandPath()))
	})

	root.AddCommand(
		NewCmdAssume(io, nil),
		NewCmdProcess(io, nil),
		NewCmdExec(io, nil),
		NewCmdServe(io, nil),
		NewCmdConfigure(io, nil),
		NewCmdWhoami(io, nil),
		NewCmdCache(io),
		NewCmdVersion(io),
		NewCmdShellInit(io, nil),
	)
	registerCompletions(root, io)
	return root
}

// isFlagError tells cobra's own command-line errors (unknown command, bad
// argument count) from a command's errors, which are classified already.
func isFlagError(cmd *cobra.Command, err error) bool {
	var ee *exitError
	if errors.As(err, &ee) {
		return false
	}
	return cmd == nil || !cmd.Flags().Parsed() || strings.HasPrefix(err.Error(), "unknown command") ||
		strings.HasPrefix(err.Error(), "accepts ") || strings.HasPrefix(err.Error(), "requires at least")
}
