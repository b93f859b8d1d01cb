package cli

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// openBrowser returns how a login opens a URL for the person: $BROWSER,
// read as Python's webbrowser module reads it (commands separated by the
// path list separator, the first that starts wins, %s replaced by the URL
// or the URL appended), else the platform's opener: xdg-open, open on
// macOS, rundll32's URL handler on Windows. The program is started and not
// waited for (a browser may run until the person closes it); only a
// program that cannot be started is an error.
func openBrowser(io *IO) func(ctx context.Context, url string) error {
	return func(_ context.Context, url string) error {
		var commands [][]string
		if b := io.Getenv("BROWSER"); b != "" {
			for _, entry := range strings.Split(b, string(filepath.ListSeparator)) {
				words := strings.Fields(entry)
				if len(words) == 0 {
					continue
				}
				replaced := false
				for i, w := range words {
					if strings.Contains(w, "%s") {
						words[i], replaced = strings.ReplaceAll(w, "%s", url), true
					}
				}
				if !replaced {
					words = append(words, url)
				}
				commands = append(commands, words)
			}
		} else {
			switch runtime.GOOS {
			case "darwin":
				commands = [][]string{{"open", url}}
			case "windows":
				commands = [][]string{{"rundll32", "url.dll,FileProtocolHandler", url}}
			default:
				commands = [][]string{{"xdg-open", url}}
			}
		}
		var errs []error
		for _, words := range commands {
			cmd := exec.Command(words[0], words[1:]...) //nolint:gosec,noctx // the user's own $BROWSER; it outlives the command on purpose
			cmd.Env = io.Environ()
			if io.debug {
				cmd.Stderr = io.ErrOut
			}
			if err := cmd.Start(); err != nil {
				errs = append(errs, err)
				continue
			}
			io.Debugf("opened the browser with %s", words[0])
			go func() { _ = cmd.Wait() }()
			return nil
		}
		err := errors.Join(errs...)
		io.Debugf("no browser could be opened: %v", err)
		return fmt.Errorf("open a browser: %w", err)
	}
}
