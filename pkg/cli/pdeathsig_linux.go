package cli

import (
	"os/exec"
	"runtime"
	"syscall"
)

// tieToParent makes the kernel kill cmd's process when rolecall dies
// (PR_SET_PDEATHSIG, set in the child between fork and exec; Go kills the
// child itself if rolecall died before that). exec --server's command
// must not outlive the endpoint it fetches from: after a SIGKILL of
// rolecall another user could bind the freed port, take the command's
// token and hand it credentials of her own. SIGKILL, because a command
// that handles SIGTERM would go on fetching. The signal is sent when the
// thread that started the child ends, so the caller keeps that thread
// (runtime.LockOSThread) until the child has been waited for; the
// returned func lets it go.
func tieToParent(cmd *exec.Cmd) (release func()) {
	runtime.LockOSThread()
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	return runtime.UnlockOSThread
}
