//go:build unix

package main

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdFollow opens a console sign-in link as a browser would (following
// redirects, keeping cookies) and prints the status and the page it lands
// on, for the script to match:
//
//	follow link FILE   the link is the first line of FILE (rolecall console --print's stdout)
//	follow page FILE   FILE holds the arguments a BROWSER command got: the
//	                   first is the file:// URL of rolecall's sign-in page,
//	                   whose link is followed
func cmdFollow(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || (args[0] != "link" && args[0] != "page") {
		ts.Fatalf("usage: follow link|page FILE")
	}
	first, _, _ := strings.Cut(ts.ReadFile(args[1]), "\n")
	link := first
	if args[0] == "page" {
		u, err := url.Parse(first)
		ts.Check(err)
		if u.Scheme != "file" {
			ts.Fatalf("the browser got %q, want a file:// URL of a page", first)
		}
		page, err := os.ReadFile(u.Path)
		ts.Check(err)
		m := regexp.MustCompile(`content="0;url=([^"]+)"`).FindSubmatch(page)
		if m == nil {
			ts.Fatalf("the page holds no redirect")
		}
		link = html.UnescapeString(string(m[1]))
	}
	jar, err := cookiejar.New(nil)
	ts.Check(err)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, link, nil)
	ts.Check(err)
	resp, err := client.Do(req)
	ts.Check(err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ts.Check(err)
	_, _ = io.WriteString(ts.Stdout(), resp.Status+"\n"+string(body))
	if (resp.StatusCode == http.StatusOK) == neg {
		ts.Fatalf("the link answered %s", resp.Status)
	}
}
