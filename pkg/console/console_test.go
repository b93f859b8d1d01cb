package console_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/console"
	"github.com/rolecall/rolecall/pkg/ststest"
)

const (
	demo    = "arn:aws:iam::123456789012:role/demo"
	chained = "arn:aws:iam::123456789012:role/chained"
)

const ssoConfig = "[sso-session corp]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion + "\n" +
	"[profile sso]\nsso_session = corp\nsso_account_id = " + ststest.DemoAccount + "\nsso_role_name = AdministratorAccess\n" +
	"[profile mfa]\nrole_arn = " + "arn:aws:iam::123456789012:role/needs-mfa" + "\nsource_profile = alice\nmfa_serial = " + ststest.DemoMFASerial + "\n"

// TestSignInFlow follows the whole sign-in for every kind of session rolecall
// makes: the link is built as the federation endpoint documents it, the
// emulator's console names the identity the session belongs to, and the
// link works once.
func TestSignInFlow(t *testing.T) {
	tests := []struct {
		name     string
		req      func(w *world) console.Request
		identity string // the console page's "Signed in as ..."
		sts      []string
	}{
		{"role", func(w *world) console.Request { r := w.request(demo); r.Profile = "alice"; return r },
			"assumed-role/demo/rolecall-tester", []string{"AssumeRole"}},
		{"chain", func(w *world) console.Request { r := w.request(demo, chained); r.Profile = "alice"; return r },
			"assumed-role/chained/rolecall-tester", []string{"AssumeRole", "AssumeRole"}},
		{"web identity", func(w *world) console.Request {
			token := filepath.Join(w.home, "token.jwt")
			w.mintToken(token)
			r := w.request("arn:aws:iam::123456789012:role/ci-deploy")
			r.WebIdentity.TokenFile = token
			return r
		}, "assumed-role/ci-deploy/rolecall-tester", []string{"AssumeRoleWithWebIdentity"}},
		{"session policy", func(w *world) console.Request {
			r := w.request(demo)
			r.Profile, r.Policy = "alice", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}`
			return r
		}, "assumed-role/demo/rolecall-tester", []string{"AssumeRole"}},
		{"IAM user keys through GetFederationToken", func(w *world) console.Request { r := w.request(); r.Profile = "alice"; return r },
			"federated-user/alice", []string{"GetCallerIdentity", "GetFederationToken"}},
		{"IAM user keys with a session policy ARN", func(w *world) console.Request {
			r := w.request()
			r.Profile, r.SessionName, r.PolicyARNs = "alice", "alice-readonly", []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
			return r
		}, "federated-user/alice-readonly", []string{"GetFederationToken"}},
		{"Identity Center session", func(w *world) console.Request { w.loginSSO("corp"); r := w.request(); r.Profile = "sso"; return r },
			"assumed-role/AWSReservedSSO_AdministratorAccess_", []string{"GetRoleCredentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ssoConfig)
			req := tt.req(w)
			link, err := console.SignIn(context.Background(), req, w.env(nil))
			if err != nil {
				t.Fatal(err)
			}
			checkLinkFields(t, w, link, req.Destination)
			var got []string
			for _, c := range w.sts.Calls() {
				if c.Service != ststest.ServiceSignin {
					got = append(got, c.Action)
				}
			}
			if !reflect.DeepEqual(got, tt.sts) {
				t.Errorf("STS and portal calls %q, want %q", got, tt.sts)
			}
			calls := w.signinCalls()
			if len(calls) != 1 || calls[0].Action != "getSigninToken" || calls[0].Error != "" || calls[0].Caller != link.Identity && link.Identity != "" {
				t.Fatalf("federation calls %+v, want one getSigninToken by %s", calls, link.Identity)
			}
			if _, ok := calls[0].Params["SessionDuration"]; ok {
				t.Error("SessionDuration sent without --console-duration")
			}
			// The credentials travel in a POST's form body: a URL ends up
			// in proxy and server logs.
			if c := calls[0]; c.Method != http.MethodPost || len(c.QueryKeys) > 0 || c.Params["Session"] == "" {
				t.Errorf("getSigninToken by %s with %q in the URL (Session sent: %t), want a POST with everything in its form body",
					c.Method, c.QueryKeys, c.Params["Session"] != "")
			}

			status, page := follow(t, link.URL)
			if status != http.StatusOK || !strings.Contains(page, "Signed in as "+tt.identity) {
				t.Fatalf("the console answered %d %q, want it signed in as %s", status, page, tt.identity)
			}
			if link.Identity != "" && !strings.Contains(page, "("+link.Identity+")") {
				t.Errorf("the console names another session than the link's %s: %q", link.Identity, page)
			}
			// The link works once.
			if status, _ := follow(t, link.URL); status != http.StatusBadRequest {
				t.Errorf("the link worked twice (%d)", status)
			}
		})
	}
}

// checkLinkFields compares the link with the IAM User Guide's form:
// ENDPOINT?Action=login&Issuer=…&Destination=…&SigninToken=…, nothing else.
func checkLinkFields(t *testing.T, w *world, link console.Link, destination string) {
	t.Helper()
	u, err := url.Parse(link.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != w.sts.URL()+"/federation" {
		t.Errorf("link goes to %s, want the federation endpoint %s/federation", got, w.sts.URL())
	}
	q := u.Query()
	var keys []string
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := []string{"Action", "Destination", "Issuer", "SigninToken"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("link parameters %q, want %q", keys, want)
	}
	if q.Get("Action") != "login" || q.Get("Destination") != destination || q.Get("SigninToken") == "" || len(q["SigninToken"]) != 1 {
		t.Errorf("link parameters %v: want Action=login, Destination=%s and one SigninToken", redactQuery(q), destination)
	}
	if link.Destination != destination {
		t.Errorf("Link.Destination = %q, want %q", link.Destination, destination)
	}
	if left := time.Until(link.Expires); left < 14*time.Minute || left > console.SigninTokenLifetime {
		t.Errorf("the link expires in %s, want 15m", left)
	}
}

func redactQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	out.Set("SigninToken", "x")
	return out
}

// TestConsoleDuration: SessionDuration goes to the federation endpoint for
// a role assumed with long-term keys (with MFA too: then the role is assumed
// with the code itself, with no MFA session token in between, which the
// endpoint would count as temporary credentials), and sets the console
// session's end.
func TestConsoleDuration(t *testing.T) {
	for _, tt := range []struct {
		name string
		role string
		sts  []string
	}{
		{"role from user keys", demo, []string{"AssumeRole"}},
		{"role behind MFA", "mfa", []string{"AssumeRole"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, ssoConfig)
			req := w.request(tt.role)
			if tt.role == demo {
				req.Profile = "alice"
			}
			req.ConsoleDuration = 2 * time.Hour
			link, err := console.SignIn(context.Background(), req, w.env(nil))
			if err != nil {
				t.Fatal(err)
			}
			if got := w.sts.CallCount("GetSessionToken"); got != 0 {
				t.Errorf("%d GetSessionToken calls: a console duration needs the role assumed with the long-term keys", got)
			}
			calls := w.signinCalls()
			if len(calls) != 1 || calls[0].Params["SessionDuration"] != "7200" || calls[0].Error != "" {
				t.Fatalf("federation calls %+v, want getSigninToken with SessionDuration=7200", calls)
			}
			_, page := follow(t, link.URL)
			ends := w.sts.Now().Add(2 * time.Hour).UTC()
			if !strings.Contains(page, "ends at "+ends.Format("2006-01-02T15:04")) && !strings.Contains(page, "ends at "+ends.Add(-time.Minute).Format("2006-01-02T15:04")) {
				t.Errorf("console page %q, want the session to end about %s", page, ends)
			}
		})
	}
}

// TestSignInErrors: every refusal is typed, so that the CLI gives it its
// exit code and hint, and comes before a call where it can.
func TestSignInErrors(t *testing.T) {
	t.Run("console duration for a chained role: refused before any call", func(t *testing.T) {
		w := newWorld(t, ssoConfig)
		req := w.request(demo, chained)
		req.Profile, req.ConsoleDuration = "alice", time.Hour
		_, err := console.SignIn(context.Background(), req, w.env(nil))
		var ue *assume.UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "role chaining") || ue.Hint == "" {
			t.Fatalf("error %v, want a usage error with a hint naming role chaining", err)
		}
		if n := len(w.sts.Calls()); n != 0 {
			t.Errorf("%d calls made before refusing", n)
		}
	})
	t.Run("expired session: the endpoint refuses it", func(t *testing.T) {
		w := newWorld(t, ssoConfig)
		req := w.request(demo)
		req.Profile = "alice"
		if _, err := console.SignIn(context.Background(), req, w.env(nil)); err != nil {
			t.Fatal(err)
		}
		// The session rolecall cached expires on the emulator's clock while
		// rolecall's own still holds it fresh (a revoked session looks the same).
		w.sts.Advance(2 * time.Hour)
		_, err := console.SignIn(context.Background(), req, w.env(nil))
		var fe *console.FederationError
		if !errors.As(err, &fe) || !fe.Refused() || fe.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "Invalid credentials parameter") {
			t.Fatalf("error %v, want the federation endpoint's refusal", err)
		}
		calls := w.signinCalls()
		if last := calls[len(calls)-1]; last.Error != "ExpiredSession" {
			t.Errorf("the endpoint refused with %q, want ExpiredSession", last.Error)
		}
		req.Refresh = true
		link, err := console.SignIn(context.Background(), req, w.env(nil))
		if err != nil {
			t.Fatalf("--refresh: %v", err)
		}
		if status, _ := follow(t, link.URL); status != http.StatusOK {
			t.Errorf("the refreshed link answered %d", status)
		}
	})
	t.Run("flags are checked before any call", func(t *testing.T) {
		w := newWorld(t, ssoConfig)
		for _, mutate := range []func(*console.Request){
			func(r *console.Request) { r.Service, r.Destination = "s3", "https://console.aws.amazon.com/" },
			func(r *console.Request) { r.Destination = "javascript:alert(1)" },
			func(r *console.Request) { r.Destination, r.Service = "", "S3 Buckets" },
			func(r *console.Request) { r.FederationURL = "ftp://example.com" },
		} {
			req := w.request(demo)
			req.Profile = "alice"
			mutate(&req)
			_, err := console.SignIn(context.Background(), req, w.env(nil))
			var ue *assume.UsageError
			if !errors.As(err, &ue) {
				t.Errorf("%+v: error %v, want a usage error", req, err)
			}
		}
		if n := len(w.sts.Calls()); n != 0 {
			t.Errorf("%d calls made before refusing", n)
		}
	})
}

// TestFederationCallIsBounded: the federation call ends with --timeout,
// and an answer is read only up to its cap.
func TestFederationCallIsBounded(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, err error, took time.Duration)
	}{
		{"hangs", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client leave
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, func(t *testing.T, err error, took time.Duration) {
			var fe *console.FederationError
			if !errors.As(err, &fe) || fe.Status != 0 || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v, want a federation error that timed out", err)
			}
			if took > 30*time.Second { // generous: without the timeout it hangs
				t.Errorf("hung: took %s with --timeout 500ms", took)
			}
		}},
		{"answers without end", func(w http.ResponseWriter, _ *http.Request) {
			chunk := []byte(strings.Repeat("x", 64<<10))
			for range 1 << 10 { // 64 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, func(t *testing.T, err error, _ time.Duration) {
			var fe *console.FederationError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), "larger than") {
				t.Errorf("error %v, want the answer refused as too large", err)
			}
		}},
		{"refuses with a page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprint(w, "<html><head><title>Invalid\n credentials parameter</title></head><body>\x1b[31m</body></html>")
		}, func(t *testing.T, err error, _ time.Duration) {
			var fe *console.FederationError
			if !errors.As(err, &fe) || !fe.Refused() || fe.Reason != "Invalid credentials parameter" {
				t.Errorf("error %v, want the refusal with the page's title", err)
			}
		}},
		{"answers no token", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = fmt.Fprint(w, `{"SigninToken": ""}`)
		}, func(t *testing.T, err error, _ time.Duration) {
			var fe *console.FederationError
			if !errors.As(err, &fe) || fe.Refused() || !strings.Contains(err.Error(), "no SigninToken") {
				t.Errorf("error %v, want an answer without a token", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			t.Cleanup(srv.CloseClientConnections)
			w := newWorld(t, "")
			req := w.request(demo)
			req.Profile, req.FederationURL = "alice", srv.URL
			req.Timeout = 500 * time.Millisecond
			start := time.Now()
			_, err := console.SignIn(context.Background(), req, w.env(nil))
			tt.check(t, err, time.Since(start))
		})
	}
}

// TestLinkNeverPrintsItsToken: the link is a credential; every fmt verb and
// the trace show it redacted.
func TestLinkNeverPrintsItsToken(t *testing.T) {
	w := newWorld(t, "")
	req := w.request(demo)
	req.Profile = "alice"
	var trace []string
	link, err := console.SignIn(context.Background(), req, w.env(&trace))
	if err != nil {
		t.Fatal(err)
	}
	token := mustQuery(t, link.URL).Get("SigninToken")
	printed := fmt.Sprintf("%v %+v %#v %s %q", link, link, link, link, link) + fmt.Sprint(link) + strings.Join(trace, "\n")
	if strings.Contains(printed, token) {
		t.Fatalf("the sign-in token was printed: %s", printed)
	}
	for _, secret := range w.sts.IssuedSecrets() {
		if strings.Contains(strings.Join(trace, "\n"), secret) {
			t.Fatal("the trace holds a secret")
		}
	}
	if !strings.Contains(printed, "SigninToken=REDACTED") {
		t.Errorf("the redacted link does not say it was redacted: %s", printed)
	}
}

func mustQuery(t *testing.T, link string) url.Values {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestEndpointsPerPartition: where the sign-in and the console are, by
// partition and region.
func TestEndpointsPerPartition(t *testing.T) {
	tests := []struct {
		partition, region, service string
		federation, destination    string
	}{
		{"aws", "", "", "https://signin.aws.amazon.com/federation", "https://console.aws.amazon.com/console/home"},
		{"aws", "us-east-1", "s3", "https://signin.aws.amazon.com/federation", "https://us-east-1.console.aws.amazon.com/s3/home?region=us-east-1"},
		{"aws", "eu-west-1", "", "https://eu-west-1.signin.aws.amazon.com/federation", "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"},
		{"aws", "ap-southeast-2", "codesuite/codecommit", "https://ap-southeast-2.signin.aws.amazon.com/federation", "https://ap-southeast-2.console.aws.amazon.com/codesuite/codecommit/home?region=ap-southeast-2"},
		{"aws-cn", "", "", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home"},
		{"aws-cn", "cn-northwest-1", "ec2", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/ec2/home?region=cn-northwest-1"},
		{"aws-us-gov", "us-gov-east-1", "iam", "https://signin.amazonaws-us-gov.com/federation", "https://console.amazonaws-us-gov.com/iam/home?region=us-gov-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.partition+"/"+tt.region+"/"+tt.service, func(t *testing.T) {
			if got := console.FederationEndpoint(tt.partition, tt.region); got != tt.federation {
				t.Errorf("FederationEndpoint = %s, want %s", got, tt.federation)
			}
			if got := console.Destination(tt.partition, tt.region, tt.service); got != tt.destination {
				t.Errorf("Destination = %s, want %s", got, tt.destination)
			}
		})
	}
	for _, tt := range []struct {
		region string
		arns   []string
		want   string
	}{
		{"", []string{"arn:aws-cn:sts::123456789012:assumed-role/r/s"}, "aws-cn"},
		{"eu-west-1", []string{"", "arn:aws-us-gov:iam::123456789012:role/r"}, "aws-us-gov"},
		{"cn-north-1", nil, "aws-cn"},
		{"us-gov-west-1", []string{"not an arn"}, "aws-us-gov"},
		{"", nil, "aws"},
	} {
		if got := console.PartitionOf(tt.region, tt.arns...); got != tt.want {
			t.Errorf("PartitionOf(%q, %q) = %s, want %s", tt.region, tt.arns, got, tt.want)
		}
	}
}

// TestFederationEndpointOverride: --federation-url over
// AWS_ENDPOINT_URL_SIGNIN over the partition's, regional with a region.
func TestFederationEndpointOverride(t *testing.T) {
	w := newWorld(t, "")
	other := ststest.NewServer(testConfig())
	t.Cleanup(other.Close)
	req := w.request(demo)
	req.Profile = "alice"
	req.FederationURL = w.sts.URL() + "/"
	w.vars[console.EndpointEnv] = other.URL()
	link, err := console.SignIn(context.Background(), req, w.env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link.URL, w.sts.URL()+"/federation?") {
		t.Errorf("link %s, want --federation-url's endpoint with /federation added", link)
	}
	if n := len(other.Calls()); n != 0 {
		t.Errorf("AWS_ENDPOINT_URL_SIGNIN's endpoint got %d calls despite --federation-url", n)
	}
	// With the override ignored, the partition's regional endpoint is
	// called: a client that lets only loopback through records it.
	req.FederationURL = ""
	w.vars["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true"
	req.EndpointURL = w.sts.URL() // the flag still places the STS calls
	req.Region = "eu-west-1"
	env := w.env(nil)
	client := &loopbackOnly{}
	env.HTTPClient = client
	_, err = console.SignIn(context.Background(), req, env)
	if want := "https://eu-west-1.signin.aws.amazon.com/federation"; err == nil || client.refused != want {
		t.Errorf("error %v, refused %q: want the call to go to %s", err, client.refused, want)
	}
	if len(other.Calls()) != 0 {
		t.Error("the ignored endpoint was called")
	}
}

// loopbackOnly passes requests to loopback hosts and refuses (and records)
// any other, so that no test reaches the network.
type loopbackOnly struct{ refused string }

func (c *loopbackOnly) Do(req *http.Request) (*http.Response, error) {
	if host := req.URL.Hostname(); host != "127.0.0.1" && host != "localhost" {
		c.refused = req.URL.String()
		return nil, errors.New("not on loopback")
	}
	return http.DefaultClient.Do(req)
}
