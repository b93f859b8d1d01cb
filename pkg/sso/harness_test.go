package sso

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// world is a hermetic home with an AWS config file and an emulator whose
// OIDC service and portal the environment points at.
type world struct {
	t    *testing.T
	home string
	sts  *ststest.Server
	vars map[string]string
}

// corpConfig is an sso-session of the demo directory and a legacy profile
// of the same instance.
const corpConfig = "[sso-session corp]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion +
	"\nsso_registration_scopes = sso:account:access\n\n" +
	"[profile dev]\nsso_session = corp\nsso_account_id = " + ststest.DemoAccount + "\nsso_role_name = ReadOnlyAccess\n\n" +
	"[profile legacy]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion +
	"\nsso_account_id = " + ststest.DemoAccount + "\nsso_role_name = ReadOnlyAccess\n"

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, home: t.TempDir(), sts: ststest.NewServer(ststest.DemoConfig())}
	t.Cleanup(w.sts.Close)
	if err := os.MkdirAll(filepath.Join(w.home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.home, ".aws", "config"), []byte(corpConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	w.vars = map[string]string{
		"AWS_ENDPOINT_URL_SSO":      w.sts.URL(),
		"AWS_ENDPOINT_URL_SSO_OIDC": w.sts.URL(),
	}
	return w
}

func (w *world) env() Env {
	return Env{HomeDir: w.home, Getenv: func(k string) string { return w.vars[k] }, Now: w.sts.Now}
}

func (w *world) client() *Client {
	w.t.Helper()
	c, err := NewClient(w.env())
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) session(ref Ref) Session {
	w.t.Helper()
	s, err := ResolveSession(ref, w.env())
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// browser is a person at a browser: it opens the URL with the consent
// form filled in (the demo user, allow or deny) and follows redirects, to
// the loopback callback included.
func (w *world) browser(decision string) func(ctx context.Context, u string) error {
	return func(ctx context.Context, u string) error {
		go func() {
			form := url.Values{"user": {ststest.DemoSSOUser}, "decision": {decision}}
			resp, err := http.PostForm(u, form)
			if err != nil {
				w.t.Errorf("browser: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}()
		return nil
	}
}

// advancingSleep waits by moving the emulator's clock, and calls each
// (if any) after the nth wait.
func (w *world) advancingSleep(each func(n int)) func(context.Context, time.Duration) error {
	n := 0
	return func(_ context.Context, d time.Duration) error {
		n++
		w.sts.Advance(d)
		if each != nil {
			each(n)
		}
		return nil
	}
}

func (w *world) calls(action string) int { return w.sts.CallCount(action) }
