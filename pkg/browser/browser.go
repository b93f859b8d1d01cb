// Package browser starts the user's web browser on a URL, as Python's
// webbrowser module and the platforms' launchers do: BROWSER (commands
// separated like PATH; %s stands for the URL, else it is appended), else
// open on macOS, rundll32's URL handler on Windows, xdg-open where there is a
// display. It is the one place rolecall starts a browser (the console's
// sign-in page, IAM Identity Center's sign-in).
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// launchWait is how long a started browser command has to fail before it
// counts as started: xdg-open and open exit at once, with a status that
// says whether a browser took the URL; a browser started directly runs on.
const launchWait = 3 * time.Second

// ErrNoBrowser is returned when no browser could be started: no BROWSER, no
// launcher for the platform, or no display to show one on.
var ErrNoBrowser = errors.New("no browser")

// Launcher starts a browser.
type Launcher struct {
	// Getenv reads BROWSER, DISPLAY and WAYLAND_DISPLAY.
	Getenv func(string) string
	// GOOS picks the platform's launcher; empty is runtime.GOOS.
	GOOS string
	// Stderr receives what the launcher says (xdg-open's complaints).
	Stderr io.Writer
}

// Open starts a browser on url, trying each command in turn, and returns
// the program that took it. path, when not empty, is the local file url
// names: the platform launchers that take a path (%p) get it. With no
// browser to start the error wraps ErrNoBrowser.
func (l Launcher) Open(ctx context.Context, url, path string) (string, error) {
	commands, err := l.commands()
	if err != nil {
		return "", err
	}
	if path == "" {
		path = url
	}
	var failures []string
	for _, argv := range commands {
		cmd := expand(argv, url, path)
		if err := l.start(ctx, cmd); err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", cmd[0], err))
			continue
		}
		return cmd[0], nil
	}
	return "", fmt.Errorf("%w: %s", ErrNoBrowser, strings.Join(failures, "; "))
}

// commands are the command lines to try, each with a %s (the URL) or %p
// (the path) where the target goes.
func (l Launcher) commands() ([][]string, error) {
	getenv := l.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	goos := l.GOOS
	if goos == "" {
		goos = runtime.GOOS
	}
	if v := getenv("BROWSER"); strings.TrimSpace(v) != "" {
		sep := ":"
		if goos == "windows" {
			sep = ";"
		}
		var out [][]string
		for _, c := range strings.Split(v, sep) {
			if f := strings.Fields(c); len(f) > 0 {
				out = append(out, f)
			}
		}
		return out, nil
	}
	switch goos {
	case "darwin":
		return [][]string{{"open", "%p"}}, nil
	case "windows":
		return [][]string{{"rundll32", "url.dll,FileProtocolHandler", "%p"}}, nil
	}
	if getenv("DISPLAY") == "" && getenv("WAYLAND_DISPLAY") == "" {
		return nil, fmt.Errorf("%w: BROWSER is not set and there is no display (DISPLAY, WAYLAND_DISPLAY)", ErrNoBrowser)
	}
	return [][]string{{"xdg-open", "%s"}}, nil
}

// expand puts the target into a command line: %s is the URL, %p (the
// platform launchers' own) the path; a command with neither gets the URL
// appended, as BROWSER commands do.
func expand(argv []string, url, path string) []string {
	out := make([]string, 0, len(argv)+1)
	placed := false
	for _, a := range argv {
		if strings.Contains(a, "%s") || strings.Contains(a, "%p") {
			placed = true
		}
		a = strings.ReplaceAll(a, "%s", url)
		out = append(out, strings.ReplaceAll(a, "%p", path))
	}
	if !placed {
		out = append(out, url)
	}
	return out
}

// start runs a launcher and waits up to launchWait for it to fail.
func (l Launcher) start(ctx context.Context, argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	// Not CommandContext: a browser started directly must outlive rolecall.
	cmd := exec.Command(path, argv[1:]...) //nolint:gosec,noctx // the user's BROWSER or the platform's launcher
	cmd.Stderr = l.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(launchWait)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		return nil // still running: a browser, started
	case <-ctx.Done():
		return nil // interrupted after it started: leave it be
	}
}
