package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

const (
	testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	testRole  = "arn:aws:iam::123456789012:role/demo"
	otherRole = "arn:aws:iam::123456789012:role/other"
	// testSecret is what every fake secret and session token contains, so
	// that a log can be searched for it.
	testSecret = "SECRETSECRETSECRET"
)

// clock is a settable credential clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeSTS is a Fetch that issues one-hour credentials on the clock, counts
// its calls, and can be held (a hung STS) or made to fail.
type fakeSTS struct {
	clock    *clock
	life     time.Duration
	calls    atomic.Int32
	hold     chan struct{} // when set, a fetch waits until it is closed
	fail     atomic.Pointer[error]
	mu       sync.Mutex
	minLifes []time.Duration
	roles    []string
}

func newFakeSTS(c *clock) *fakeSTS { return &fakeSTS{clock: c, life: time.Hour} }

func (f *fakeSTS) Fetch(ctx context.Context, role string, minLife time.Duration) (creds.Credentials, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	f.minLifes = append(f.minLifes, minLife)
	f.roles = append(f.roles, role)
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return creds.Credentials{}, ctx.Err()
		}
	}
	if err := f.fail.Load(); err != nil {
		return creds.Credentials{}, *err
	}
	arn := "arn:aws:sts::123456789012:assumed-role/demo/s"
	if role != "" {
		arn = "arn:aws:sts::123456789012:assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/s"
	}
	return creds.Credentials{
		AccessKeyID:     fmt.Sprintf("ASIATEST%012d", n),
		SecretAccessKey: testSecret + "-secret",
		SessionToken:    testSecret + "-token",
		Expiration:      f.clock.Now().Add(f.life),
		AssumedRoleARN:  arn,
	}, nil
}

func (f *fakeSTS) setHold(ch chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hold = ch
}

func (f *fakeSTS) lastMinLife() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.minLifes[len(f.minLifes)-1]
}

// logs collects what the server reports.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) add(prefix string) func(string, ...any) {
	return func(format string, args ...any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+fmt.Sprintf(format, args...))
	}
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// fixture is a server with a fake STS and clock, and a handler to call.
type fixture struct {
	t     testing.TB
	srv   *Server
	sts   *fakeSTS
	clock *clock
	logs  *logs
	addr  *net.TCPAddr
}

func newFixture(t testing.TB, change func(*Options)) *fixture {
	t.Helper()
	c := newClock()
	f := &fixture{t: t, sts: newFakeSTS(c), clock: c, logs: &logs{},
		addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40123}}
	opt := Options{
		Fetch:        f.sts.Fetch,
		DefaultRole:  testRole,
		AllowedRoles: []string{otherRole},
		Token:        testToken,
		Addr:         f.addr,
		Now:          c.Now,
		Logf:         f.logs.add("info: "),
		Warnf:        f.logs.add("warn: "),
	}
	if change != nil {
		change(&opt)
	}
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	f.srv = srv
	return f
}

// get sends a GET for path with the right token and Host, through the
// handler; request builds it, for a test to change first.
func (f *fixture) get(path string) *httptest.ResponseRecorder {
	f.t.Helper()
	return f.do(f.request(path))
}

func (f *fixture) request(path string) *http.Request {
	r := httptest.NewRequestWithContext(f.t.Context(), http.MethodGet, path, nil)
	r.Host = f.addr.String()
	r.Header.Set("Authorization", testToken)
	return r
}

func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w
}

// answer is the credentials answer as a client decodes it.
type answer struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           string
	Expiration      string
	AccountID       string `json:"AccountId"`
	Code, Message   string
}

func decode(t testing.TB, w *httptest.ResponseRecorder) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", w.Code, err, w.Body)
	}
	return a
}

func (f *fixture) wantServed(path string) answer {
	f.t.Helper()
	w := f.get(path)
	if w.Code != http.StatusOK {
		f.t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
	}
	return decode(f.t, w)
}
