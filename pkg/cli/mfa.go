package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
)

// mfaCodeSource returns how this command gets an MFA code when a hop needs
// one and none was given: --mfa-code-command, else a prompt on the terminal
// itself (not stdin/stdout, which eval and credential_process capture), else
// nil: nobody can be asked.
func mfaCodeSource(io *IO, fl *requestFlags) func(context.Context, string) (string, error) {
	if fl.MFACodeCommand != "" {
		return func(ctx context.Context, serial string) (string, error) {
			return runCodeCommand(ctx, io, fl.MFACodeCommand, serial)
		}
	}
	if reason := noPromptReason(io, fl); reason != "" {
		return func(_ context.Context, serial string) (string, error) {
			return "", &assume.NeedsPersonError{Serial: serial, Reason: reason}
		}
	}
	return func(ctx context.Context, serial string) (string, error) {
		return promptOnTerminal(ctx, serial)
	}
}

// kubectlNoPrompt is the reason when kubectl said its plugin may not
// prompt (KUBERNETES_EXEC_INFO spec.interactive false).
const kubectlNoPrompt = "kubectl"

// noPromptReason says why rolecall must not prompt, or "" when it may.
func noPromptReason(io *IO, fl *requestFlags) string {
	switch {
	case fl.NoPrompt:
		return "--no-prompt"
	case fl.KubectlNoPrompt:
		return kubectlNoPrompt
	case io.Getenv("CI") == "true":
		return "CI"
	}
	return ""
}

// runCodeCommand runs the user's command through the shell; its trimmed
// stdout is the code. ROLECALL_MFA_SERIAL tells it which device.
func runCodeCommand(ctx context.Context, io *IO, command, serial string) (string, error) {
	var cmd *exec.Cmd
	if runtime.GOOS == "windows" {
		cmd = exec.CommandContext(ctx, "cmd", "/C", command) //nolint:gosec // the user's own --mfa-code-command
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", command) //nolint:gosec // the user's own --mfa-code-command
	}
	cmd.Env = append(io.Environ(), "ROLECALL_MFA_SERIAL="+serial)
	cmd.Stderr = io.ErrOut
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return "", withCode(ExitNeedsPerson, fmt.Errorf("--mfa-code-command failed: %w", err), "check the command; its stdout must be the 6-digit code")
	}
	code := strings.TrimSpace(out.String())
	if err := assume.ValidateTokenCode(code); err != nil {
		return "", withCode(ExitNeedsPerson, fmt.Errorf("--mfa-code-command printed something other than a 6-digit code"), "")
	}
	return code, nil
}

// promptOnTerminal asks on the controlling terminal. With none (a CI job, a
// daemon), it fails at once instead of hanging. Ctrl-C, --timeout or the
// parent's death (ctx) end the wait at once: the terminal's read deadline
// is moved to now.
func promptOnTerminal(ctx context.Context, serial string) (string, error) {
	in, out, err := openTerminal()
	if err != nil {
		return "", &assume.NeedsPersonError{Serial: serial}
	}
	defer func() { _ = in.Close() }()
	if out != in {
		defer func() { _ = out.Close() }()
	}
	stop := context.AfterFunc(ctx, func() {
		if in.SetReadDeadline(time.Now()) != nil {
			_ = in.Close() // not pollable: closing is all that is left
		}
	})
	defer stop()
	fmt.Fprintf(out, "rolecall: MFA code for %s: ", serial)
	line, err := bufio.NewReader(io.LimitReader(in, 256)).ReadString('\n')
	if ctx.Err() != nil {
		fmt.Fprintln(out)
		return "", context.Cause(ctx)
	}
	if err != nil && line == "" {
		return "", withCode(ExitNeedsPerson, fmt.Errorf("read MFA code: %w", err), "")
	}
	return strings.TrimSpace(line), nil
}

func openTerminal() (in, out *os.File, err error) {
	if runtime.GOOS == "windows" {
		if in, err = os.Open("CONIN$"); err != nil {
			return nil, nil, err
		}
		if out, err = os.OpenFile("CONOUT$", os.O_WRONLY, 0); err != nil {
			_ = in.Close()
			return nil, nil, err
		}
		return in, out, nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	return tty, tty, err
}
