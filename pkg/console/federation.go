package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rolecall/rolecall/pkg/creds"
)

// The federation endpoint, after "Enable custom identity broker access to the
// AWS console" in the IAM User Guide
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html):
//
//  1. Action=getSigninToken with Session, the JSON {"sessionId": access key
//     ID, "sessionKey": secret access key, "sessionToken": session token},
//     and optionally SessionDuration (seconds, 900 to 43200), answers
//     {"SigninToken": "…"}.
//  2. https://ENDPOINT?Action=login&Issuer=…&Destination=URL&SigninToken=…
//     signs the browser in and sends it to Destination. "The URL that the
//     federation endpoint provides is valid for 15 minutes after it is
//     created", and the token is good once.
//
// The guide sends step 1 as a GET with the credentials in the query string;
// rolecall POSTs them as a form, which the endpoint takes as well
// (vouch-sh/vouch#240 does the same), so the secret key and session token
// are never part of a URL that a proxy or server might log.

// SigninTokenLifetime is how long a sign-in link works after it is made.
const SigninTokenLifetime = 15 * time.Minute

// maxAnswerBytes caps what is read of any federation answer: a token answer
// is a few hundred bytes, an error page a few KB.
const maxAnswerBytes = 64 << 10

// FederationError is a federation endpoint that refused a request, answered
// something that is no answer of it, or could not be reached (Status 0).
type FederationError struct {
	Endpoint string // the endpoint URL, without query
	Status   int    // the HTTP status; 0 when no answer came
	Reason   string // the refusal page's title, or what was wrong with the answer
	Err      error  // the transport error, when no answer came
	// SessionDuration says the request carried SessionDuration, a common
	// reason for the endpoint's "Invalid credentials parameter".
	SessionDuration bool
}

func (e *FederationError) Error() string {
	switch {
	case e.Status == 0 && e.Err != nil:
		return fmt.Sprintf("federation endpoint %s: %v", e.Endpoint, e.Err)
	case e.Status == http.StatusOK:
		return fmt.Sprintf("federation endpoint %s: %s", e.Endpoint, e.Reason)
	}
	reason := e.Reason
	if reason == "" {
		reason = http.StatusText(e.Status)
	}
	return fmt.Sprintf("federation endpoint %s refused the sign-in: HTTP %d: %s", e.Endpoint, e.Status, reason)
}

func (e *FederationError) Unwrap() error { return e.Err }

// Refused reports whether the endpoint answered and said no (4xx), as
// opposed to failing or not answering.
func (e *FederationError) Refused() bool { return e.Status >= 400 && e.Status < 500 }

// sessionJSON is the Session parameter, with exactly the three keys the
// endpoint knows.
func sessionJSON(c creds.Credentials) (string, error) {
	data, err := json.Marshal(map[string]string{
		"sessionId":    c.AccessKeyID,
		"sessionKey":   c.SecretAccessKey,
		"sessionToken": c.SessionToken,
	})
	return string(data), err
}

// getSigninToken exchanges credentials for a sign-in token.
func getSigninToken(ctx context.Context, client aws.HTTPClient, endpoint string, c creds.Credentials, sessionDuration time.Duration) (string, error) {
	session, err := sessionJSON(c)
	if err != nil {
		return "", err
	}
	form := url.Values{"Action": {"getSigninToken"}, "Session": {session}}
	if sessionDuration > 0 {
		form.Set("SessionDuration", strconv.Itoa(int(sessionDuration/time.Second)))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	fail := func(status int, reason string, err error) error {
		return &FederationError{Endpoint: endpoint, Status: status, Reason: reason, Err: err, SessionDuration: sessionDuration > 0}
	}
	resp, err := client.Do(req)
	if err != nil {
		// The transport's error names the URL, which holds no secret (they
		// are in the body).
		return "", fail(0, "", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := readCapped(resp.Body)
	if err != nil {
		return "", fail(0, "", fmt.Errorf("read the answer: %w", err))
	}
	if resp.Request != nil && resp.Request.URL != nil && resp.Request.URL.Host != req.URL.Host {
		return "", fail(resp.StatusCode, "it redirected to another host", nil)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fail(resp.StatusCode, pageTitle(body), nil)
	}
	var out struct {
		SigninToken string `json:"SigninToken"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.SigninToken == "" {
		return "", fail(resp.StatusCode, "the answer has no SigninToken", nil)
	}
	return out.SigninToken, nil
}

// readCapped reads a body whole, failing past maxAnswerBytes.
func readCapped(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAnswerBytes+1))
	if err == nil && len(b) > maxAnswerBytes {
		return nil, errors.New("the answer is larger than " + strconv.Itoa(maxAnswerBytes) + " bytes")
	}
	return b, err
}

var titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>`)

// pageTitle is the title of an HTML error page ("Invalid credentials
// parameter"), cut short and reduced to printable ASCII: the page is
// the endpoint's, and only its title is shown.
func pageTitle(body []byte) string {
	m := titleRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	var b strings.Builder
	for _, r := range strings.Join(strings.Fields(string(m[1])), " ") {
		if b.Len() >= 120 {
			break
		}
		if r >= 0x20 && r < 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// loginURL is the sign-in link. Issuer is sent empty, as granted does: it
// names the page the console offers when the session ends, and rolecall
// has none, so the console offers its own sign-in page.
func loginURL(endpoint, destination, token string) string {
	q := url.Values{
		"Action":      {"login"},
		"Issuer":      {""},
		"Destination": {destination},
		"SigninToken": {token},
	}
	return endpoint + "?" + q.Encode()
}

// Redact returns a sign-in link with its SigninToken replaced, for logs.
func Redact(link string) string {
	u, err := url.Parse(link)
	if err != nil {
		return "<sign-in link>"
	}
	q := u.Query()
	if q.Has("SigninToken") {
		q.Set("SigninToken", "REDACTED")
	}
	u.RawQuery = q.Encode()
	return u.String()
}
