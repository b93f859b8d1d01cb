//go:build !windows

package cli

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// terminationSignals end a command: what Ctrl-C, kill, a supervisor and a
// closed terminal send.
var terminationSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// hangup stands for the parent's death, as a closed terminal would send it.
var hangup os.Signal = syscall.SIGHUP

// childSignals are what rolecall catches while a child it runs itself
// (exec --server; exec where there is no execve) is alive, to relay or
// not: the termination signals, and SIGQUIT (Ctrl-\), which would
// otherwise make the Go runtime dump its goroutines and kill the endpoint
// under a command that may well survive it.
var childSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// passOn decides whether a signal rolecall received while exec --server's
// command runs is relayed to the command, which is in rolecall's process
// group. A terminal sends Ctrl-C (SIGINT), Ctrl-\ (SIGQUIT) and its
// hang-up (SIGHUP) to its whole foreground process group: when that group
// is rolecall's, the command got the signal already, and a second copy
// would be a second keypress (terraform takes two Ctrl-Cs as "stop now,
// whatever the state"). Every other signal (SIGTERM always; the others
// while rolecall is a background job or has no terminal) was sent to
// rolecall alone, by kill, timeout(1), a supervisor, and is relayed.
//
// What this cannot tell apart: kill -INT PID sent to rolecall while it is
// the terminal's foreground job is taken for a keypress (send SIGTERM
// instead), and a SIGTERM sent to the whole group (kill -TERM -PGID,
// systemd's KillMode=control-group) reaches the command twice (systemd:
// use KillMode=mixed). The signal's sender, which would settle it
// (siginfo's si_code and si_pid), is not something Go's os/signal shows.
func passOn(s os.Signal) bool {
	switch s {
	case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGHUP:
		return !inForeground()
	}
	return true
}

// foregroundGroup is the foreground process group of rolecall's
// controlling terminal; ok is false when it has none.
func foregroundGroup() (pgrp int, ok bool) {
	tty, err := os.Open("/dev/tty")
	if err != nil {
		return 0, false
	}
	defer func() { _ = tty.Close() }()
	pgrp, err = unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return pgrp, err == nil
}

// inForeground reports whether rolecall is in its terminal's foreground
// process group: what the terminal's keys signal.
func inForeground() bool {
	pgrp, ok := foregroundGroup()
	return ok && pgrp == unix.Getpgrp()
}

// inBackground reports whether rolecall is known to be a background job of
// its terminal, where reading the terminal would stop it (SIGTTIN).
func inBackground() bool {
	pgrp, ok := foregroundGroup()
	return ok && pgrp != unix.Getpgrp()
}

func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return 1
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return s.String()
}

// replaceProcess is execve: the program takes rolecall's PID, its signals
// and its exit status.
func replaceProcess(path string, argv, env []string) error {
	return syscall.Exec(path, argv, env) //nolint:gosec // the user's own command, found on PATH
}
