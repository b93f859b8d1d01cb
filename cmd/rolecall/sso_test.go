//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// ststestBrowser is a browser for scripts (BROWSER=ststest-browser): it
// opens the URL rolecall gives it as a person would, signing in to the
// emulator's Identity Center as $STSTEST_SSO_USER (the demo user by
// default) and choosing $STSTEST_SSO_DECISION (allow by default, or deny)
// on the consent form, then follows the redirects, the one to rolecall's
// loopback callback included. It works for the authorize page and the
// device verification page alike, given as a URL or through a local page
// that redirects to it (rolecall login's, read as a browser reads it);
// anything else it leaves alone, as `true` would. With
// $STSTEST_BROWSER_LOG set, it appends there its argv and, for a page, the
// modes of the page and its directory.
func ststestBrowser(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: ststest-browser URL")
		return 2
	}
	target := args[0]
	var log []string
	log = append(log, "argv: "+strings.Join(os.Args[1:], " "))
	if u, err := url.Parse(target); err == nil && u.Scheme == "file" {
		link, modes, err := followPage(u.Path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ststest-browser:", err)
			return 1
		}
		log = append(log, modes)
		target = link
	}
	if path := os.Getenv("STSTEST_BROWSER_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err == nil {
			_, _ = fmt.Fprintln(f, strings.Join(log, "\n"))
			_ = f.Close()
		}
	}
	if u, err := url.Parse(target); err != nil || u.Scheme != "http" {
		return 0
	}
	args = []string{target}
	user, decision := os.Getenv("STSTEST_SSO_USER"), os.Getenv("STSTEST_SSO_DECISION")
	if user == "" {
		user = ststest.DemoSSOUser
	}
	if decision == "" {
		decision = "allow"
	}
	resp, err := http.PostForm(args[0], url.Values{"user": {user}, "decision": {decision}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "ststest-browser:", err)
		return 1
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return 0
}

// followPage reads a local page that sends the browser on (a meta
// refresh), as rolecall login writes it, and returns its link and the
// modes of the page and its directory.
func followPage(path string) (string, string, error) {
	page, err := os.ReadFile(path)
	if err != nil {
		return "", "", err
	}
	m := regexp.MustCompile(`content="0;url=([^"]+)"`).FindSubmatch(page)
	if m == nil {
		return "", "", fmt.Errorf("the page %s holds no redirect", path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "", "", err
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		return "", "", err
	}
	modes := fmt.Sprintf("page mode %#o, directory mode %#o", fi.Mode().Perm(), di.Mode().Perm())
	return html.UnescapeString(string(m[1])), modes, nil
}

// cmdSSO drives the emulator's IAM Identity Center:
//
//	sso login SESSION|START_URL [TTL]  write the token cache file `aws sso login`
//	                                   would have left (default TTL 1h)
//	sso approve USER                   wait for a login to wait for a person (10s
//	                                   at most), approve it as USER, and follow the
//	                                   redirect to the client as a browser would
//	sso deny                           the same, denying
func cmdSSO(ts *testscript.TestScript, neg bool, args []string) {
	s := server(ts)
	if len(args) == 0 {
		ts.Fatalf("usage: sso login|approve|deny")
	}
	switch args[0] {
	case "login":
		ttl := time.Hour
		if len(args) > 2 {
			d, err := time.ParseDuration(args[2])
			ts.Check(err)
			ttl = d
		}
		entry, ok := s.SSOTokenCacheEntry(s.IssueSSOToken(ststest.DemoSSOUser, ttl))
		if !ok {
			ts.Fatalf("the emulator has no Identity Center")
		}
		data, err := json.Marshal(entry)
		ts.Check(err)
		dir := filepath.Join(ts.Getenv("HOME"), ".aws", "sso", "cache")
		ts.Check(os.MkdirAll(dir, 0o700))
		ts.Check(os.WriteFile(filepath.Join(dir, ststest.SSOTokenCacheFile(args[1])), data, 0o600))
	case "approve", "deny":
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		pending, err := s.WaitSSOLogin(ctx)
		if err != nil {
			ts.Fatalf("hung: no sign-in waited for a person within %s: %v", hangGuard, err)
		}
		var redirect string
		if args[0] == "approve" {
			redirect, err = s.ApproveSSOLogin(pending.Code, args[1])
		} else {
			redirect, err = s.DenySSOLogin(pending.Code)
		}
		ts.Check(err)
		if redirect != "" {
			resp, err := http.Get(redirect)
			ts.Check(err)
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	default:
		ts.Fatalf("unknown sso command %q", args[0])
	}
}
