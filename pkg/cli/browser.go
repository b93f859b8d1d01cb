package cli

import (
	"context"
	"fmt"

	"github.com/rolecall/rolecall/pkg/browser"
)

// openBrowser returns how a login opens a URL for the person (pkg/browser:
// BROWSER, else the platform's launcher). Only a browser that cannot be
// started is an error; the login prints the URL either way.
func openBrowser(io *IO) func(ctx context.Context, url string) error {
	return func(ctx context.Context, url string) error {
		l := browser.Launcher{Getenv: io.Getenv}
		if io.debug {
			l.Stderr = io.ErrOut
		}
		command, err := l.Open(ctx, url, "")
		if err != nil {
			io.Debugf("no browser could be opened: %v", err)
			return fmt.Errorf("open a browser: %w", err)
		}
		io.Debugf("opened the browser with %s", command)
		return nil
	}
}
