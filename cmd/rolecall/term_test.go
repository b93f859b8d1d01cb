//go:build unix

package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdTerm drives a real terminal: a tmux session running bash, started
// with the script's environment, on a socket of the script's own.
//
//	term start COLS ROWS   start the session (a terminal of that size)
//	term type TEXT         type TEXT literally
//	term keys KEY...       press keys by tmux name (Enter, Escape, Down, Up, C-c)
//	term wait REGEXP       wait until the screen matches (multi-line mode)
//
// A wait is for what the screen shows, never for a duration; a screen that
// never matches fails after the hang guard, saying "hung" and showing it.
func cmdTerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) == 0 {
		ts.Fatalf("usage: term start|type|keys|wait")
	}
	sock := ts.Getenv("TERM_SOCKET")
	if args[0] == "start" {
		// A socket per terminal: a server just killed may still hold the
		// last one.
		sock = filepath.Join(ts.Getenv("WORK"), "tmux-"+strings.Join(args[1:], "x")+".sock")
		ts.Setenv("TERM_SOCKET", sock)
	}
	tmux := func(a ...string) string {
		out, err := exec.Command("tmux", append([]string{"-S", sock}, a...)...).CombinedOutput()
		if err != nil {
			ts.Fatalf("tmux %s: %v: %s", strings.Join(a, " "), err, out)
		}
		return string(out)
	}
	switch args[0] {
	case "start":
		if len(args) != 3 {
			ts.Fatalf("usage: term start COLS ROWS")
		}
		// Exec: the server, and the shell it starts, get the script's
		// environment (PATH with rolecall, HOME, the emulator's URL).
		ts.Check(ts.Exec("tmux", "-S", sock, "-f", "/dev/null", "new-session", "-d", "-s", "t",
			"-x", args[1], "-y", args[2], "bash --norc --noprofile"))
		ts.Defer(func() { _ = exec.Command("tmux", "-S", sock, "kill-server").Run() })
		tmux("set-option", "-g", "status", "off")
		tmux("resize-window", "-t", "t", "-x", args[1], "-y", args[2])
	case "type":
		tmux("send-keys", "-t", "t", "-l", strings.Join(args[1:], " "))
	case "keys":
		tmux(append([]string{"send-keys", "-t", "t"}, args[1:]...)...)
	case "wait":
		re, err := regexp.Compile("(?m)" + strings.Join(args[1:], " "))
		ts.Check(err)
		deadline := time.Now().Add(hangGuard)
		screen := ""
		for time.Now().Before(deadline) {
			screen = tmux("capture-pane", "-p", "-t", "t")
			if re.MatchString(screen) != neg {
				ts.Logf("screen:\n%s", screen)
				return
			}
			time.Sleep(20 * time.Millisecond) // a poll of the screen, not a wait for an event
		}
		ts.Fatalf("hung: the screen did not match %q within %s; it shows:\n%s", re, hangGuard, screen)
	default:
		ts.Fatalf("unknown term command %q", args[0])
	}
}
