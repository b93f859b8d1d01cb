package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/rolecall/rolecall/pkg/creds"
)

func TestServesTheContainerCredentialsAnswer(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	w := f.get("/")
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	a := decode(t, w)
	if a.AccessKeyID != "ASIATEST000000000001" || a.SecretAccessKey == "" || a.Token == "" || a.AccountID != "123456789012" {
		t.Errorf("answer %+v", a)
	}
	// RFC 3339 in UTC with a Z: the JavaScript SDK accepts nothing else.
	if want := f.clock.Now().Add(time.Hour).Format("2006-01-02T15:04:05Z"); a.Expiration != want {
		t.Errorf("Expiration %q, want %q", a.Expiration, want)
	}
	h := w.Header()
	if h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", h)
	}
	for name := range h {
		if strings.HasPrefix(strings.ToLower(name), "access-control-") {
			t.Errorf("CORS header %s sent", name)
		}
	}
	if strings.Contains(f.logs.String(), testSecret) || strings.Contains(f.logs.String(), testToken) {
		t.Errorf("a secret in the log:\n%s", f.logs)
	}
	if !regexp.MustCompile(`GET /: arn:aws:iam::123456789012:role/demo, expires in 1h0m0s`).MatchString(f.logs.String()) {
		t.Errorf("no request line naming route, role and lifetime:\n%s", f.logs)
	}
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1 (the warm one)", n)
	}
}

// TestRefusals: what is not a credentials request from this endpoint's
// client is refused with a JSON reason, and said on stderr without the
// token.
func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		change func(*http.Request)
		status int
		code   string
	}{
		{"no token", func(r *http.Request) { r.Header.Del("Authorization") }, 401, "MissingAuthorization"},
		{"empty token", func(r *http.Request) { r.Header.Set("Authorization", "") }, 401, "MissingAuthorization"},
		{"wrong token", func(r *http.Request) { r.Header.Set("Authorization", strings.Repeat("f", 64)) }, 403, "InvalidAuthorization"},
		{"token prefix", func(r *http.Request) { r.Header.Set("Authorization", testToken[:63]) }, 403, "InvalidAuthorization"},
		{"bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+testToken) }, 403, "InvalidAuthorization"},
		{"two tokens", func(r *http.Request) { r.Header.Add("Authorization", "x") }, 403, "InvalidAuthorization"},
		{"rebound name", func(r *http.Request) { r.Host = "attacker.example:40123" }, 403, "InvalidHost"},
		{"localhost.attacker", func(r *http.Request) { r.Host = "localhost.attacker.example:40123" }, 403, "InvalidHost"},
		{"other port", func(r *http.Request) { r.Host = "127.0.0.1:1" }, 403, "InvalidHost"},
		{"other address", func(r *http.Request) { r.Host = "127.0.0.2:40123" }, 403, "InvalidHost"},
		{"POST", func(r *http.Request) { r.Method = http.MethodPost }, 405, "MethodNotAllowed"},
		{"CORS preflight", func(r *http.Request) {
			r.Method = http.MethodOptions
			r.Header.Set("Origin", "http://attacker.example")
		}, 405, "MethodNotAllowed"},
		{"HEAD", func(r *http.Request) { r.Method = http.MethodHead }, 405, "MethodNotAllowed"},
		{"body", func(r *http.Request) { r.ContentLength = 5; r.Body = http.NoBody }, 413, "BodyNotAllowed"},
		{"chunked body", func(r *http.Request) { r.TransferEncoding = []string{"chunked"} }, 413, "BodyNotAllowed"},
		{"unknown path", func(r *http.Request) { r.URL.Path = "/latest/meta-data/" }, 404, "NotFound"},
		{"role not allowed", func(r *http.Request) { r.URL.Path = "/role-arn/arn:aws:iam::123456789012:role/admin" }, 404, "NotFound"},
		{"empty role", func(r *http.Request) { r.URL.Path = "/role-arn/" }, 404, "NotFound"},
		{"allowed role with a suffix", func(r *http.Request) { r.URL.Path = "/role-arn/" + otherRole + "/x" }, 404, "NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			r := f.request("/")
			tt.change(r)
			w := f.do(r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q, want exactly application/json (the Go SDK decodes nothing else)", w.Header().Get("Content-Type"))
			}
			a := decode(t, w)
			if a.Code != tt.code || a.Message == "" {
				t.Errorf("body %s, want Code %s and a Message", w.Body, tt.code)
			}
			if tt.status == 405 && w.Header().Get("Allow") != "GET" {
				t.Errorf("Allow %q", w.Header().Get("Allow"))
			}
			if n := f.sts.calls.Load(); n != 0 {
				t.Errorf("a refused request fetched credentials %d times", n)
			}
			log := f.logs.String()
			if !strings.Contains(log, "warn: serve: refused") || strings.Contains(log, testToken) {
				t.Errorf("refusal not reported, or reported with the token:\n%s", log)
			}
		})
	}
}

// TestRefusalLinesAreBounded: a client retrying with a wrong token cannot
// fill the terminal; the lines left out are counted.
func TestRefusalLinesAreBounded(t *testing.T) {
	f := newFixture(t, nil)
	for range 200 {
		r := f.request("/")
		r.Header.Set("Authorization", "wrong")
		if w := f.do(r); w.Code != 403 {
			t.Fatalf("status %d", w.Code)
		}
	}
	lines := strings.Count(f.logs.String(), "\n") + 1
	if lines > refusalLogBurst+2 {
		t.Errorf("%d lines for 200 refusals", lines)
	}
	f.srv.refusals = rate.NewLimiter(rate.Inf, 1) // time passes
	r := f.request("/")
	r.Header.Del("Authorization")
	f.do(r)
	if !strings.Contains(f.logs.String(), "more refused requests not shown") {
		t.Errorf("the refusals left out are not counted:\n%s", f.logs)
	}
}

// TestRefusalLinesCountThoseLeftOut: a refusal line after lines left
// out (refusals past the bound, and 429s, which are never a line) says
// exactly how many; one with none left out says nothing of them.
func TestRefusalLinesCountThoseLeftOut(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RequestRate, o.RequestBurst = 1, 1 })
	f.srv.refusals = rate.NewLimiter(0, 1) // one line, then none
	refuse := func() {
		t.Helper()
		r := f.request("/")
		r.Header.Del("Authorization")
		if w := f.do(r); w.Code != http.StatusUnauthorized {
			t.Fatalf("without the token: %d %s", w.Code, w.Body)
		}
	}
	refuse()
	refuse() // left out
	f.wantServed("/")
	for range 2 {
		// The clock stands still: the rate's one token is spent.
		if w := f.get("/"); w.Code != http.StatusTooManyRequests {
			t.Fatalf("past the rate: %d %s", w.Code, w.Body)
		}
	}
	f.srv.refusals = rate.NewLimiter(rate.Inf, 1) // time passes
	refuse()
	refuse()
	var refused []string
	for _, l := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(l, "serve: refused") {
			refused = append(refused, l)
		}
	}
	want := []string{"", " (3 more refused requests not shown)", ""}
	if len(refused) != len(want) {
		t.Fatalf("%d refusal lines, want %d:\n%s", len(refused), len(want), f.logs)
	}
	for i, l := range refused {
		_, got, _ := strings.Cut(l, "401 "+missingTokenMessage)
		if got != want[i] {
			t.Errorf("refusal line %d ends %q after the reason, want %q", i+1, got, want[i])
		}
	}
}

// TestRefusalLinesClipWhatTheClientSent: a path of 200 bytes is shown
// whole, a longer one cut there with an ellipsis.
func TestRefusalLinesClipWhatTheClientSent(t *testing.T) {
	for _, n := range []int{199, 200, 201} {
		f := newFixture(t, nil)
		path := "/" + strings.Repeat("p", n-1)
		r := f.request(path)
		r.Header.Del("Authorization")
		f.do(r)
		want := `"` + path + `"`
		if n > 200 {
			want = `"` + path[:200] + `…"`
		}
		if !strings.Contains(f.logs.String(), " refused GET "+want+" from ") {
			t.Errorf("a path of %d bytes: the refusal line does not show %s:\n%s", n, want, f.logs)
		}
	}
}

func TestHostAllowed(t *testing.T) {
	tests := []struct {
		listen string
		host   string
		want   bool
	}{
		{"127.0.0.1:9911", "127.0.0.1:9911", true},
		{"127.0.0.1:9911", "localhost:9911", true},
		{"127.0.0.1:9911", "LOCALHOST:9911", true},
		{"127.0.0.1:9911", "127.0.0.1", false},
		{"127.0.0.1:9911", "127.0.0.1:9912", false},
		{"127.0.0.1:9911", "evil.example:9911", false},
		{"127.0.0.1:9911", "[::1]:9911", false},
		{"[::1]:9911", "[::1]:9911", true},
		{"[::1]:9911", "localhost:9911", true},
		{"169.254.170.2:80", "169.254.170.2", true},
		{"169.254.170.2:80", "169.254.170.2:80", true},
		{"169.254.170.2:80", "localhost", false},
		{"[fd00:ec2::23]:80", "[fd00:ec2::23]", true},
		{"0.0.0.0:9911", "192.0.2.7:9911", true},
		{"0.0.0.0:9911", "localhost:9911", true},
		{"0.0.0.0:9911", "host.docker.internal:9911", false},
		{"192.0.2.7:9911", "192.0.2.7:9911", true},
		{"192.0.2.7:9911", "localhost:9911", false},
		{"127.0.0.1:9911", "", false},
	}
	for _, tt := range tests {
		addr, err := net.ResolveTCPAddr("tcp", tt.listen)
		if err != nil {
			t.Fatal(err)
		}
		s := &Server{opt: Options{Addr: addr}}
		if got := s.hostAllowed(tt.host); got != tt.want {
			t.Errorf("listening on %s, Host %q allowed = %v, want %v", tt.listen, tt.host, got, tt.want)
		}
	}
}

// TestRoleRoutes: an allowed ARN is fetched on first use, for that role;
// no other ARN ever reaches Fetch.
func TestRoleRoutes(t *testing.T) {
	f := newFixture(t, nil)
	a := f.wantServed("/role-arn/" + otherRole)
	if !strings.HasSuffix(a.AccessKeyID, "1") || f.sts.roles[0] != otherRole {
		t.Errorf("fetched %v for the role route", f.sts.roles)
	}
	f.wantServed("/role-arn/" + otherRole)
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("%d fetches for two requests, want 1", n)
	}
	if w := f.get("/role-arn/arn:aws:iam::123456789012:role/admin"); w.Code != 404 {
		t.Errorf("an ARN not allowed: %d", w.Code)
	}
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("an ARN not allowed was fetched")
	}
}

func TestNoDefaultRoute(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.DefaultRole = "" })
	w := f.get("/")
	if w.Code != 404 || !strings.Contains(decode(t, w).Message, "no default role") {
		t.Errorf("%d %s", w.Code, w.Body)
	}
	if _, err := New(Options{Fetch: f.sts.Fetch, Token: testToken}); err == nil {
		t.Error("a server with nothing to serve was made")
	}
}

// TestBackgroundRefreshBeforeTheWindow: credentials are replaced in the
// background before they come within the refresh window, so that requests
// are answered from memory throughout, and the refresh asks for more life
// than the credentials in hand have.
func TestBackgroundRefreshBeforeTheWindow(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	first := f.wantServed("/").AccessKeyID

	// 39 minutes in: 21 minutes left, more than window + lead (20m).
	f.clock.Advance(39 * time.Minute)
	f.srv.RefreshDue()
	f.srv.Wait()
	if n := f.sts.calls.Load(); n != 1 {
		t.Fatalf("refreshed with 21m left: %d fetches", n)
	}
	// 41 minutes in: 19 minutes left: due.
	f.clock.Advance(2 * time.Minute)
	f.srv.RefreshDue()
	f.srv.Wait()
	if n := f.sts.calls.Load(); n != 2 {
		t.Fatalf("not refreshed with 19m left: %d fetches", n)
	}
	if got := f.sts.lastMinLife(); got != DefaultRefreshWindow+DefaultRefreshLead {
		t.Errorf("the refresh asked for %s of life, want window + lead", got)
	}
	second := f.wantServed("/").AccessKeyID
	if second == first {
		t.Error("the refreshed credentials are not served")
	}
	if n := f.sts.calls.Load(); n != 2 {
		t.Errorf("a request waited on a fetch: %d fetches", n)
	}
	if !strings.Contains(f.logs.String(), "refreshed in") {
		t.Errorf("no refresh line:\n%s", f.logs)
	}
}

// TestStaleCredentialsAreNotServed: past the refresh window a request
// fetches (one fetch however many ask) rather than serve credentials an
// SDK would take for expired.
func TestStaleCredentialsAreNotServed(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(50 * time.Minute) // 10m left: within the window
	a := f.wantServed("/")
	if a.AccessKeyID != "ASIATEST000000000002" {
		t.Errorf("served %s, want the second credentials", a.AccessKeyID)
	}
	if got := f.sts.lastMinLife(); got != DefaultRefreshWindow {
		t.Errorf("a request's fetch asked for %s, want the window", got)
	}
}

// TestServedUntilTheWindow: credentials in hand are served while more than
// the refresh window is left of them, on the server's clock, and not once
// exactly the window is left: then a request fetches.
func TestServedUntilTheWindow(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour - DefaultRefreshWindow - time.Nanosecond)
	if a := f.wantServed("/"); a.AccessKeyID != "ASIATEST000000000001" {
		t.Errorf("with the window and a nanosecond left: served %s, want the credentials in hand", a.AccessKeyID)
	}
	f.clock.Advance(time.Nanosecond)
	if a := f.wantServed("/"); a.AccessKeyID != "ASIATEST000000000002" {
		t.Errorf("with exactly the window left: served %s, want new credentials", a.AccessKeyID)
	}
	if n := f.sts.calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2 (warm, one)", n)
	}
}

// TestOneFetchForConcurrentColdRequests: a thousand requests for a route
// with nothing in hand make one fetch, and all get its credentials. The
// fetch is held until every request waits for it.
func TestOneFetchForConcurrentColdRequests(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxWait = time.Hour })
	hold := make(chan struct{})
	f.sts.setHold(hold)
	const n = 1000
	var waiting atomic.Int32
	f.srv.routes[""].joined = func() {
		if waiting.Add(1) == n {
			close(hold)
		}
	}
	var wg sync.WaitGroup
	codes := make([]int, n)
	keys := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := f.get("/")
			codes[i] = w.Code
			if w.Code == 200 {
				keys[i] = decode(t, w).AccessKeyID
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 200 || keys[i] != keys[0] {
			t.Fatalf("request %d: %d %s", i, codes[i], keys[i])
		}
	}
	if c := f.sts.calls.Load(); c != 1 {
		t.Errorf("%d fetches for %d concurrent cold requests, want 1", c, n)
	}
}

// TestHungFetch: a request waits MaxWait, then is told what rolecall waits
// for (503, Retry-After) while the fetch goes on; the next request gets
// its result.
func TestHungFetch(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.MaxWait = 50 * time.Millisecond
		o.Waiting = func() string { return "an MFA code for X is awaited on rolecall's terminal" }
	})
	hold := make(chan struct{})
	f.sts.setHold(hold)
	w := f.get("/")
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("%d %v %s", w.Code, w.Header(), w.Body)
	}
	a := decode(t, w)
	if a.Code != "CredentialsPending" || !strings.Contains(a.Message, "still getting credentials for "+testRole) ||
		!strings.Contains(a.Message, "MFA code for X") {
		t.Errorf("answer %+v", a)
	}
	close(hold)
	f.srv.Wait()
	f.wantServed("/")
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want the one that was held", n)
	}
}

// TestFetchFailure: the failure is answered as Describe says, held for a
// second so that retrying clients do not each start a fetch, and the
// background backs off.
func TestFetchFailure(t *testing.T) {
	refused := errors.New("STS said no")
	f := newFixture(t, func(o *Options) {
		o.Describe = func(err error) Failure {
			return Failure{Status: http.StatusForbidden, Code: "CredentialsRefused", Message: "rolecall: " + err.Error()}
		}
	})
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	f.sts.fail.Store(&refused)
	f.clock.Advance(50 * time.Minute)
	for range 3 {
		w := f.get("/")
		if w.Code != http.StatusForbidden || decode(t, w).Message != "rolecall: STS said no" {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	if n := f.sts.calls.Load(); n != 2 {
		t.Errorf("%d fetches for 3 requests within a second of a failure, want 2 (warm, one)", n)
	}
	// The background waits 1s after one failure, on the credential clock.
	f.srv.RefreshDue()
	f.srv.Wait()
	if n := f.sts.calls.Load(); n != 2 {
		t.Errorf("background retried at once: %d", n)
	}
	f.clock.Advance(time.Second)
	f.srv.RefreshDue()
	f.srv.Wait()
	if n := f.sts.calls.Load(); n != 3 {
		t.Errorf("background did not retry after its backoff: %d", n)
	}
	if !strings.Contains(f.logs.String(), "getting new credentials failed (attempt 2; next try in 2s)") {
		t.Errorf("no backoff line:\n%s", f.logs)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 7: time.Minute, 100: time.Minute} {
		if got := backoff(n); got != want {
			t.Errorf("backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// TestShortLivedAndLongTerm: credentials that would never be served, or
// must never be, fail at Warm.
func TestShortLivedAndLongTerm(t *testing.T) {
	f := newFixture(t, nil)
	f.sts.life = 15 * time.Minute
	var short *ShortLivedError
	if _, err := f.srv.Warm(t.Context(), ""); !errors.As(err, &short) {
		t.Errorf("15-minute credentials with a 15-minute window: %v", err)
	}
	f2 := newFixture(t, func(o *Options) {
		o.Fetch = func(context.Context, string, time.Duration) (c creds.Credentials, err error) {
			c.AccessKeyID, c.SecretAccessKey = "AKIALONGTERM", "x"
			return c, nil
		}
	})
	if _, err := f2.srv.Warm(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "only temporary credentials") {
		t.Errorf("long-term keys: %v", err)
	}
}

// TestShortSessionLead: a 20-minute session with a 15-minute window is
// served for a while before its refresh: the lead is at most half of what
// is left past the window.
func TestShortSessionLead(t *testing.T) {
	f := newFixture(t, nil)
	f.sts.life = 20 * time.Minute
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute) // 18m left: not yet due (due at 17.5m)
	f.srv.RefreshDue()
	f.srv.Wait()
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("refreshed at once: %d fetches", n)
	}
	f.clock.Advance(time.Minute)
	f.srv.RefreshDue()
	f.srv.Wait()
	if n := f.sts.calls.Load(); n != 2 {
		t.Errorf("not refreshed: %d fetches", n)
	}
}

// TestRequestRateBounded: past the burst, requests are answered 429.
func TestRequestRateBounded(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for range DefaultRequestBurst + 100 {
		if f.get("/").Code == http.StatusTooManyRequests {
			throttled++
		}
	}
	if throttled == 0 {
		t.Error("no request was throttled")
	}
}

func TestNewToken(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if len(a) != 64 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("tokens %q %q", a, b)
	}
}
