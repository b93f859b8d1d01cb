package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rolecall/rolecall/pkg/browser"
	"github.com/rolecall/rolecall/pkg/safefile"
)

// How a browser gets the link. A command line is visible to every user of
// the machine (ps, /proc/PID/cmdline), and `xdg-open URL`, `open URL` or a
// BROWSER command would put the sign-in token there for as long as the
// browser runs. So the link goes into a small HTML page that redirects to
// it, written 0600 in a fresh 0700 directory under the temporary directory,
// and the browser is started on the page's path: the command line shows
// only a file name no other user can read. The page lives as long as the
// link may (15 minutes) and is removed by the next `rolecall console`
// after that; meanwhile it is protected as the credential cache is.
//
// The cost: a browser that cannot read the temporary directory cannot
// follow the page. Firefox installed as a snap (Ubuntu's default) has a
// /tmp of its own; point TMPDIR at a directory it can read, or use
// --print. No platform offers a way to hand a URL to the default browser
// other than its command line (xdg-open, open, url.dll) short of D-Bus or
// Apple events, which a dependency-free CLI does not speak.

// pagePrefix names the directories the pages go in.
const pagePrefix = "rolecall-console-"

// ErrNoBrowser is returned when no browser could be started: no BROWSER, no
// launcher for the platform, or no display to show one on.
var ErrNoBrowser = browser.ErrNoBrowser

// Browser starts a web browser on a sign-in link.
type Browser struct {
	// Getenv reads BROWSER, DISPLAY and WAYLAND_DISPLAY.
	Getenv func(string) string
	// GOOS picks the platform's launcher; empty is runtime.GOOS.
	GOOS string
	// TempDir is where the page goes; empty is os.TempDir().
	TempDir string
	// Now is the clock that dates stale pages; nil is time.Now.
	Now func() time.Time
	// Stderr receives what the launcher says (xdg-open's complaints).
	Stderr io.Writer
}

// Opened says how the browser was started.
type Opened struct {
	// Command is the program started (BROWSER's, xdg-open, open, rundll32).
	Command string
	// Page is the file holding the link, which the browser was given.
	Page string
}

// Open starts a browser on link through a page file (see above), trying
// each command of BROWSER (a list separated like PATH, as Python's
// webbrowser module reads it; %s in a command stands for the page's URL,
// else it is appended), else the platform's launcher: open on macOS,
// rundll32 url.dll,FileProtocolHandler on Windows, xdg-open elsewhere when
// there is a display. With none it returns an error wrapping ErrNoBrowser,
// and the caller prints the link instead.
func (b Browser) Open(ctx context.Context, link Link) (Opened, error) {
	b.removeStalePages()
	page, err := b.writePage(link.URL)
	if err != nil {
		return Opened{}, fmt.Errorf("write the sign-in page: %w", err)
	}
	command, err := browser.Launcher{Getenv: b.Getenv, GOOS: b.GOOS, Stderr: b.Stderr}.Open(ctx, browser.FileURL(page), page)
	if err != nil {
		_ = os.RemoveAll(filepath.Dir(page))
		return Opened{}, err
	}
	return Opened{Command: command, Page: page}, nil
}

// writePage writes the page that redirects to link, 0600 in a new 0700
// directory, and returns its path.
func (b Browser) writePage(link string) (string, error) {
	return browser.WritePage(b.TempDir, pagePrefix, browser.Page{
		URL:   link,
		Title: "AWS console sign-in",
		Text:  "Sign in to the AWS console (rolecall; this link works once, for 15 minutes)",
	})
}

// removeStalePages removes the page directories of earlier runs whose links
// have expired. Only directories this user owns are touched (safefile.OwnedByMe).
func (b Browser) removeStalePages() {
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	tmp := b.TempDir
	if tmp == "" {
		tmp = os.TempDir()
	}
	matches, _ := filepath.Glob(filepath.Join(tmp, pagePrefix+"*"))
	for _, dir := range matches {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() || !safefile.OwnedByMe(fi) || now().Sub(fi.ModTime()) < SigninTokenLifetime {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}
