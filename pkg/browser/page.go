package browser

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// A command line is visible to every user of the machine (ps,
// /proc/PID/cmdline): a URL that carries a secret (a console sign-in
// token; an OAuth authorize URL, whose state and redirect_uri let another
// user complete the sign-in as herself) must never be one. So the URL goes
// into a small HTML page that sends the browser on at once, written 0600
// in a fresh 0700 directory, and the browser is started on the page's
// path: the command line shows only a file name no other user can read.

// Page is a page that sends the browser on to URL.
type Page struct {
	URL string
	// Title and Text say what the link is, for a browser that does not
	// follow the refresh at once.
	Title, Text string
}

// WritePage writes p as signin.html, 0600, in a new 0700 directory named
// prefix followed by random characters under dir (os.TempDir() when
// empty), and returns its path. The caller removes the directory.
func WritePage(dir, prefix string, p Page) (string, error) {
	d, err := os.MkdirTemp(dir, prefix) // 0700
	if err != nil {
		return "", err
	}
	path := filepath.Join(d, "signin.html")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600) //nolint:gosec // a name of our own in a directory of our own
	if err != nil {
		_ = os.RemoveAll(d)
		return "", err
	}
	link := html.EscapeString(p.URL)
	// no-referrer: the site must not see this page's path; the refresh
	// follows the link at once, the anchor where refresh is off.
	_, err = fmt.Fprintf(f, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="0;url=%s">
<title>%s</title></head>
<body><p><a href="%s" rel="noreferrer">%s</a></p></body></html>
`, link, html.EscapeString(p.Title), link, html.EscapeString(p.Text))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.RemoveAll(d)
		return "", err
	}
	return path, nil
}

// FileURL is the file: URL of an absolute path.
func FileURL(path string) string {
	slashed := filepath.ToSlash(path)
	if !strings.HasPrefix(slashed, "/") {
		return "file:///" + slashed // C:/… on Windows
	}
	return (&url.URL{Scheme: "file", Path: slashed}).String()
}
