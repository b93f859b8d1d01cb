package ststest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// The browser half of an IAM Identity Center login, and the test control
// that stands in for the person.
//
// Authorization code grant with PKCE (what `aws sso login` does by
// default since AWS CLI 2.22, awscli/botocore/utils.py
// SSOTokenFetcherAuth): the client opens
//
//	GET /authorize?response_type=code&client_id=&redirect_uri=&state=&code_challenge_method=S256&code_challenge=&scopes=
//
// in a browser. The emulator shows a page where a person names the
// Identity Center user and allows or denies; POST /authorize (the page's
// form, or the same URL with user= and decision=allow|deny as a form body,
// which is what a test's BROWSER script sends with curl) answers 302 to the
// redirect URI with ?code=&state=, or ?error=access_denied&state=.
//
// Device authorization grant (RFC 8628; `aws sso login --use-device-code`):
// verificationUriComplete is GET /device?user_code=CODE, a page with the
// same form; POST /device with user_code, user and decision decides it.
//
// Without a browser, the test control decides a pending login: Go's
// ApproveSSOLogin and DenySSOLogin, or POST
// /_ststest/sso-login?decision=allow|deny&user=U[&code=C] on a running
// cmd/ststest. An approved authorization code request then still has to
// reach the client: both answer the redirect URL to follow.

// SSOLoginRequest is a login waiting for a person.
type SSOLoginRequest struct {
	// Code names it: the user code of a device authorization, or the code
	// the authorize page shows for an authorization code request.
	Code string `json:"code"`
	// Grant is "device_code" or "authorization_code".
	Grant string `json:"grant"`
	// Client is the name the client registered with.
	Client string `json:"client"`
}

// PendingSSOLogins lists the logins waiting for a decision, oldest first
// within each grant.
func (s *Server) PendingSSOLogins() []SSOLoginRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pendingSSOLoginsLocked(s.nowLocked())
}

func (s *Server) pendingSSOLoginsLocked(now time.Time) []SSOLoginRequest {
	var out []SSOLoginRequest
	for _, d := range s.oidcSSO.devices {
		if d.status == loginPending && now.Before(d.expiresAt) {
			out = append(out, SSOLoginRequest{Code: d.userCode, Grant: "device_code", Client: d.client.name})
		}
	}
	for _, r := range s.oidcSSO.requests {
		if r.status == loginPending {
			out = append(out, SSOLoginRequest{Code: r.id, Grant: "authorization_code", Client: r.client.name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Grant+out[i].Code < out[j].Grant+out[j].Code })
	return out
}

// WaitSSOLogin blocks until a login is waiting for a person, or ctx ends,
// and returns it: a test that runs a login in the background calls it
// before ApproveSSOLogin.
func (s *Server) WaitSSOLogin(ctx context.Context) (SSOLoginRequest, error) {
	for {
		s.mu.Lock()
		pending := s.pendingSSOLoginsLocked(s.nowLocked())
		changed := s.oidcSSO.changed
		s.mu.Unlock()
		if len(pending) > 0 {
			return pending[0], nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return SSOLoginRequest{}, fmt.Errorf("wait for an IAM Identity Center login: %w", ctx.Err())
		}
	}
}

// ApproveSSOLogin signs the Identity Center user in and allows the login
// named by code ("" for the only one waiting). For an authorization code
// request it returns the redirect (with the code) that the browser would
// follow; "" for a device authorization, whose client is polling.
func (s *Server) ApproveSSOLogin(code, user string) (string, error) {
	return s.decideSSOLogin(code, user, true)
}

// DenySSOLogin refuses the login named by code ("" for the only one
// waiting), as a person clicking Deny. For an authorization code request it
// returns the redirect carrying error=access_denied.
func (s *Server) DenySSOLogin(code string) (string, error) {
	return s.decideSSOLogin(code, "", false)
}

func (s *Server) decideSSOLogin(code, user string, allow bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.nowLocked()
	if code == "" {
		pending := s.pendingSSOLoginsLocked(now)
		if len(pending) != 1 {
			return "", fmt.Errorf("%d IAM Identity Center logins are waiting; name one by its code", len(pending))
		}
		code = pending[0].Code
	}
	for _, d := range s.oidcSSO.devices {
		if d.userCode == code {
			return "", s.decideDeviceLocked(d, user, allow, now)
		}
	}
	if r := s.oidcSSO.requests[code]; r != nil {
		return s.decideRequestLocked(r, user, allow, now)
	}
	return "", fmt.Errorf("no IAM Identity Center login is waiting with code %q", code)
}

var errNotPending = errors.New("the login was already decided")

func (s *Server) decideDeviceLocked(d *oidcDevice, user string, allow bool, now time.Time) error {
	if d.status != loginPending || !now.Before(d.expiresAt) {
		return errNotPending
	}
	if !allow {
		d.status = loginDenied
		return nil
	}
	u := s.sso.user(user)
	if u == nil {
		return fmt.Errorf("no Identity Center user %q", user)
	}
	d.status, d.user = loginApproved, u
	return nil
}

func (s *Server) decideRequestLocked(r *oidcRequest, user string, allow bool, now time.Time) (string, error) {
	if r.status != loginPending {
		return "", errNotPending
	}
	q := url.Values{}
	if !allow {
		r.status = loginDenied
		q.Set("error", "access_denied")
		q.Set("error_description", "The user denied the request")
	} else {
		u := s.sso.user(user)
		if u == nil {
			return "", fmt.Errorf("no Identity Center user %q", user)
		}
		r.status, r.user, r.code, r.createdAt = loginApproved, u, randomToken(48), now
		s.oidcSSO.codes[r.code] = r
		q.Set("code", r.code)
	}
	if r.state != "" {
		q.Set("state", r.state)
	}
	return r.redirectURI + "?" + q.Encode(), nil
}

// pageFormat answers the browser pages: HTML.
type pageFormat struct{}

func (pageFormat) contentType() string { return "text/html; charset=utf-8" }

func (pageFormat) errorAnswer(e *apiError, _ string, caller string) answer {
	return answer{status: e.Status, body: page("Error", "<p>"+html.EscapeString(e.Code+": "+e.Message)+"</p>"), caller: caller, err: e.Code}
}

func (pageFormat) faultError(string) *apiError {
	return &apiError{http.StatusInternalServerError, "server_error", "Something went wrong"}
}

func page(title, body string) []byte {
	return []byte("<!doctype html><html><head><title>ststest IAM Identity Center: " + html.EscapeString(title) +
		"</title></head><body><h1>" + html.EscapeString(title) + "</h1>" + body + "</body></html>\n")
}

// decisionForm is the sign-in and consent form of both pages.
func decisionForm(action string, hidden map[string]string, client string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<p>Allow %s to access your data?</p><form method=\"post\" action=\"%s\">", html.EscapeString(client), html.EscapeString(action))
	keys := make([]string, 0, len(hidden))
	for k := range hidden {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\">", html.EscapeString(k), html.EscapeString(hidden[k]))
	}
	b.WriteString("<label>User <input name=\"user\"></label> <button name=\"decision\" value=\"allow\">Allow</button> <button name=\"decision\" value=\"deny\">Deny</button></form>")
	return b.String()
}

// serveAuthorize is the authorize endpoint of the authorization code
// grant: GET shows the consent page of a new request, POST decides one
// (the page's request, or a new one from the query string).
func (s *Server) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.URL.Query()
	params := map[string]string{}
	for _, k := range []string{"response_type", "client_id", "redirect_uri", "code_challenge_method", "scopes"} {
		if v := q.Get(k); v != "" {
			params[k] = v
		}
	}
	call := Call{Service: ServiceSSOOIDC, Action: "Authorize", Params: params}
	s.serveCall(w, r, pageFormat{}, call, func(requestID string) answer {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.nowLocked()
		req := s.oidcSSO.requests[r.PostForm.Get("request")]
		if req == nil {
			var e *apiError
			if req, e = s.newAuthorizationLocked(q, now); e != nil {
				return pageFormat{}.errorAnswer(e, requestID, "")
			}
		}
		if r.Method == http.MethodGet {
			return answer{status: http.StatusOK, body: page("Authorize request "+req.id,
				decisionForm("/authorize", map[string]string{"request": req.id}, req.client.name))}
		}
		decision := r.PostForm.Get("decision")
		if decision != "allow" && decision != "deny" {
			return pageFormat{}.errorAnswer(&apiError{http.StatusBadRequest, "invalid_request", "decision must be allow or deny"}, requestID, "")
		}
		user := r.PostForm.Get("user")
		redirect, err := s.decideRequestLocked(req, user, decision == "allow", now)
		if err != nil {
			return pageFormat{}.errorAnswer(&apiError{http.StatusBadRequest, "invalid_request", err.Error()}, requestID, "")
		}
		h := http.Header{}
		h.Set("Location", redirect)
		a := answer{status: http.StatusFound, body: page("Redirecting", ""), header: h}
		if decision == "allow" {
			a.caller = user
		} else {
			a.err = "access_denied"
		}
		return a
	})
}

// newAuthorizationLocked checks an authorization request (RFC 6749 section
// 4.1.1 with RFC 7636's S256 challenge) and keeps it waiting for a person.
// The redirect URI must be one the client registered, on any port: a
// loopback redirect's port is chosen at login time (RFC 8252 section 7.3).
func (s *Server) newAuthorizationLocked(q url.Values, now time.Time) (*oidcRequest, *apiError) {
	bad := func(msg string) *apiError { return &apiError{http.StatusBadRequest, "invalid_request", msg} }
	c := s.oidcSSO.clients[q.Get("client_id")]
	switch {
	case c == nil || !now.Before(c.secretExpiresAt):
		return nil, &apiError{http.StatusBadRequest, "invalid_client", "Invalid client provided"}
	case !c.allows(grantAuthorizationCode):
		return nil, &apiError{http.StatusBadRequest, "unauthorized_client", "Client is not registered for the authorization code grant"}
	case q.Get("response_type") != "code":
		return nil, bad("response_type must be code")
	case !registeredRedirect(c, q.Get("redirect_uri")):
		return nil, bad("redirect_uri is not registered for this client")
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		return nil, bad("a code_challenge with code_challenge_method S256 is required")
	}
	req := &oidcRequest{id: userCode(), client: c, redirectURI: q.Get("redirect_uri"), state: q.Get("state"),
		challenge: q.Get("code_challenge"), scopes: q.Get("scopes"), createdAt: now}
	s.oidcSSO.requests[req.id] = req
	s.oidcSSO.signal()
	return req, nil
}

func registeredRedirect(c *oidcClient, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || !loopbackURI(uri) {
		return false
	}
	for _, reg := range c.redirectURIs {
		ru, err := url.Parse(reg)
		if err == nil && ru.Scheme == u.Scheme && ru.Hostname() == u.Hostname() && ru.Path == u.Path &&
			(ru.Port() == "" || ru.Port() == u.Port()) {
			return true
		}
	}
	return false
}

// serveDevice is the device verification page: GET shows the form for a
// user code, POST decides it.
func (s *Server) serveDevice(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	call := Call{Service: ServiceSSOOIDC, Action: "VerifyDevice", Params: map[string]string{}}
	s.serveCall(w, r, pageFormat{}, call, func(requestID string) answer {
		s.mu.Lock()
		defer s.mu.Unlock()
		now := s.nowLocked()
		code := r.Form.Get("user_code")
		var dev *oidcDevice
		for _, d := range s.oidcSSO.devices {
			if d.userCode == code {
				dev = d
			}
		}
		if dev == nil || !now.Before(dev.expiresAt) {
			return pageFormat{}.errorAnswer(&apiError{http.StatusBadRequest, "invalid_request", "No login is waiting with that code"}, requestID, "")
		}
		if r.Method == http.MethodGet {
			return answer{status: http.StatusOK, body: page("Authorize device "+code,
				decisionForm("/device", map[string]string{"user_code": code}, dev.client.name))}
		}
		decision, user := r.PostForm.Get("decision"), r.PostForm.Get("user")
		if decision != "allow" && decision != "deny" {
			return pageFormat{}.errorAnswer(&apiError{http.StatusBadRequest, "invalid_request", "decision must be allow or deny"}, requestID, "")
		}
		if err := s.decideDeviceLocked(dev, user, decision == "allow", now); err != nil {
			return pageFormat{}.errorAnswer(&apiError{http.StatusBadRequest, "invalid_request", err.Error()}, requestID, "")
		}
		if decision == "deny" {
			return answer{status: http.StatusOK, body: page("Request denied", "<p>You may close this window.</p>"), err: "access_denied"}
		}
		return answer{status: http.StatusOK, body: page("Request approved", "<p>You may close this window.</p>"), caller: user}
	})
}

// serveSSOLoginControl is the admin route of the test control:
//
//	GET  /_ststest/sso-login                                  the logins waiting
//	POST /_ststest/sso-login?decision=allow|deny&user=U[&code=C]  decide one
//
// POST answers {"redirect": URL} ("" for a device authorization).
func (s *Server) serveSSOLoginControl(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		list := s.PendingSSOLogins()
		if list == nil {
			list = []SSOLoginRequest{}
		}
		writeJSON(w, list)
		return
	}
	q := r.URL.Query()
	var redirect string
	var err error
	switch q.Get("decision") {
	case "allow":
		redirect, err = s.ApproveSSOLogin(q.Get("code"), q.Get("user"))
	case "deny":
		redirect, err = s.DenySSOLogin(q.Get("code"))
	default:
		http.Error(w, "sso-login: decision must be allow or deny", http.StatusBadRequest)
		return
	}
	if err != nil {
		http.Error(w, "sso-login: "+err.Error(), http.StatusConflict)
		return
	}
	writeJSON(w, map[string]string{"redirect": redirect})
}

// addSSOOIDCRoutes serves the OIDC service, its browser pages and the test
// control.
func (s *Server) addSSOOIDCRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /client/register", s.serveOIDC("RegisterClient", s.registerClient))
	mux.HandleFunc("POST /device_authorization", s.serveOIDC("StartDeviceAuthorization", s.startDeviceAuthorization))
	mux.HandleFunc("POST /token", s.serveOIDC("CreateToken", s.createToken))
	mux.HandleFunc("GET /authorize", s.serveAuthorize)
	mux.HandleFunc("POST /authorize", s.serveAuthorize)
	mux.HandleFunc("GET /device", s.serveDevice)
	mux.HandleFunc("POST /device", s.serveDevice)
	mux.HandleFunc("GET /_ststest/sso-login", s.serveSSOLoginControl)
	mux.HandleFunc("POST /_ststest/sso-login", s.serveSSOLoginControl)
}
