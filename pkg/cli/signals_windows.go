package cli

import "os"

// terminationSignals end a command: Ctrl-C.
var terminationSignals = []os.Signal{os.Interrupt}

var hangup os.Signal = os.Interrupt

// Windows delivers Ctrl-C to every process of the console; relaying it
// again would deliver it twice.
var childSignals = []os.Signal{}

// passOn is never asked on Windows: no signal is relayed.
func passOn(os.Signal) bool { return false }

// inBackground: a Windows console has no background jobs.
func inBackground() bool { return false }

func signalNumber(os.Signal) int { return 2 }

func signalName(os.Signal) string { return "Ctrl-C" }

// replaceProcess is nil: Windows has no execve, so exec runs a child.
var replaceProcess func(path string, argv, env []string) error
