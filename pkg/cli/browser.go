package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/rolecall/rolecall/pkg/browser"
)

// loginPagePrefix names the directories of the sign-in pages.
const loginPagePrefix = "rolecall-login-"

// pageOpener opens a login's URL for the person (pkg/browser: BROWSER,
// else the platform's launcher) through a 0600 page, never on the
// browser's command line: an authorize URL in argv lets another user of
// the machine (ps) approve it as herself and complete the sign-in on
// rolecall's loopback callback. Only a browser that cannot be started is
// an error; the login prints the URL either way. close removes the pages
// once the login is over (the browser has followed them by then).
type pageOpener struct {
	io    *IO
	mu    sync.Mutex
	pages []string
}

func (p *pageOpener) open(ctx context.Context, url string) error {
	io := p.io
	page, err := browser.WritePage(io.Getenv("TMPDIR"), loginPagePrefix, browser.Page{
		URL:   url,
		Title: "IAM Identity Center sign-in",
		Text:  "Sign in to IAM Identity Center (rolecall login)",
	})
	if err != nil {
		io.Debugf("no sign-in page could be written: %v", err)
		return fmt.Errorf("write the sign-in page: %w", err)
	}
	p.mu.Lock()
	p.pages = append(p.pages, page)
	p.mu.Unlock()
	l := browser.Launcher{Getenv: io.Getenv}
	if io.debug {
		l.Stderr = io.ErrOut
	}
	command, err := l.Open(ctx, browser.FileURL(page), page)
	if err != nil {
		io.Debugf("no browser could be opened: %v", err)
		return fmt.Errorf("open a browser: %w", err)
	}
	io.Debugf("opened the browser with %s on %s", command, page)
	return nil
}

func (p *pageOpener) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, page := range p.pages {
		_ = os.RemoveAll(filepath.Dir(page))
	}
	p.pages = nil
}
