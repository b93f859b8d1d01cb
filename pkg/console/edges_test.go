package console_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/console"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// The tests of this file pin the edges of each check: the last value a
// check lets through and the first it stops, one character class or one
// byte at a time (found by mutation testing, docs/testing.md).

// maxAnswerBytes is the package's cap on a federation answer (64 KiB).
const maxAnswerBytes = 64 << 10

// TestLandingPage: --service takes lower-case letters, digits, '-' and
// inner '/', at most 100 characters; --destination any http(s) URL with a
// host and no user. A refusal comes before any call.
func TestLandingPage(t *testing.T) {
	w := newWorld(t, "")
	tests := []struct {
		name                 string
		service, destination string
		want                 string // the link's destination; "" for a usage error
	}{
		{"service s3", "s3", "", "https://console.aws.amazon.com/s3/home"},
		{"service with an inner slash", "codesuite/codecommit", "", "https://console.aws.amazon.com/codesuite/codecommit/home"},
		{"service with a dash", "billing-home", "", "https://console.aws.amazon.com/billing-home/home"},
		{"first letter a", "a", "", "https://console.aws.amazon.com/a/home"},
		{"last letter z", "z", "", "https://console.aws.amazon.com/z/home"},
		{"first digit 0", "0", "", "https://console.aws.amazon.com/0/home"},
		{"last digit 9", "9", "", "https://console.aws.amazon.com/9/home"},
		{"service of 100 characters", strings.Repeat("a", 100), "", "https://console.aws.amazon.com/" + strings.Repeat("a", 100) + "/home"},
		{"service of 101 characters", strings.Repeat("a", 101), "", ""},
		{"backquote, before a", "s`", "", ""},
		{"brace, after z", "s{", "", ""},
		{"colon, after 9", "s:", "", ""},
		{"dot, before the slash and 0", "s.3", "", ""},
		{"upper case", "S3", "", ""},
		{"leading slash", "/s3", "", ""},
		{"trailing slash", "s3/", "", ""},
		{"only a slash", "/", "", ""},
		{"double slash", "codesuite//codecommit", "", ""},
		{"destination over https", "", "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1", "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"},
		{"destination over http", "", "http://console.example.test/home", "http://console.example.test/home"},
		{"destination without a host", "", "https:///s3/home", ""},
		{"destination with a user", "", "https://user@console.aws.amazon.com/", ""},
		{"destination of another scheme", "", "file:///etc/passwd", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := w.request(demo)
			req.Profile, req.Service, req.Destination = "alice", tt.service, tt.destination
			before := len(w.sts.Calls())
			link, err := console.SignIn(context.Background(), req, w.env(nil))
			if tt.want == "" {
				var ue *assume.UsageError
				if !errors.As(err, &ue) || ue.Hint == "" {
					t.Fatalf("error %v, want a usage error with a hint", err)
				}
				if n := len(w.sts.Calls()) - before; n != 0 {
					t.Errorf("%d calls made before refusing", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if link.Destination != tt.want || mustQuery(t, link.URL).Get("Destination") != tt.want {
				t.Errorf("link lands on %q (Destination %q), want %q", link.Destination, mustQuery(t, link.URL).Get("Destination"), tt.want)
			}
		})
	}
}

// fakeEndpoint is a federation endpoint that answers every request with
// handler, and the request that signs in through it, with the client: nil
// for the one rolecall builds (stshttp's), else the caller's.
func fakeEndpoint(t *testing.T, w *world, handler http.HandlerFunc, client *http.Client) (console.Request, assume.Env) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	req := w.request(demo)
	req.Profile, req.FederationURL = "alice", srv.URL
	env := w.env(nil)
	if client != nil {
		env.HTTPClient = client
	}
	return req, env
}

// TestFederationStatus: a 4xx answer is a refusal (the exit code and hint
// of a refused sign-in), anything else is a failure; the message gives the
// status and the page's title, or the status's text without one.
func TestFederationStatus(t *testing.T) {
	w := newWorld(t, "")
	tests := []struct {
		status  int
		title   string
		refused bool
		reason  string
	}{
		{399, "", false, ""},
		{400, "Invalid credentials parameter", true, "Invalid credentials parameter"},
		{401, "", true, "Unauthorized"},
		{499, "Refused", true, "Refused"},
		{500, "", false, "Internal Server Error"},
		{503, "Unavailable", false, "Unavailable"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			req, env := fakeEndpoint(t, w, func(rw http.ResponseWriter, _ *http.Request) {
				rw.Header().Set("Content-Type", "text/html")
				rw.WriteHeader(tt.status)
				if tt.title != "" {
					_, _ = fmt.Fprintf(rw, "<html><head><title>%s</title></head></html>", tt.title)
				}
			}, nil)
			_, err := console.SignIn(context.Background(), req, env)
			var fe *console.FederationError
			if !errors.As(err, &fe) || fe.Status != tt.status || fe.Refused() != tt.refused {
				t.Fatalf("error %#v, want a federation error with status %d, refused %t", err, tt.status, tt.refused)
			}
			want := fmt.Sprintf("federation endpoint %s/federation refused the sign-in: HTTP %d: %s", req.FederationURL, tt.status, tt.reason)
			if err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// TestFederationAnswerSize: an answer of exactly 64 KiB is read, one byte
// more is refused, whether the client is rolecall's own (which caps the
// body itself) or the caller's (assume.Env.HTTPClient).
func TestFederationAnswerSize(t *testing.T) {
	w := newWorld(t, "")
	answer := func(size int) http.HandlerFunc {
		return func(rw http.ResponseWriter, _ *http.Request) {
			token := `{"SigninToken": "token-from-the-fake"}`
			_, _ = fmt.Fprint(rw, token+strings.Repeat(" ", size-len(token)))
		}
	}
	for _, client := range []struct {
		name   string
		client *http.Client
	}{{"rolecall's client", nil}, {"the caller's client", &http.Client{}}} {
		t.Run(client.name+"/exactly the cap", func(t *testing.T) {
			req, env := fakeEndpoint(t, w, answer(maxAnswerBytes), client.client)
			link, err := console.SignIn(context.Background(), req, env)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustQuery(t, link.URL).Get("SigninToken"); got != "token-from-the-fake" {
				t.Errorf("SigninToken %q, want the answer's", got)
			}
		})
		t.Run(client.name+"/one byte more", func(t *testing.T) {
			req, env := fakeEndpoint(t, w, answer(maxAnswerBytes+1), client.client)
			_, err := console.SignIn(context.Background(), req, env)
			var fe *console.FederationError
			if !errors.As(err, &fe) || fe.Status != 0 || fe.Refused() || !strings.Contains(err.Error(), fmt.Sprintf("larger than %d bytes", maxAnswerBytes)) {
				t.Fatalf("error %v, want the answer refused as larger than %d bytes", err, maxAnswerBytes)
			}
			if want := "federation endpoint " + req.FederationURL + "/federation: read the answer: "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q, want it to start %q", err, want)
			}
		})
	}
}

// TestFederationRefusalReason: only the page's title is shown, its
// whitespace collapsed, its characters reduced to printable ASCII (0x20 to
// 0x7e), at most 120 of them.
func TestFederationRefusalReason(t *testing.T) {
	w := newWorld(t, "")
	x := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name, title, reason string
	}{
		{"119 characters", x(119), x(119)},
		{"120 characters", x(120), x(120)},
		{"121 characters", x(121), x(120)},
		{"long", x(60) + " " + x(100), x(60) + " " + x(59)},
		{"control characters and DEL dropped, space and tilde kept", "a\x1fb c~d\x7fe\x00", "ab c~de"},
		{"whitespace collapsed", "\n  Invalid \t credentials\r\n parameter ", "Invalid credentials parameter"},
		{"non-ASCII dropped", "caf\u00e9 \u202egnp", "caf gnp"},
		{"no title: the status's text", "", "Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, env := fakeEndpoint(t, w, func(rw http.ResponseWriter, _ *http.Request) {
				rw.Header().Set("Content-Type", "text/html")
				rw.WriteHeader(http.StatusBadRequest)
				if tt.title != "" {
					_, _ = fmt.Fprintf(rw, "<html><head><TITLE>%s</TITLE></head><body>%s</body></html>", tt.title, x(500))
				}
			}, nil)
			_, err := console.SignIn(context.Background(), req, env)
			var fe *console.FederationError
			if !errors.As(err, &fe) || !fe.Refused() {
				t.Fatalf("error %v, want a refusal", err)
			}
			if tt.title != "" && fe.Reason != tt.reason {
				t.Errorf("Reason %q, want %q", fe.Reason, tt.reason)
			}
			if want := "HTTP 400: " + tt.reason; !strings.HasSuffix(err.Error(), want) {
				t.Errorf("error %q, want it to end %q", err, want)
			}
		})
	}
}

// TestFederationAnswerIsNoToken: a 200 answer without a token is no
// refusal, and says so without "refused".
func TestFederationAnswerIsNoToken(t *testing.T) {
	w := newWorld(t, "")
	for _, body := range []string{`{"SigninToken": ""}`, `{}`, `<html>not JSON</html>`} {
		req, env := fakeEndpoint(t, w, func(rw http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(rw, body) }, nil)
		_, err := console.SignIn(context.Background(), req, env)
		var fe *console.FederationError
		if !errors.As(err, &fe) || fe.Status != http.StatusOK || fe.Refused() {
			t.Fatalf("answer %s: error %v, want a federation error with status 200", body, err)
		}
		if want := "federation endpoint " + req.FederationURL + "/federation: the answer has no SigninToken"; err.Error() != want {
			t.Errorf("answer %s: error %q, want %q", body, err, want)
		}
	}
}

// TestFederationRedirectToAnotherHost: an endpoint that sends the
// credentials on to another host (here the emulator's real federation
// endpoint, which would issue a token) is not trusted with them: the
// token it gets there is not used.
func TestFederationRedirectToAnotherHost(t *testing.T) {
	w := newWorld(t, "")
	redirect := func(rw http.ResponseWriter, r *http.Request) {
		// 307 keeps the method and the body: the credentials go along.
		http.Redirect(rw, r, w.sts.URL()+"/federation", http.StatusTemporaryRedirect)
	}
	for _, client := range []struct {
		name   string
		client *http.Client
	}{{"rolecall's client", nil}, {"the caller's client", &http.Client{}}} {
		t.Run(client.name, func(t *testing.T) {
			req, env := fakeEndpoint(t, w, redirect, client.client)
			_, err := console.SignIn(context.Background(), req, env)
			var fe *console.FederationError
			if !errors.As(err, &fe) || fe.Refused() {
				t.Fatalf("error %v, want a federation error that is no refusal", err)
			}
			if fe.Reason != "it redirected to another host" {
				t.Errorf("error %q, want it to say the endpoint redirected to another host", err)
			}
		})
	}
	// The caller's client followed the redirect (the emulator issued a
	// token): the check, not the client, kept the token out of a link.
	if len(w.signinCalls()) == 0 {
		t.Error("no client followed the redirect: the test does not test the check")
	}
}

// TestRefusalSaysSessionDuration: a refusal says whether the request
// carried SessionDuration, for the CLI's hint.
func TestRefusalSaysSessionDuration(t *testing.T) {
	for _, d := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint(d), func(t *testing.T) {
			w := newWorld(t, "")
			req := w.request(demo)
			req.Profile, req.ConsoleDuration = "alice", d
			if _, err := console.SignIn(context.Background(), req, w.env(nil)); err != nil {
				t.Fatal(err)
			}
			// Expired on the emulator's clock, fresh in rolecall's cache.
			w.sts.Advance(2 * time.Hour)
			_, err := console.SignIn(context.Background(), req, w.env(nil))
			var fe *console.FederationError
			if !errors.As(err, &fe) || !fe.Refused() || fe.SessionDuration != (d > 0) {
				t.Fatalf("error %#v, want a refusal with SessionDuration %t", err, d > 0)
			}
		})
	}
}

// TestSignInTraceAndClock: the link's expiry comes from the injected
// clock; the trace names the session (its ARN, else the profile it came
// from) and the SessionDuration sent.
func TestSignInTraceAndClock(t *testing.T) {
	fixed := time.Now().Truncate(time.Second)
	tests := []struct {
		name     string
		duration time.Duration
		want     string
	}{
		{"no console duration", 0, "federation: getSigninToken for arn:aws:sts::123456789012:assumed-role/demo/rolecall-tester at %s/federation"},
		{"console duration", 2 * time.Hour, "federation: getSigninToken for arn:aws:sts::123456789012:assumed-role/demo/rolecall-tester at %s/federation (SessionDuration 7200)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "")
			req := w.request(demo)
			req.Profile, req.ConsoleDuration = "alice", tt.duration
			var trace []string
			env := w.env(&trace)
			env.Now = func() time.Time { return fixed }
			link, err := console.SignIn(context.Background(), req, env)
			if err != nil {
				t.Fatal(err)
			}
			if want := fixed.Add(console.SigninTokenLifetime); !link.Expires.Equal(want) {
				t.Errorf("link expires %s, want %s (the injected clock's now + 15m)", link.Expires, want)
			}
			if want := fmt.Sprintf(tt.want, w.sts.URL()); !hasLine(trace, want) {
				t.Errorf("trace %q, want the line %q", trace, want)
			}
		})
	}
}

// TestSignInWithSessionCredentials: temporary credentials of a role
// session (a profile's aws_session_token, as another tool left them) sign
// in as they are: no hop, no STS call, and the trace names the profile.
func TestSignInWithSessionCredentials(t *testing.T) {
	w := newWorld(t, "")
	first := w.request(demo)
	first.Profile = "alice"
	res, err := assume.Obtain(context.Background(), first.Request, w.env(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := res.Credentials
	w.write(filepath.Join(w.home, ".aws", "credentials"), demoCredentials+"[session]\naws_access_key_id = "+c.AccessKeyID+
		"\naws_secret_access_key = "+c.SecretAccessKey+"\naws_session_token = "+c.SessionToken+"\n")
	w.sts.ResetCalls()

	req := w.request()
	req.Profile = "session"
	var trace []string
	link, err := console.SignIn(context.Background(), req, w.env(&trace))
	if err != nil {
		t.Fatal(err)
	}
	var sts []string
	for _, call := range w.sts.Calls() {
		if call.Service != ststest.ServiceSignin {
			sts = append(sts, call.Action)
		}
	}
	if len(sts) != 0 {
		t.Errorf("STS calls %q, want none: the session is used as it is", sts)
	}
	if want := fmt.Sprintf("federation: getSigninToken for session at %s/federation", w.sts.URL()); !hasLine(trace, want) {
		t.Errorf("trace %q, want the line %q", trace, want)
	}
	status, page := follow(t, link.URL)
	if status != http.StatusOK || !strings.Contains(page, "Signed in as assumed-role/demo/rolecall-tester") {
		t.Errorf("the console answered %d %q, want it signed in as the role session", status, page)
	}
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
