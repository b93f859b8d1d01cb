//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
// device verification page alike; anything else it is given (a file, as
// rolecall console's page) it leaves alone, as `true` would.
func ststestBrowser(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: ststest-browser URL")
		return 2
	}
	if u, err := url.Parse(args[0]); err != nil || u.Scheme != "http" {
		return 0
	}
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
