package ststest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The console federation endpoint (https://signin.aws.amazon.com/federation
// in real life, /federation here) and a stand-in for the console
// (/console), after "Enable custom identity broker access to the AWS
// console" in the IAM User Guide:
//
//  1. GET or POST /federation?Action=getSigninToken&Session=JSON
//     [&SessionDuration=N] exchanges temporary credentials, as the JSON
//     {"sessionId": access key ID, "sessionKey": secret access key,
//     "sessionToken": session token}, for {"SigninToken": "…"}.
//  2. GET /federation?Action=login&Issuer=URL&Destination=URL&SigninToken=T
//     spends the token (once, within 15 minutes of its issue) and redirects
//     (302) to Destination, with a cookie naming the console session.
//  3. GET /console (any path under it) shows who is signed in.
//
// Refusals are 400 with a small HTML page. For credentials it will not
// take, the real endpoint's page says "Invalid credentials parameter" and
// "The request sent by the client was syntactically incorrect."
// (99designs/aws-vault#77, Bridgewater/holochrome#8, both from adding
// SessionDuration); its other pages are not documented, and the
// emulator's say what was wrong.

// Limits of the federation endpoint.
const (
	// signinTokenLifetime: "The URL that the federation endpoint provides is
	// valid for 15 minutes after it is created."
	signinTokenLifetime = 15 * time.Minute
	// SessionDuration is 900 to 43200 seconds ("You can specify a
	// SessionDuration maximum value of 43,200 (12 hours)"; the minimum is
	// STS's 15 minutes).
	minConsoleSession = 900
	maxConsoleSession = 43200
	// consoleCookie names the console session the login sets.
	consoleCookie = "ststest-console"
)

// Why the federation endpoint refused a request: the call log's error.
const (
	signinInvalidSession     = "InvalidSession"            // Session missing, not the JSON, or credentials the emulator did not issue
	signinExpiredSession     = "ExpiredSession"            // the credentials have expired
	signinUnsupportedSession = "UnsupportedCredentials"    // GetSessionToken credentials, which cannot sign in
	signinInvalidDuration    = "InvalidSessionDuration"    // SessionDuration not a number in 900–43200
	signinDurationNotAllowed = "SessionDurationNotAllowed" // SessionDuration with a chained role or federated user session
	signinInvalidToken       = "InvalidSigninToken"        // SigninToken missing or unknown
	signinExpiredToken       = "ExpiredSigninToken"        // SigninToken older than 15 minutes
	signinUsedToken          = "UsedSigninToken"           // SigninToken already spent
	signinInvalidDestination = "InvalidDestination"        // Destination missing or not an http(s) URL
	signinInvalidAction      = "InvalidAction"             // Action neither getSigninToken nor login
)

// The page the real endpoint shows for credentials it will not take.
//
//nolint:gosec // an error page's words, not credentials
const (
	msgInvalidCredentialsParam  = "Invalid credentials parameter"
	msgInvalidCredentialsDetail = "The request sent by the client was syntactically incorrect."
)

// signinState is what the federation endpoint remembers: the sign-in
// tokens it handed out and the console sessions they opened. Guarded by
// Server.mu.
type signinState struct {
	tokens   map[string]*signinToken
	consoles map[string]*consoleSession // by cookie value
}

func newSigninState() signinState {
	return signinState{tokens: map[string]*signinToken{}, consoles: map[string]*consoleSession{}}
}

// signinToken is a sign-in token: the session it signs in, when it was
// issued, and when the console session it opens ends.
type signinToken struct {
	session        *session
	issued         time.Time
	consoleExpires time.Time
	used           bool
}

// consoleSession is a signed-in console.
type consoleSession struct {
	arn     string
	account string
	expires time.Time
}

// signinRefusal is a refused federation request: the call log's code and
// the page's heading and text.
type signinRefusal struct {
	code, title, detail string
}

func refuseCredentials(code string) *signinRefusal {
	return &signinRefusal{code, msgInvalidCredentialsParam, msgInvalidCredentialsDetail}
}

// serveFederation answers the federation endpoint.
func (s *Server) serveFederation(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm() // a malformed query or body leaves parameters out, and is refused for them
	action := r.Form.Get("Action")
	call := Call{Service: ServiceSignin, Action: action, Params: map[string]string{}, Method: r.Method}
	for k := range r.URL.Query() {
		call.QueryKeys = append(call.QueryKeys, k)
	}
	slices.Sort(call.QueryKeys)
	for k, vs := range r.Form {
		switch {
		case k == "Action" || len(vs) == 0:
		case k == "Session" || k == "SigninToken":
			call.Params[k] = "<redacted>"
		default:
			call.Params[k] = vs[0]
		}
	}

	s.mu.Lock()
	now := s.nowLocked()
	call.Time = now
	var refusal *signinRefusal
	switch action {
	case "getSigninToken":
		var token string
		token, call.Caller, refusal = s.getSigninTokenLocked(r.Form, now)
		if refusal == nil {
			s.mu.Unlock()
			s.record(call)
			writeJSON(w, map[string]string{"SigninToken": token})
			return
		}
	case "login":
		var cookie, destination string
		cookie, destination, call.Caller, refusal = s.loginLocked(r.Form, now)
		if refusal == nil {
			s.mu.Unlock()
			s.record(call)
			// Not Secure: the emulator serves plain HTTP on loopback.
			http.SetCookie(w, &http.Cookie{Name: consoleCookie, Value: cookie, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}) //nolint:gosec // see above
			// Redirecting to Destination is the login action's job; it is
			// checked to be an http(s) URL.
			http.Redirect(w, r, destination, http.StatusFound) //nolint:gosec // see above
			return
		}
	default:
		refusal = &signinRefusal{signinInvalidAction, "Invalid Action", fmt.Sprintf("Action %q is neither getSigninToken nor login.", action)}
	}
	s.mu.Unlock()
	call.Error = refusal.code
	s.record(call)
	writePage(w, http.StatusBadRequest, refusal.title, refusal.detail)
}

// getSigninTokenLocked checks the Session credentials and SessionDuration and
// issues a sign-in token. It also returns the session's ARN for the log.
func (s *Server) getSigninTokenLocked(form url.Values, now time.Time) (token, caller string, refusal *signinRefusal) {
	// The keys are exactly sessionId, sessionKey and sessionToken (the
	// user guide's example); a map keeps Go's case-insensitive struct
	// decoding from accepting others.
	var creds map[string]string
	if err := json.Unmarshal([]byte(form.Get("Session")), &creds); err != nil {
		return "", "", refuseCredentials(signinInvalidSession)
	}
	sess := s.sessions[creds["sessionId"]]
	if sess == nil || creds["sessionKey"] != sess.secretAccessKey || creds["sessionToken"] != sess.sessionToken {
		return "", "", refuseCredentials(signinInvalidSession)
	}
	if !now.Before(sess.expiration) {
		return "", sess.arn, refuseCredentials(signinExpiredSession)
	}
	// Only role sessions (AssumeRole*, Identity Center) and federated users
	// (GetFederationToken) sign in: "call the AWS STS AssumeRole
	// (recommended) or GetFederationToken API operations"; IAM user
	// credentials alone fail (99designs/aws-vault#106 added
	// GetFederationToken for that reason).
	if sess.role == nil && !sess.federated {
		return "", sess.arn, refuseCredentials(signinUnsupportedSession)
	}
	consoleExpires := sess.expiration
	if v, ok := form["SessionDuration"]; ok {
		// "Do not use the SessionDuration HTTP parameter if you got the
		// temporary credentials with GetFederationToken. Doing so will
		// cause the operation to fail." (IAM User Guide). Nor with a role
		// session from role chaining: the guide asks for AssumeRole called
		// with an IAM user's long-term credentials, and brokers leave
		// SessionDuration out for those sessions (gravitational/teleport's
		// lib/srv/app/cloud.go), which fail with it
		// (Bridgewater/holochrome#8).
		if sess.federated || sess.chained {
			return "", sess.arn, refuseCredentials(signinDurationNotAllowed)
		}
		seconds, err := strconv.Atoi(v[0])
		if err != nil || seconds < minConsoleSession || seconds > maxConsoleSession {
			return "", sess.arn, refuseCredentials(signinInvalidDuration)
		}
		consoleExpires = now.Add(time.Duration(seconds) * time.Second)
	}
	token = newSigninTokenValue()
	s.signin.tokens[token] = &signinToken{session: sess, issued: now, consoleExpires: consoleExpires}
	return token, sess.arn, nil
}

// loginLocked spends a sign-in token and opens a console session. It
// returns the session's cookie value, where to redirect, and the ARN.
func (s *Server) loginLocked(form url.Values, now time.Time) (cookie, destination, caller string, refusal *signinRefusal) {
	t := s.signin.tokens[form.Get("SigninToken")]
	if t == nil {
		return "", "", "", &signinRefusal{signinInvalidToken, "Invalid SigninToken", "The sign-in token is not one the federation endpoint issued."}
	}
	caller = t.session.arn
	switch {
	case t.used:
		return "", "", caller, &signinRefusal{signinUsedToken, "Invalid SigninToken", "The sign-in token has already been used."}
	case !now.Before(t.issued.Add(signinTokenLifetime)) || !now.Before(t.consoleExpires):
		return "", "", caller, &signinRefusal{signinExpiredToken, "Expired SigninToken", "The sign-in token has expired; sign-in URLs are valid for 15 minutes."}
	}
	destination = form.Get("Destination")
	if u, err := url.Parse(destination); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", caller, &signinRefusal{signinInvalidDestination, "Invalid Destination", "Destination must be an http or https URL."}
	}
	t.used = true
	cookie = newSigninTokenValue()
	s.signin.consoles[cookie] = &consoleSession{arn: t.session.arn, account: t.session.account, expires: t.consoleExpires}
	return cookie, destination, caller, nil
}

// serveConsole is the emulator's console: a page naming who is signed in,
// or 401 without a live console session.
func (s *Server) serveConsole(w http.ResponseWriter, r *http.Request) {
	var c *consoleSession
	s.mu.Lock()
	now := s.nowLocked()
	if cookie, err := r.Cookie(consoleCookie); err == nil {
		if c = s.signin.consoles[cookie.Value]; c != nil && !now.Before(c.expires) {
			c = nil
		}
	}
	s.mu.Unlock()
	if c == nil {
		writePage(w, http.StatusUnauthorized, "Not signed in", "No console session, or it has ended: sign in through /federation.")
		return
	}
	identity := c.arn
	if a, err := arn.Parse(c.arn); err == nil {
		identity = a.Resource // assumed-role/ROLE/SESSION or federated-user/NAME
	}
	writePage(w, http.StatusOK, "ststest console",
		fmt.Sprintf("Signed in as %s (%s) in account %s. The console session ends at %s.",
			identity, c.arn, c.account, c.expires.UTC().Format(time.RFC3339)))
}

// newSigninTokenValue makes an opaque sign-in token or cookie value.
func newSigninTokenValue() string {
	var b [64]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// writePage answers with a small HTML page.
func writePage(w http.ResponseWriter, status int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>%s</h1><p>%s</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}
