package sso

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
)

// The OAuth flows IAM Identity Center offers a command-line tool, as the
// AWS CLI v2 runs them (awscli/botocore/utils.py SSOTokenFetcher and
// SSOTokenFetcherAuth; awscli/customizations/sso/utils.py):
//
//   - Authorization code with PKCE (RFC 7636), the default for an
//     sso-session: the client registers for grantTypes authorization_code
//     and refresh_token with the redirect URI http://127.0.0.1/oauth/callback
//     and the start URL as issuerUrl; rolecall listens on 127.0.0.1 on a
//     free port (RFC 8252 section 7.3: the port is chosen at login), opens
//     OIDC/authorize?response_type=code&client_id&redirect_uri&state&
//     code_challenge_method=S256&scopes&code_challenge in the browser, and
//     exchanges the code it is sent back for a token (CreateToken,
//     grantType authorization_code, with the code verifier and the same
//     redirect URI).
//   - Device authorization (RFC 8628), for --use-device-code and for legacy
//     profiles: StartDeviceAuthorization gives a user code and a URL for
//     any browser, on any machine; rolecall polls CreateToken with the
//     device code every interval seconds (5 without one), 5 seconds more
//     after each slow_down, until the person approves (authorization_pending
//     until then), denies (access_denied) or the code expires
//     (expired_token).
//
// Both register the client once and keep the registration in the cache
// (registrationPath) until 15 minutes before it expires.
const (
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	// defaultScope is what the AWS CLI asks for when the session sets no
	// sso_registration_scopes (_AUTH_GRANT_DEFAULT_SCOPE).
	defaultScope = "sso:account:access"
	// redirectPath and the port-less redirect URI registered for it.
	redirectPath       = "/oauth/callback"
	registeredRedirect = "http://127.0.0.1" + redirectPath
	// defaultPollInterval and slowDownStep are RFC 8628's (section 3.5).
	defaultPollInterval = 5 * time.Second
	slowDownStep        = 5 * time.Second
)

// LoginOptions say how a person signs in.
type LoginOptions struct {
	// UseDeviceCode asks for the device authorization grant even where the
	// authorization code grant is possible.
	UseDeviceCode bool
	// Browser opens a URL in the person's browser; nil, or an error, leaves
	// them to open the URL Notify gave.
	Browser func(ctx context.Context, url string) error
	// Notify tells the person where to go (and the code to enter).
	Notify func(msg string)
	// Sleep waits between device polls; nil waits on a timer that ctx
	// ends. Tests pass one that moves the emulator's clock.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o LoginOptions) notify(format string, args ...any) {
	if o.Notify != nil {
		o.Notify(fmt.Sprintf(format, args...))
	}
}

func (o LoginOptions) open(ctx context.Context, u string) bool {
	return o.Browser != nil && o.Browser(ctx, u) == nil
}

func (o LoginOptions) sleep(ctx context.Context, d time.Duration) error {
	if o.Sleep != nil {
		return o.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Login signs a person in to the session and stores the token in the
// cache, where the AWS CLI and the SDKs find it. Legacy profiles (no
// sso-session) always use the device grant, as the AWS CLI does.
func (c *Client) Login(ctx context.Context, s Session, opt LoginOptions) (Token, error) {
	authCode := s.Name != "" && !opt.UseDeviceCode
	reg, err := c.registration(ctx, s, authCode)
	if err != nil {
		return Token{}, err
	}
	now := c.Env.now()
	var res *ssooidc.CreateTokenOutput
	if authCode {
		res, err = c.authorizationCodeFlow(ctx, s, reg, opt)
	} else {
		res, err = c.deviceFlow(ctx, s, reg, opt)
	}
	if err != nil {
		if ctx.Err() != nil && !errors.As(err, new(*LoginError)) {
			err = &LoginError{Session: s, Reason: LoginTimedOut, Err: ctx.Err()}
		}
		return Token{}, err
	}
	if aws.ToString(res.AccessToken) == "" {
		return Token{}, &CallError{Service: "sso-oidc", Action: "CreateToken", Err: errors.New("the answer holds no access token")}
	}
	t := Token{
		StartURL:              s.StartURL,
		Region:                s.Region,
		AccessToken:           aws.ToString(res.AccessToken),
		ExpiresAt:             now.Add(time.Duration(res.ExpiresIn) * time.Second),
		ClientID:              reg.ClientID,
		ClientSecret:          reg.ClientSecret,
		RegistrationExpiresAt: reg.ExpiresAt,
		RefreshToken:          aws.ToString(res.RefreshToken),
	}
	path := TokenPath(c.Env.HomeDir, s)
	err = withFileLock(ctx, path, func() error {
		// Keep what another tool stored beside the token.
		if old, err := ReadToken(path); err == nil {
			t.other = old.other
		}
		return writeFileAtomic(path, t.encode())
	})
	return t, err
}

// registration returns a cached client registration fit for the flow, or
// registers a new one and caches it.
func (c *Client) registration(ctx context.Context, s Session, authCode bool) (Registration, error) {
	path := registrationPath(c.Env.HomeDir, s)
	var reg Registration
	err := withFileLock(ctx, path, func() error {
		var ok bool
		if reg, ok = loadRegistration(c.Env.HomeDir, s, authCode, c.Env.now()); ok {
			c.Env.trace("%s: using the cached client registration", s)
			return nil
		}
		name := s.Name
		if name == "" {
			// The AWS CLI names legacy clients by the time.
			name = strconv.FormatInt(c.Env.now().Unix(), 10)
		}
		in := &ssooidc.RegisterClientInput{ClientName: aws.String("rolecall-client-" + name), ClientType: aws.String("public"), Scopes: s.Scopes}
		if authCode {
			in.GrantTypes = []string{grantAuthorizationCode, grantRefreshToken}
			in.RedirectUris = []string{registeredRedirect}
			in.IssuerUrl = aws.String(s.StartURL)
			if len(in.Scopes) == 0 {
				in.Scopes = []string{defaultScope}
			}
		}
		out, err := c.oidc(s.Region).RegisterClient(ctx, in)
		if err != nil {
			return &CallError{Service: "sso-oidc", Action: "RegisterClient", Err: err}
		}
		reg = Registration{
			ClientID:     aws.ToString(out.ClientId),
			ClientSecret: aws.ToString(out.ClientSecret),
			ExpiresAt:    time.Unix(out.ClientSecretExpiresAt, 0).UTC(),
			Scopes:       in.Scopes,
			GrantTypes:   in.GrantTypes,
		}
		c.Env.trace("%s: registered client %s", s, reg.ClientID)
		return writeFileAtomic(path, reg.encode())
	})
	return reg, err
}

// deviceFlow is the device authorization grant.
func (c *Client) deviceFlow(ctx context.Context, s Session, reg Registration, opt LoginOptions) (*ssooidc.CreateTokenOutput, error) {
	client := c.oidc(s.Region)
	auth, err := client.StartDeviceAuthorization(ctx, &ssooidc.StartDeviceAuthorizationInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret), StartUrl: aws.String(s.StartURL),
	})
	if err != nil {
		return nil, &CallError{Service: "sso-oidc", Action: "StartDeviceAuthorization", Err: err}
	}
	interval := time.Duration(auth.Interval) * time.Second
	if interval <= 0 {
		interval = defaultPollInterval
	}
	poll := func() (*ssooidc.CreateTokenOutput, bool, error) {
		res, err := client.CreateToken(ctx, &ssooidc.CreateTokenInput{
			ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
			GrantType: aws.String(grantDeviceCode), DeviceCode: auth.DeviceCode,
		})
		var pending *oidctypes.AuthorizationPendingException
		var slow *oidctypes.SlowDownException
		var expired *oidctypes.ExpiredTokenException
		var denied *oidctypes.AccessDeniedException
		switch {
		case err == nil:
			return res, true, nil
		case errors.As(err, &pending):
			return nil, false, nil
		case errors.As(err, &slow):
			interval += slowDownStep
			return nil, false, nil
		case errors.As(err, &expired):
			return nil, false, &LoginError{Session: s, Reason: LoginExpired, Err: err}
		case errors.As(err, &denied):
			return nil, false, &LoginError{Session: s, Reason: LoginDenied, Err: err}
		}
		return nil, false, &CallError{Service: "sso-oidc", Action: "CreateToken", Err: err}
	}
	opt.notify("to sign in to %s, open %s and enter the code %s", s, aws.ToString(auth.VerificationUri), aws.ToString(auth.UserCode))
	if opt.open(ctx, aws.ToString(auth.VerificationUriComplete)) {
		opt.notify("opened the page in your browser; waiting for you to approve the code there")
	}
	// The first poll at once: a client may be authorized already (the AWS
	// CLI tries once before it shows the code).
	for first := true; ; first = false {
		if !first {
			if err := opt.sleep(ctx, interval); err != nil {
				return nil, err
			}
		}
		if res, done, err := poll(); done || err != nil {
			return res, err
		}
	}
}

// callback is what the browser brought back to the loopback listener.
type callback struct {
	code string
	err  string
}

// authorizationCodeFlow is the authorization code grant with PKCE on a
// loopback redirect.
func (c *Client) authorizationCodeFlow(ctx context.Context, s Session, reg Registration, opt LoginOptions) (*ssooidc.CreateTokenOutput, error) {
	base, err := c.oidcBase(ctx, s.Region)
	if err != nil {
		return nil, err
	}
	verifier, challenge, state := pkcePair(), "", randomHex(16)
	sum := sha256.Sum256([]byte(verifier))
	challenge = base64.RawURLEncoding.EncodeToString(sum[:])

	// Only the loopback interface: the AWS CLI listens on every interface,
	// which lets other machines on the network reach the callback.
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the sign-in callback: %w", err)
	}
	redirect := "http://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + redirectPath
	results := make(chan callback, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+redirectPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		// A request without our state is not the browser coming back from
		// this login (a stale tab, another program): it is refused and the
		// wait goes on.
		if q.Get("state") != state {
			http.Error(w, "unexpected sign-in callback", http.StatusBadRequest)
			return
		}
		res := callback{code: q.Get("code"), err: q.Get("error")}
		if res.code == "" && res.err == "" {
			res.err = "invalid_request"
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		msg := "Signed in. You can close this window and return to the terminal."
		if res.err != "" {
			msg = "The sign-in did not complete (" + html.EscapeString(res.err) + "). Return to the terminal."
		}
		_, _ = fmt.Fprintf(w, "<!doctype html><html><head><title>rolecall</title></head><body><p>%s</p></body></html>\n", msg)
		select {
		case results <- res:
		default:
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	scopes := defaultScope
	if len(s.Scopes) > 0 {
		scopes = joinScopes(s.Scopes)
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {reg.ClientID},
		"redirect_uri":          {redirect},
		"state":                 {state},
		"code_challenge_method": {"S256"},
		"scopes":                {scopes},
		"code_challenge":        {challenge},
	}
	authorize := base + "/authorize?" + q.Encode()
	if opt.open(ctx, authorize) {
		opt.notify("opened the sign-in page for %s in your browser; if it did not open, open this URL:\n%s", s, authorize)
	} else {
		opt.notify("to sign in to %s, open this URL in a browser on this machine:\n%s", s, authorize)
	}
	var res callback
	select {
	case res = <-results:
	case <-ctx.Done():
		return nil, &LoginError{Session: s, Reason: LoginTimedOut, Err: ctx.Err()}
	}
	switch res.err {
	case "":
	case "access_denied":
		return nil, &LoginError{Session: s, Reason: LoginDenied}
	default:
		return nil, &CallError{Service: "sso-oidc", Action: "authorize", Err: fmt.Errorf("the sign-in page answered %s", res.err)}
	}
	out, err := c.oidc(s.Region).CreateToken(ctx, &ssooidc.CreateTokenInput{
		ClientId: aws.String(reg.ClientID), ClientSecret: aws.String(reg.ClientSecret),
		GrantType: aws.String(grantAuthorizationCode), Code: aws.String(res.code),
		CodeVerifier: aws.String(verifier), RedirectUri: aws.String(redirect),
	})
	if err != nil {
		var expired *oidctypes.ExpiredTokenException
		if errors.As(err, &expired) {
			return nil, &LoginError{Session: s, Reason: LoginExpired, Err: err}
		}
		return nil, &CallError{Service: "sso-oidc", Action: "CreateToken", Err: err}
	}
	return out, nil
}

// pkcePair returns a code verifier: 64 characters of the unreserved set
// RFC 7636 section 4.1 allows, as the AWS CLI makes it.
func pkcePair() string {
	const unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		panic("sso: read random bytes: " + err.Error())
	}
	for i := range b {
		b[i] = unreserved[int(b[i])%len(unreserved)]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("sso: read random bytes: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// joinScopes joins scopes with spaces, as the authorize URL takes them.
func joinScopes(scopes []string) string {
	out := ""
	for i, s := range scopes {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
