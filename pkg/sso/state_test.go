package sso

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// mallory is another user of the same IAM Identity Center, who would sign
// the victim's rolecall in as herself (login CSRF).
const mallory = "mallory@example.com"

// TestForgedCallbacksAreRefused: while the victim's login waits, another
// user, who read the authorize URL (its redirect_uri) and approved a
// request of her own, sends her authorization code to the victim's
// loopback callback with a wrong, a missing and an empty state. Each is
// answered 400 and the login keeps waiting; the browser's callback, with
// the right state, then completes it with the victim's code: the token
// is the victim's.
func TestForgedCallbacksAreRefused(t *testing.T) {
	w := newWorld(t)
	cfg := ststest.DemoConfig()
	cfg.SSO.Users = append(cfg.SSO.Users, ststest.SSOUser{UserName: mallory,
		Assignments: []ststest.SSOAssignment{{AccountID: ststest.DemoAccount, PermissionSet: "ReadOnlyAccess"}}})
	w.sts = ststest.NewServer(cfg)
	t.Cleanup(w.sts.Close)
	w.vars["AWS_ENDPOINT_URL_SSO"], w.vars["AWS_ENDPOINT_URL_SSO_OIDC"] = w.sts.URL(), w.sts.URL()

	get := func(u string) (int, string) {
		t.Helper()
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// approve opens the authorize URL and approves it as user, returning
	// the redirect the browser would follow.
	approve := func(authorize, user string) string {
		t.Helper()
		if code, body := get(authorize); code != http.StatusOK {
			t.Fatalf("authorize page: %d %s", code, body)
		}
		pending := w.sts.PendingSSOLogins()
		if len(pending) != 1 {
			t.Fatalf("%d logins waiting", len(pending))
		}
		redirect, err := w.sts.ApproveSSOLogin(pending[0].Code, user)
		if err != nil {
			t.Fatal(err)
		}
		return redirect
	}

	browser := func(ctx context.Context, authorize string) error {
		go func() {
			au, err := url.Parse(authorize)
			if err != nil {
				t.Error(err)
				return
			}
			// Mallory's own request, to the same client and loopback
			// redirect, approved as herself: a real code, for her.
			q := au.Query()
			q.Set("state", "mallorys-state")
			au.RawQuery = q.Encode()
			forged, err := url.Parse(approve(au.String(), mallory))
			if err != nil {
				t.Error(err)
				return
			}
			code := forged.Query().Get("code")
			base := forged.Scheme + "://" + forged.Host + forged.Path
			for name, query := range map[string]string{
				"wrong state":   "code=" + url.QueryEscape(code) + "&state=" + q.Get("state"),
				"missing state": "code=" + url.QueryEscape(code),
				"empty state":   "code=" + url.QueryEscape(code) + "&state=",
			} {
				if status, body := get(base + "?" + query); status != http.StatusBadRequest {
					t.Errorf("forged callback, %s: %d %s, want 400", name, status, body)
				}
			}
			// The victim's browser comes back: the login still waits.
			status, body := get(approve(authorize, ststest.DemoSSOUser))
			if status != http.StatusOK || !strings.Contains(body, "Signed in") {
				t.Errorf("the real callback after the forged ones: %d %s", status, body)
			}
		}()
		return nil
	}
	res, err := Login(t.Context(), LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: browser}}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	if n := w.calls("CreateToken"); n != 1 {
		t.Errorf("%d CreateToken calls, want 1 (the victim's code)", n)
	}
	// The token is the victim's: the portal names her.
	_, accounts, err := ListAccounts(t.Context(), Ref{Session: "corp"}, w.env())
	if err != nil || len(accounts) != 2 {
		t.Errorf("accounts with the token: %v, %v; want the victim's two (mallory has one)", accounts, err)
	}
	if res.How != LoginSignedIn {
		t.Errorf("login: %s", res.How)
	}
}
