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
	"sync"
	"time"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/rolecall/rolecall/pkg/build"
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

	// warned holds the warnings already given: a request resolved more
	// than once in a run (exec --server, serve) says each thing once.
	warnMu sync.Mutex
	warned map[string]bool
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

// Debugf traces a step on stderr with --debug. Callers pass no secret;
// what they pass (an ARN from STS, a profile name) is escaped.
func (io *IO) Debugf(format string, args ...any) {
	if io.debug {
		fmt.Fprintf(io.ErrOut, "rolecall: debug: %s\n", escapeControl(fmt.Sprintf(format, args...)))
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

// warnOnce is Warnf for what a request's resolution says: a request
// resolved more than once in a run (exec --server, serve) says each thing
// once.
func (io *IO) warnOnce(msg string) {
	io.warnMu.Lock()
	seen := io.warned[msg]
	if io.warned == nil {
		io.warned = map[string]bool{}
	}
	io.warned[msg] = true
	io.warnMu.Unlock()
	if !seen {
		io.Warnf("%s", msg)
	}
}

// Infof tells a person something on stderr unless --quiet.
func (io *IO) Infof(format string, args ...any) {
	if !io.quiet {
		fmt.Fprintf(io.ErrOut, "rolecall: %s\n", escapeControl(fmt.Sprintf(format, args...)))
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
	root := newRootFor(io, args)
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	if io.Getenv(shellInitEnv) != "" {
		// A shell-init function evaluates stdout: help is for the person.
		root.SetOut(io.ErrOut)
	}
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
		if name := unknownCommandName(cmd, err, args); name != "" {
			err = unknownCommand(cmd, name)
		} else {
			err = withCode(ExitUsage, err, fmt.Sprintf("see '%s --help'", cmd.CommandPath()))
		}
	}
	return printError(io.ErrOut, io.colored(), err, debug)
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(io *IO) *cobra.Command {
	root := newBareRoot(io)
	for _, c := range commands() {
		root.AddCommand(c.build(io))
	}
	registerCompletions(root, io)
	return root
}

// newBareRoot is the root command with its flags and no subcommand.
func newBareRoot(io *IO) *cobra.Command {
	root := &cobra.Command{
		Use:   "rolecall",
		Short: "Assume AWS IAM roles and use the temporary credentials anywhere",
		Long: `rolecall assumes AWS IAM roles through STS, caches the temporary credentials
safely on disk, and hands them to your shell, your SDKs (credential_process),
a child process, or a CI job.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// unknownCommand says it on a hint line of its own.
		DisableSuggestions: true,
		// --version: the line of `rolecall version`.
		Version: build.Read().String(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().BoolVar(&io.debug, "debug", false, "trace each step on stderr (secrets are never shown)")
	root.PersistentFlags().BoolVarP(&io.quiet, "quiet", "q", false, "print nothing on stderr but errors")
	root.PersistentFlags().BoolVar(&io.noColor, "no-color", false, "never colour stderr (also: NO_COLOR)")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		return checkShellInitAssume(io, cmd)
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withCode(ExitUsage, err, flagErrorHint(c, err))
	})
	root.SetHelpCommand(newHelpCommand())
	return root
}

// newHelpCommand is `rolecall help [COMMAND]`: cobra's own answers a topic
// it does not know with the usage and exit 0, so a script (or a person)
// that mistyped the command never learns it.
func newHelpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help provides help for any command in the application.\nSimply type rolecall help [path to command] for full details.",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil || cmd == nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			root := c.Root()
			cmd, rest, err := root.Find(args)
			if err != nil || cmd == nil {
				return unknownCommand(root, args[0])
			}
			if len(rest) > 0 && cmd.HasAvailableSubCommands() {
				return unknownCommand(cmd, rest[0])
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// command is a subcommand and the name that runs it.
type command struct {
	name  string
	build func(*IO) *cobra.Command
}

// commands are the subcommands. (A function: shell-init reads the tree's
// flags, so a package-level list would refer to itself.)
func commands() []command {
	return []command{
		{"assume", func(io *IO) *cobra.Command { return NewCmdAssume(io, nil) }},
		{"process", func(io *IO) *cobra.Command { return NewCmdProcess(io, nil) }},
		{"exec", func(io *IO) *cobra.Command { return NewCmdExec(io, nil) }},
		{"serve", func(io *IO) *cobra.Command { return NewCmdServe(io, nil) }},
		{"configure", func(io *IO) *cobra.Command { return NewCmdConfigure(io, nil) }},
		{"whoami", func(io *IO) *cobra.Command { return NewCmdWhoami(io, nil) }},
		{"profiles", func(io *IO) *cobra.Command { return NewCmdProfiles(io, nil) }},
		{"console", func(io *IO) *cobra.Command { return NewCmdConsole(io, nil) }},
		{"cache", NewCmdCache},
		{"login", func(io *IO) *cobra.Command { return NewCmdLogin(io, nil) }},
		{"logout", func(io *IO) *cobra.Command { return NewCmdLogout(io, nil) }},
		{"sso", NewCmdSSO},
		{"eks", NewCmdEKS},
		{"version", NewCmdVersion},
		{"shell-init", func(io *IO) *cobra.Command { return NewCmdShellInit(io, nil) }},
		{"keys", NewCmdKeys},
	}
}

// newRootFor is the tree one command line needs. `rolecall process ROLE`
// runs every time an SDK client starts: when the first word names a
// command, only that command is built (its flags, errors and help are the
// same as in the whole tree); help, completion, typos and bare flags get the
// whole tree.
func newRootFor(io *IO, args []string) *cobra.Command {
	if len(args) > 0 {
		for _, c := range commands() {
			if c.name == args[0] {
				root := newBareRoot(io)
				root.AddCommand(c.build(io))
				return root
			}
		}
	}
	return NewCmdRoot(io)
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

// unknownCommandName is the command name cobra did not know, when err is
// its "unknown command" error for cmd (the root); else "". cobra's error
// has no type, hence its text. The root's own flags take no value, so the
// name is the first argument that is not a flag.
func unknownCommandName(cmd *cobra.Command, err error, args []string) string {
	if cmd == nil || cmd.HasParent() || !strings.HasPrefix(err.Error(), "unknown command") {
		return ""
	}
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// unknownCommand is the error for a subcommand cmd does not have: one line,
// then a hint with the closest names (cobra's SuggestionsFor: edit distance
// and prefixes), or where to look when nothing is close.
func unknownCommand(cmd *cobra.Command, name string) error {
	hint := fmt.Sprintf("see '%s --help'", cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only where it suggests itself
	}
	if suggestions := cmd.SuggestionsFor(name); len(suggestions) > 0 {
		hint = "did you mean: " + strings.Join(suggestions, ", ")
	}
	return withCode(ExitUsage, fmt.Errorf("unknown command %q for %q", name, cmd.CommandPath()), hint)
}
