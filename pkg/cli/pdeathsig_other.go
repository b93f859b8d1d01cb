//go:build !linux

package cli

import "os/exec"

// tieToParent does nothing here: only Linux offers a parent-death signal
// set in the child (FreeBSD's procctl PROC_PDEATHSIG_CTL is not exposed
// by os/exec). docs/server.md says what that leaves open.
func tieToParent(*exec.Cmd) (release func()) { return func() {} }
