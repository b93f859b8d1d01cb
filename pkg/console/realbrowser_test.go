package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/internal/headless"
	"github.com/rolecall/rolecall/pkg/console"
)

// TestRealBrowserFollowsThePage: chromium, started as BROWSER on the page
// rolecall writes, follows it to the federation endpoint and lands on the
// emulator's console stand-in, signed in as the role; the link's token is
// left behind in neither the URL it ends at nor its command line.
func TestRealBrowserFollowsThePage(t *testing.T) {
	chrome := headless.New(t)
	w := newWorld(t, ssoConfig)
	req := w.request(demo)
	req.Profile = "alice"
	link, err := console.SignIn(context.Background(), req, w.env(nil))
	if err != nil {
		t.Fatal(err)
	}
	b := console.Browser{Getenv: func(k string) string {
		if k == "BROWSER" {
			return chrome.Command()
		}
		return ""
	}, TempDir: t.TempDir()}
	opened, err := b.Open(context.Background(), link)
	if err != nil {
		t.Fatal(err)
	}
	page := chrome.Attach()
	href, text := page.WaitFor(w.sts.URL() + "/console/home")
	if !strings.Contains(text, "Signed in as assumed-role/demo/rolecall-tester") {
		t.Errorf("the console page says %q", text)
	}
	if strings.Contains(href, "SigninToken") {
		t.Errorf("the browser ended at %s, with the sign-in token", href)
	}
	if opened.Page == "" {
		t.Error("no page")
	}
	calls := w.signinCalls()
	if n := len(calls); n != 2 || calls[1].Action != "login" || calls[1].Error != "" {
		t.Errorf("federation calls %+v, want getSigninToken then a login", calls)
	}
}
