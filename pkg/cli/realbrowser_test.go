package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/internal/headless"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestRealBrowserSignsIn: rolecall login hands chromium (BROWSER) its
// private page; the browser follows it to the emulator's IAM Identity
// Center consent page, where the person (the test, through the page)
// allows; the browser is sent back to rolecall's loopback callback and
// shows its answer, and the login completes.
func TestRealBrowserSignsIn(t *testing.T) {
	chrome := headless.New(t)
	sts := ststest.NewServer(ststest.DemoConfig())
	t.Cleanup(sts.Close)
	home, tmp := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	config := "[sso-session corp]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion + "\n"
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	io, _, errOut := testIO(map[string]string{
		"AWS_CONFIG_FILE":           filepath.Join(home, ".aws", "config"),
		"AWS_ENDPOINT_URL_SSO":      sts.URL(),
		"AWS_ENDPOINT_URL_SSO_OIDC": sts.URL(),
		"BROWSER":                   chrome.Command(),
		"TMPDIR":                    tmp,
	})
	io.ErrOut = &lockedWriter{w: errOut}
	io.HomeDir = home
	done := make(chan error, 1)
	go func() {
		done <- loginRun(context.Background(), &LoginOptions{IO: io, SSO: ssoFlags{Timeout: 5 * time.Minute}})
	}()

	page := chrome.Attach()
	_, text := page.WaitFor(sts.URL() + "/authorize?")
	// What other users see of the browser: the page's path, never the
	// authorize URL (its state and loopback redirect_uri).
	lines := chrome.CommandLines()
	if len(lines) == 0 {
		t.Error("no chromium process found")
	}
	for _, l := range lines {
		if strings.Contains(l, "authorize") || strings.Contains(l, "state=") || strings.Contains(l, "redirect_uri") {
			t.Errorf("a browser's command line holds the authorize URL: %s", l)
		}
	}
	if !strings.Contains(strings.Join(lines, "\n"), "file://"+tmp+"/"+loginPagePrefix) {
		t.Errorf("no browser was started on the sign-in page: %q", lines)
	}
	if !strings.Contains(text, "Allow rolecall-client-corp to access your data?") {
		t.Errorf("the consent page says %q", text)
	}
	if _, err := page.Eval(`document.querySelector('input[name=user]').value = '` + ststest.DemoSSOUser + `';
		document.querySelector('button[value=allow]').click(); 'clicked'`); err != nil {
		t.Fatal(err)
	}
	href, text := page.WaitFor("/oauth/callback?")
	if !strings.HasPrefix(href, "http://127.0.0.1:") || !strings.Contains(text, "Signed in. You can close this window and return to the terminal.") {
		t.Errorf("the browser ended at %s saying %q", href, text)
	}
	if err := <-done; err != nil {
		t.Fatalf("login: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut.String(), "signed in to IAM Identity Center session corp") {
		t.Errorf("login said:\n%s", errOut)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, loginPagePrefix+"*")); len(left) != 0 {
		t.Errorf("the sign-in page is left behind: %v", left)
	}
	if n := sts.CallCount("CreateToken"); n != 1 {
		t.Errorf("%d CreateToken calls", n)
	}
}
