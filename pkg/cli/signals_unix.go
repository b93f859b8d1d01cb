//go:build !windows

package cli

import (
	"os"
	"syscall"
)

// terminationSignals end a command: what Ctrl-C, kill, a supervisor and a
// closed terminal send.
var terminationSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// hangup stands for the parent's death, as a closed terminal would send it.
var hangup os.Signal = syscall.SIGHUP

// forwardedSignals are relayed to a child that rolecall runs itself; on
// Unix exec replaces rolecall instead, so none is needed there.
var forwardedSignals = terminationSignals

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
