package ststest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The IAM Identity Center OIDC service (SSO OIDC), as aws-sdk-go-v2's
// service/ssooidc calls it (REST-JSON, API version 2019-06-10; the IAM
// Identity Center OIDC API Reference):
//
//	POST /client/register       RegisterClient
//	POST /device_authorization  StartDeviceAuthorization
//	POST /token                 CreateToken (device_code, authorization_code, refresh_token)
//
// none of them signed. Errors are OAuth-shaped JSON, {"error":
// "authorization_pending", "error_description": "Authorization is still
// pending"}, with the exception in the X-Amzn-ErrorType header followed by
// the service's namespace, as the real service answers (aws/aws-cli#5878
// and #5971 log such answers). The browser half of a login (the authorize
// page of the authorization code grant, the device verification page) is
// in ssologin.go; the tokens the service issues go into the store of
// ssotoken.go, so the portal accepts them.

// ServiceSSOOIDC is the IAM Identity Center OIDC service in the call log
// (RegisterClient, StartDeviceAuthorization, CreateToken, and the browser
// pages: Authorize, VerifyDevice).
const ServiceSSOOIDC = "sso-oidc"

// OAuth grant types CreateToken takes (the CreateToken API reference).
const (
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
)

// Lifetimes of what the service issues. The device authorization's ten
// minutes and one-second polling interval are what StartDeviceAuthorization
// answers (expiresIn 600, interval 1); RegisterClient's secrets last 90
// days. How long an authorization code is good for is not documented: ten
// minutes, the most RFC 6749 section 4.1.2 recommends. An access token that
// comes with a refresh token lasts an hour and the sign-in session (the
// refresh token) the Identity Center default of 8 hours; without a refresh
// token the access token lasts the whole session, as the AWS CLI's legacy
// logins do.
const (
	oidcClientSecretTTL = 90 * 24 * time.Hour
	oidcDeviceCodeTTL   = 10 * time.Minute
	oidcPollInterval    = time.Second
	oidcSlowDownStep    = 5 * time.Second // RFC 8628 section 3.5
	oidcAuthCodeTTL     = 10 * time.Minute
	oidcAccessTokenTTL  = time.Hour
	oidcSessionTTL      = defaultSSOTokenTTL
)

// oidcState is what the OIDC service remembers, under Server.mu.
type oidcState struct {
	clients  map[string]*oidcClient  // by client ID
	devices  map[string]*oidcDevice  // by device code
	requests map[string]*oidcRequest // authorization code requests, by their code for people
	codes    map[string]*oidcRequest // by the authorization code issued on approval
	refresh  map[string]*ssoLogin    // by refresh token
	// changed is closed and replaced whenever a login starts waiting.
	changed chan struct{}
}

func newOIDCState() *oidcState {
	return &oidcState{
		clients:  map[string]*oidcClient{},
		devices:  map[string]*oidcDevice{},
		requests: map[string]*oidcRequest{},
		codes:    map[string]*oidcRequest{},
		refresh:  map[string]*ssoLogin{},
		changed:  make(chan struct{}),
	}
}

func (o *oidcState) signal() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// oidcClient is a registered client (RegisterClient).
type oidcClient struct {
	id, secret, name string
	scopes           []string
	grantTypes       []string
	redirectURIs     []string
	issuerURL        string
	secretExpiresAt  time.Time
}

// allows reports whether the client may use a grant: a client registered
// without grant types is a device code client, as the AWS CLI's were before
// the authorization code grant existed.
func (c *oidcClient) allows(grant string) bool {
	if len(c.grantTypes) == 0 {
		return grant == grantDeviceCode || grant == grantRefreshToken
	}
	return slices.Contains(c.grantTypes, grant)
}

// issuesRefreshTokens: Identity Center gives refresh tokens to clients that
// registered scopes (sso:account:access, as `aws configure sso` sets for an
// sso-session) or the refresh_token grant; the AWS CLI's legacy profiles
// register neither and get none, which is why they cannot refresh.
func (c *oidcClient) issuesRefreshTokens() bool {
	return len(c.scopes) > 0 || slices.Contains(c.grantTypes, grantRefreshToken)
}

// Where a login stands.
const (
	loginPending = iota
	loginApproved
	loginDenied
	loginUsed
)

// oidcDevice is a device authorization (StartDeviceAuthorization).
type oidcDevice struct {
	client     *oidcClient
	deviceCode string
	userCode   string
	expiresAt  time.Time
	interval   time.Duration
	lastPoll   time.Time
	status     int
	user       *ssoUser
}

// oidcRequest is an authorization code request (GET /authorize).
type oidcRequest struct {
	id          string // the code that names it to people and to the test control
	client      *oidcClient
	redirectURI string
	state       string
	challenge   string
	scopes      string
	createdAt   time.Time
	status      int
	user        *ssoUser
	code        string // set on approval
}

// ssoLogin is one sign-in: the refresh token of a login and the access
// tokens minted from it. Logout ends it.
type ssoLogin struct {
	user         *ssoUser
	client       *oidcClient
	refreshToken string // "" when the client gets none
	expiresAt    time.Time
	revoked      bool
}

// oidcFormat is the OIDC service's answers: OAuth error JSON.
type oidcFormat struct{}

func (oidcFormat) contentType() string { return "application/json" }

// oauthCodes maps the service's exceptions to the OAuth error codes their
// bodies carry (RFC 6749 section 5.2, RFC 8628 section 3.5, and the
// exceptions' "error" member in the API reference).
var oauthCodes = map[string]string{
	"AccessDeniedException":          "access_denied",
	"AuthorizationPendingException":  "authorization_pending",
	"ExpiredTokenException":          "expired_token",
	"InternalServerException":        "server_error",
	"InvalidClientException":         "invalid_client",
	"InvalidClientMetadataException": "invalid_client_metadata",
	"InvalidGrantException":          "invalid_grant",
	"InvalidRedirectUriException":    "invalid_redirect_uri",
	"InvalidRequestException":        "invalid_request",
	"InvalidScopeException":          "invalid_scope",
	"SlowDownException":              "slow_down",
	"UnauthorizedClientException":    "unauthorized_client",
	"UnsupportedGrantTypeException":  "unsupported_grant_type",
}

// oidcNamespace follows the exception name in X-Amzn-ErrorType.
const oidcNamespace = ":http://internal.amazon.com/coral/com.amazonaws.sso.oidc/"

func (oidcFormat) errorAnswer(e *apiError, _ string, caller string) answer {
	body, _ := json.Marshal(map[string]string{"error": oauthCodes[e.Code], "error_description": e.Message})
	h := http.Header{}
	h.Set("X-Amzn-ErrorType", e.Code+oidcNamespace)
	return answer{status: e.Status, body: body, header: h, caller: caller, err: e.Code}
}

func (oidcFormat) faultError(kind string) *apiError {
	if kind == FaultThrottle {
		// The API has no throttling exception; SlowDownException is what
		// it sends a client that calls too often.
		return errOIDC(http.StatusBadRequest, "SlowDownException", "Client is polling too quickly")
	}
	return errOIDC(http.StatusInternalServerError, "InternalServerException", "An internal server error occurred")
}

func errOIDC(status int, code, msg string) *apiError { return &apiError{status, code, msg} }

// The errors the API reference lists, with the statuses it gives them.
func errInvalidClient() *apiError {
	return errOIDC(http.StatusUnauthorized, "InvalidClientException", "Invalid client provided")
}
func errInvalidGrant(msg string) *apiError {
	return errOIDC(http.StatusBadRequest, "InvalidGrantException", msg)
}
func errOIDCInvalidRequest(msg string) *apiError {
	return errOIDC(http.StatusBadRequest, "InvalidRequestException", msg)
}
func errUnauthorizedClient() *apiError {
	return errOIDC(http.StatusBadRequest, "UnauthorizedClientException", "Client is not authorized to use this grant type")
}

// oidcOperation answers one OIDC operation under the server's lock.
type oidcOperation func(in map[string]json.RawMessage, r *http.Request, now time.Time) (any, *apiError, string)

// serveOIDC serves an OIDC operation: it reads the JSON body, logs the
// call (without client secrets, codes, verifiers or tokens), applies
// faults and answers.
func (s *Server) serveOIDC(action string, op oidcOperation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		var in map[string]json.RawMessage
		jerr := json.Unmarshal(body, &in)
		call := Call{Service: ServiceSSOOIDC, Action: action, Params: oidcLogParams(in)}
		s.serveCall(w, r, oidcFormat{}, call, func(requestID string) answer {
			if jerr != nil || in == nil {
				return oidcFormat{}.errorAnswer(errOIDCInvalidRequest("The request body is not a JSON object"), requestID, "")
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			out, e, caller := op(in, r, s.nowLocked())
			if e != nil {
				return oidcFormat{}.errorAnswer(e, requestID, caller)
			}
			data, _ := json.Marshal(out)
			return answer{status: http.StatusOK, body: data, caller: caller}
		})
	}
}

// oidcLogged are the request members the call log keeps: none of them a
// secret (clientSecret, deviceCode, code, codeVerifier and refreshToken
// are left out).
var oidcLogged = []string{"clientId", "clientName", "clientType", "grantType", "grantTypes", "redirectUri", "redirectUris", "issuerUrl", "scope", "scopes", "startUrl"}

func oidcLogParams(in map[string]json.RawMessage) map[string]string {
	out := map[string]string{}
	for _, k := range oidcLogged {
		raw, ok := in[k]
		if !ok {
			continue
		}
		var s string
		var list []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			out[k] = s
		case json.Unmarshal(raw, &list) == nil:
			out[k] = strings.Join(list, " ")
		}
	}
	return out
}

func str(in map[string]json.RawMessage, key string) string {
	var s string
	_ = json.Unmarshal(in[key], &s)
	return s
}

func strList(in map[string]json.RawMessage, key string) ([]string, bool) {
	raw, ok := in[key]
	if !ok {
		return nil, true
	}
	var list []string
	return list, json.Unmarshal(raw, &list) == nil
}

// randomToken is n random bytes, base64url: client IDs, secrets, device
// codes, authorization and refresh tokens.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCode is a code for people: eight letters in two groups, from an
// alphabet without letters that read alike (RFC 8628 section 6.1).
func userCode() string {
	const alphabet = "BCDFGHJKLMNPQRSTVWXZ"
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, alphabet[int(c)%len(alphabet)])
	}
	return string(out)
}

// registerClient is RegisterClient: a public client, for the device code
// grant (no grantTypes, as the AWS CLI registers for it) or for the
// authorization code grant with loopback redirect URIs and an issuer URL.
func (s *Server) registerClient(in map[string]json.RawMessage, _ *http.Request, now time.Time) (any, *apiError, string) {
	name, kind := str(in, "clientName"), str(in, "clientType")
	if name == "" || kind == "" {
		return nil, errOIDCInvalidRequest("clientName and clientType are required"), ""
	}
	if kind != "public" {
		return nil, errOIDC(http.StatusBadRequest, "InvalidClientMetadataException", "Invalid client type "+kind), ""
	}
	scopes, ok1 := strList(in, "scopes")
	grants, ok2 := strList(in, "grantTypes")
	redirects, ok3 := strList(in, "redirectUris")
	if !ok1 || !ok2 || !ok3 {
		return nil, errOIDCInvalidRequest("scopes, grantTypes and redirectUris must be lists of strings"), ""
	}
	for _, sc := range scopes {
		if sc == "" || !strings.Contains(sc, ":") {
			return nil, errOIDC(http.StatusBadRequest, "InvalidScopeException", "Invalid scope "+sc), ""
		}
	}
	for _, g := range grants {
		if g != grantDeviceCode && g != grantAuthorizationCode && g != grantRefreshToken {
			return nil, errOIDC(http.StatusBadRequest, "InvalidClientMetadataException", "Invalid grant type "+g), ""
		}
	}
	c := &oidcClient{
		id: randomToken(16), secret: randomToken(96), name: name,
		scopes: scopes, grantTypes: grants, redirectURIs: redirects,
		issuerURL: str(in, "issuerUrl"), secretExpiresAt: now.Add(oidcClientSecretTTL).Truncate(time.Second),
	}
	if slices.Contains(grants, grantAuthorizationCode) {
		if len(redirects) == 0 {
			return nil, errOIDC(http.StatusBadRequest, "InvalidRedirectUriException", "redirectUris are required for the authorization_code grant"), ""
		}
		for _, u := range redirects {
			if !loopbackURI(u) {
				return nil, errOIDC(http.StatusBadRequest, "InvalidRedirectUriException", "Invalid redirect URI "+u), ""
			}
		}
		if c.issuerURL == "" {
			return nil, errOIDCInvalidRequest("issuerUrl is required for the authorization_code grant"), ""
		}
	}
	s.oidcSSO.clients[c.id] = c
	return map[string]any{
		"clientId":              c.id,
		"clientSecret":          c.secret,
		"clientIdIssuedAt":      now.Unix(),
		"clientSecretExpiresAt": c.secretExpiresAt.Unix(),
	}, nil, ""
}

// loopbackURI reports whether u is an http URI on the loopback interface,
// the only redirect a native app can receive (RFC 8252 section 7.3).
func loopbackURI(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" {
		return false
	}
	h := p.Hostname()
	return h == "127.0.0.1" || h == "::1" || h == "localhost"
}

// client finds the client a request names and checks its secret.
func (s *Server) oidcClientLocked(in map[string]json.RawMessage, now time.Time) (*oidcClient, *apiError) {
	c := s.oidcSSO.clients[str(in, "clientId")]
	if c == nil || subtle.ConstantTimeCompare([]byte(c.secret), []byte(str(in, "clientSecret"))) != 1 || !now.Before(c.secretExpiresAt) {
		return nil, errInvalidClient()
	}
	return c, nil
}

// startDeviceAuthorization is StartDeviceAuthorization: a device code for
// the client to poll with and a user code for the person, who approves it
// at verificationUriComplete (ssologin.go) or through the test control.
func (s *Server) startDeviceAuthorization(in map[string]json.RawMessage, r *http.Request, now time.Time) (any, *apiError, string) {
	c, e := s.oidcClientLocked(in, now)
	if e != nil {
		return nil, e, ""
	}
	if !c.allows(grantDeviceCode) {
		return nil, errUnauthorizedClient(), ""
	}
	if s.sso == nil || str(in, "startUrl") != s.sso.cfg.StartURL {
		return nil, errOIDCInvalidRequest("Invalid start URL"), ""
	}
	d := &oidcDevice{client: c, deviceCode: randomToken(96), userCode: userCode(),
		expiresAt: now.Add(oidcDeviceCodeTTL), interval: oidcPollInterval}
	s.oidcSSO.devices[d.deviceCode] = d
	s.oidcSSO.signal()
	verify := baseURL(r) + "/device"
	return map[string]any{
		"deviceCode":              d.deviceCode,
		"userCode":                d.userCode,
		"verificationUri":         verify,
		"verificationUriComplete": verify + "?user_code=" + d.userCode,
		"expiresIn":               int(oidcDeviceCodeTTL / time.Second),
		"interval":                int(oidcPollInterval / time.Second),
	}, nil, ""
}

// baseURL is the emulator's URL as the client reached it.
func baseURL(r *http.Request) string { return "http://" + r.Host }

// createToken is CreateToken for its three grants.
func (s *Server) createToken(in map[string]json.RawMessage, _ *http.Request, now time.Time) (any, *apiError, string) {
	c, e := s.oidcClientLocked(in, now)
	if e != nil {
		return nil, e, ""
	}
	grant := str(in, "grantType")
	switch grant {
	case grantDeviceCode, grantAuthorizationCode, grantRefreshToken:
	default:
		return nil, errOIDC(http.StatusBadRequest, "UnsupportedGrantTypeException", "Unsupported grant type "+grant), ""
	}
	if !c.allows(grant) {
		return nil, errUnauthorizedClient(), ""
	}
	switch grant {
	case grantDeviceCode:
		return s.deviceToken(c, str(in, "deviceCode"), now)
	case grantAuthorizationCode:
		return s.authorizationCodeToken(c, in, now)
	}
	return s.refreshToken(c, str(in, "refreshToken"), now)
}

// deviceToken answers a device poll (RFC 8628 section 3.5).
func (s *Server) deviceToken(c *oidcClient, code string, now time.Time) (any, *apiError, string) {
	d := s.oidcSSO.devices[code]
	if d == nil || d.client != c {
		return nil, errInvalidGrant("Invalid device code provided"), ""
	}
	if d.status == loginUsed {
		return nil, errInvalidGrant("Device code has already been used"), ""
	}
	if !now.Before(d.expiresAt) {
		return nil, errOIDC(http.StatusBadRequest, "ExpiredTokenException", "Device code has expired"), ""
	}
	if !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < d.interval {
		d.lastPoll = now
		d.interval += oidcSlowDownStep
		return nil, errOIDC(http.StatusBadRequest, "SlowDownException", "Client is polling too quickly"), ""
	}
	d.lastPoll = now
	switch d.status {
	case loginPending:
		return nil, errOIDC(http.StatusBadRequest, "AuthorizationPendingException", "Authorization is still pending"), ""
	case loginDenied:
		return nil, errOIDC(http.StatusBadRequest, "AccessDeniedException", "Access denied by the user"), ""
	}
	d.status = loginUsed
	return s.issueOIDCTokensLocked(c, d.user, now), nil, d.user.name
}

// authorizationCodeToken exchanges an authorization code, checking the
// redirect URI it was issued for and the PKCE verifier (RFC 7636 section
// 4.6: BASE64URL(SHA256(verifier)) must equal the challenge).
func (s *Server) authorizationCodeToken(c *oidcClient, in map[string]json.RawMessage, now time.Time) (any, *apiError, string) {
	req := s.oidcSSO.codes[str(in, "code")]
	if req == nil || req.client != c {
		return nil, errInvalidGrant("Invalid authorization code provided"), ""
	}
	if req.status == loginUsed || now.Sub(req.createdAt) > oidcAuthCodeTTL {
		return nil, errInvalidGrant("Authorization code has expired or was already used"), ""
	}
	if str(in, "redirectUri") != req.redirectURI {
		return nil, errInvalidGrant("The redirect URI does not match the authorization request"), ""
	}
	verifier := str(in, "codeVerifier")
	sum := sha256.Sum256([]byte(verifier))
	if !validVerifier(verifier) || base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge {
		return nil, errInvalidGrant("The code verifier does not match the code challenge"), ""
	}
	req.status = loginUsed
	return s.issueOIDCTokensLocked(c, req.user, now), nil, req.user.name
}

// validVerifier: 43 to 128 unreserved characters (RFC 7636 section 4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		unreserved := ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~", ch) >= 0
		if !unreserved {
			return false
		}
	}
	return true
}

// refreshToken is the refresh_token grant: a new access token for the same
// sign-in and a new refresh token; the old refresh token stops working.
// (Whether Identity Center rotates refresh tokens is not documented; the
// emulator does, the stricter choice, so a client that keeps the old one
// fails here first.)
func (s *Server) refreshToken(c *oidcClient, token string, now time.Time) (any, *apiError, string) {
	login := s.oidcSSO.refresh[token]
	if login == nil || login.client != c {
		return nil, errInvalidGrant("Invalid refresh token provided"), ""
	}
	if login.revoked || !now.Before(login.expiresAt) {
		delete(s.oidcSSO.refresh, token)
		return nil, errInvalidGrant("Refresh token has expired"), login.user.name
	}
	delete(s.oidcSSO.refresh, token)
	return s.tokenAnswerLocked(login, now), nil, login.user.name
}

// issueOIDCTokensLocked starts a sign-in of u through client c and answers
// its first tokens.
func (s *Server) issueOIDCTokensLocked(c *oidcClient, u *ssoUser, now time.Time) map[string]any {
	login := &ssoLogin{user: u, client: c, expiresAt: now.Add(oidcSessionTTL)}
	return s.tokenAnswerLocked(login, now)
}

// tokenAnswerLocked mints an access token of the login (and a new refresh
// token when it has them) into the token store the portal reads.
func (s *Server) tokenAnswerLocked(login *ssoLogin, now time.Time) map[string]any {
	ttl := login.expiresAt.Sub(now)
	if login.client.issuesRefreshTokens() {
		ttl = min(ttl, oidcAccessTokenTTL)
		login.refreshToken = "aor" + randomToken(96)
		s.oidcSSO.refresh[login.refreshToken] = login
	}
	token, _ := s.issueSSOTokenLocked(login.user, now, ttl)
	s.ssoTokens[token].login = login
	out := map[string]any{
		"accessToken": token,
		"tokenType":   "Bearer",
		"expiresIn":   int(ttl / time.Second),
	}
	if login.refreshToken != "" {
		out["refreshToken"] = login.refreshToken
	}
	return out
}
