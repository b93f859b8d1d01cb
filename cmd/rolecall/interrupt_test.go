//go:build unix

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// Interrupts: Ctrl-C, --timeout and a dead parent end what rolecall waits on
// (a prompt on the terminal, a cache lock) at once, and exec's child gets
// exactly the signals it is sent.

// mfaProfileEnv is an MFA profile whose code nobody gives: rolecall prompts.
func mfaProfileEnv(t *testing.T) *rcEnv {
	t.Helper()
	e := newRCEnv(t, ststest.DemoConfig())
	delete(e.vars, "AWS_ACCESS_KEY_ID")
	delete(e.vars, "AWS_SECRET_ACCESS_KEY")
	e.writeFile(e.vars["AWS_CONFIG_FILE"], "[profile admin]\nrole_arn = "+ststest.DemoRoleARN("needs-mfa")+
		"\nsource_profile = alice\nmfa_serial = "+ststest.DemoMFASerial+"\n", 0o600)
	e.writeFile(e.vars["AWS_SHARED_CREDENTIALS_FILE"], "[alice]\naws_access_key_id = "+ststest.DemoAccessKeyID+
		"\naws_secret_access_key = "+ststest.DemoSecretAccessKey+"\n", 0o600)
	return e
}

// onTerminal runs shell (which must exec rolecall after writing its PID to
// pidFile) under script(1), on a terminal of its own that nobody types on;
// the terminal's output collects in the returned buffer.
func (e *rcEnv) onTerminal(shell string) (*exec.Cmd, *syncBuffer) {
	e.t.Helper()
	cmd, out, _ := e.onTerminalTyping(shell)
	return cmd, out
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	waitFor(t, "the PID file", func() bool {
		b, err := os.ReadFile(path)
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// exitCode waits for cmd and returns its exit code, failing as hung after
// hangGuard.
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done: // a non-zero exit is the answer, read from ProcessState
		return cmd.ProcessState.ExitCode()
	case <-time.After(hangGuard):
		t.Fatalf("hung: still running after %s", hangGuard)
		return -1
	}
}

// TestCtrlCEndsMFAPrompt: Ctrl-C at the prompt ends rolecall at once with
// 130 (it used to wait for Enter), and the cache lock it held is free.
func TestCtrlCEndsMFAPrompt(t *testing.T) {
	t.Parallel()
	e := mfaProfileEnv(t)
	pidFile := filepath.Join(e.work, "pid")
	cmd, out := e.onTerminal("echo $$ > " + pidFile + "; exec rolecall process admin")
	pid := readPID(t, pidFile)
	waitFor(t, "the prompt", func() bool { return strings.Contains(out.String(), "MFA code for") })
	if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 130 {
		t.Fatalf("exit %d after Ctrl-C, want 130:\n%s", code, out)
	}
	if !strings.Contains(out.String(), "interrupted by SIGINT") {
		t.Errorf("no interrupted line:\n%q", out)
	}
	r := e.run("process", "--timeout", hangGuard.String(), "--mfa-code", e.sts.TOTP(ststest.DemoMFASerial), "admin")
	if r.code != 0 {
		t.Fatalf("the next call exited %d (a lock left behind?):\n%s", r.code, r.stderr)
	}
}

// TestTimeoutEndsMFAPrompt: nobody answers; --timeout ends the prompt.
// What tells the 1s --timeout from the default minute is the time taken,
// so the bound sits just under that minute, far from what load adds to a
// 1s wait; "timed out" in the error shows which way it ended.
func TestTimeoutEndsMFAPrompt(t *testing.T) {
	t.Parallel()
	e := mfaProfileEnv(t)
	pidFile := filepath.Join(e.work, "pid")
	start := time.Now()
	cmd, out := e.onTerminal("echo $$ > " + pidFile + "; exec rolecall process --timeout 1s admin")
	if code := exitCode(t, cmd); code == 0 {
		t.Fatalf("an unanswered prompt exited 0:\n%s", out)
	}
	if took := time.Since(start); took > 50*time.Second {
		t.Fatalf("a 1s --timeout took %s: as long as the default minute, so --timeout was not applied", took)
	}
	if !strings.Contains(out.String(), "MFA code for") {
		t.Errorf("no prompt was shown:\n%s", out)
	}
	if !strings.Contains(out.String(), "timed out") {
		t.Errorf("the error does not say it timed out:\n%s", out)
	}
}

// TestDeadParentEndsLockWait: a rolecall waiting on another's cache lock
// whose parent dies (the AWS CLI killed by Ctrl-C, say) stops waiting,
// saying why, instead of waiting out --timeout (longer than the test's
// guard against a hang).
func TestDeadParentEndsLockWait(t *testing.T) {
	t.Parallel()
	e := newRCEnv(t, ststest.DemoConfig())
	role := ststest.DemoRoleARN("demo")
	e.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultHang})
	holder, _ := e.start(nil, nil, "process", role)
	e.waitCalls(1)
	defer kill9(t, holder)

	pidFile, errFile := filepath.Join(e.work, "waiter"), filepath.Join(e.work, "waiter.stderr")
	parent := exec.Command("sh", "-c", `"$0" process --debug --timeout 1h "$1" 2> "$3" & echo $! > "$2"; wait`,
		e.bin, role, pidFile, errFile)
	parent.Dir, parent.Env = e.work, e.environ()
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	waiter := readPID(t, pidFile)
	defer func() { _ = syscall.Kill(waiter, syscall.SIGKILL) }()
	stderr := func() string { b, _ := os.ReadFile(errFile); return string(b) }
	waitFor(t, "the waiter reaches the lock", func() bool {
		return strings.Contains(stderr(), "another rolecall is fetching the same credentials")
	})
	kill9(t, parent)
	waitFor(t, "the orphaned waiter stops waiting on the lock", func() bool { return !alive(waiter) })
	if !strings.Contains(stderr(), "the parent process exited") {
		t.Fatalf("the waiter ended for another reason than its parent's death:\n%s", stderr())
	}
}

// TestExecChildGetsOneSignalPerKeypress: a terminal sends Ctrl-C to the
// whole foreground process group. The command rolecall exec runs must get
// it once (Terraform takes a second SIGINT as "stop now"); rolecall used to
// forward it a second time. A signal sent to rolecall's PID alone still
// reaches the command.
func TestExecChildGetsOneSignalPerKeypress(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("setsid"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("setsid (util-linux) is required when CI is set: %v", err)
		}
		t.Skip("needs setsid (util-linux)")
	}
	e := newRCEnv(t, ststest.DemoConfig())
	pidFile := filepath.Join(e.work, "pid")
	// The command waits for the first SIGINT (at most two minutes: a busy
	// machine may be slow to send it), then half a second more for a
	// second one, which a forwarding rolecall sends at once.
	script := `n=0; trap 'n=$((n+1))' INT; echo $$ > "$0"; i=0; while [ $n -eq 0 ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i+1)); done; ` +
		`i=0; while [ $i -lt 10 ]; do sleep 0.05; i=$((i+1)); done; echo "ints=$n"`
	cmd := exec.Command("setsid", e.bin, "exec", ststest.DemoRoleARN("demo"), "--", "sh", "-c", script, pidFile)
	cmd.Dir, cmd.Env = e.work, e.environ()
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := readPID(t, pidFile)
	// The process group, as a terminal's Ctrl-C: setsid made rolecall (now
	// the command) the leader of a group of its own.
	if err := syscall.Kill(-pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out.String(), "ints=1") {
		t.Fatalf("the command counted other than one SIGINT:\n%s", out)
	}
}
