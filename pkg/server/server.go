package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/rolecall/rolecall/pkg/creds"
)

// Defaults for the zero values of Options.
const (
	DefaultRefreshWindow = 15 * time.Minute
	// DefaultRefreshLead is how long before the refresh window the
	// background refresh starts: time enough for STS to answer (with
	// retries) before the credentials in hand stop being served.
	DefaultRefreshLead = 5 * time.Minute
	// DefaultMaxWait is how long a request waits for credentials being
	// fetched: under the JavaScript SDK's 1 s and botocore's 2 s, so the
	// client reads rolecall's reason rather than its own timeout.
	DefaultMaxWait = 900 * time.Millisecond
	// DefaultFetchTimeout bounds one fetch, prompts and retries included.
	DefaultFetchTimeout = time.Minute
	// DefaultPoll is how often the background refresher looks at the
	// wall clock. Polling rather than a timer set for the due time: a
	// timer runs on the monotonic clock, which stands still while a laptop
	// sleeps, and would fire late after it wakes.
	DefaultPoll = time.Second

	// maxHeaderBytes bounds a request's line and headers: an SDK sends a
	// few hundred bytes. net/http reads up to http.Server.MaxHeaderBytes
	// plus 4,096 bytes of slack, so the server is given the difference.
	maxHeaderBytes = 8 << 10
	// headerSlack is what net/http reads beyond MaxHeaderBytes
	// (initialReadLimitSize's "bufio slop").
	headerSlack = 4096
	// maxPendingConns bounds the connections that have not shown the
	// token (see conns.go): the oldest is closed to make room for a new
	// one. pendingTimeout is how long one has to send its request line
	// and headers; an SDK sends them at once.
	maxPendingConns = 1024
	pendingTimeout  = 2 * time.Second
	// maxTrustedConns bounds the connections that showed the token; more
	// wait in the kernel's backlog. Connections are not kept alive (see
	// Serve), so a slot is held only while a request is answered: a
	// thousand clients at once are served in a few rounds, in bounded
	// memory.
	maxTrustedConns = 256
	// DefaultRequestRate and DefaultRequestBurst bound requests a second:
	// far above what SDKs need (one fetch per process and hour; a build
	// starting a thousand processes at once is the burst), low enough that
	// a runaway loop cannot flood stderr with request lines.
	DefaultRequestRate  = 1000
	DefaultRequestBurst = 2000
	// refusalLogRate bounds the lines about refused requests.
	refusalLogRate  = 5
	refusalLogBurst = 20
	// maxBackoff caps the pause between fetches that fail.
	maxBackoff = time.Minute
)

// Fetch gets credentials for a route: role is "" for the default route,
// else one of Options.AllowedRoles. They must have more than minLife left:
// from the cache when it holds such, else anew from STS.
type Fetch func(ctx context.Context, role string, minLife time.Duration) (creds.Credentials, error)

// Failure is how an error is answered to a client.
type Failure struct {
	Status  int
	Code    string
	Message string
}

// Options configure a Server. Fetch and Token are required.
type Options struct {
	Fetch Fetch
	// DefaultRole names what "/" serves, for the request log; empty means
	// "/" serves nothing (only /role-arn/ routes).
	DefaultRole string
	// AllowedRoles are the role ARNs a client may ask for at
	// /role-arn/ARN, exactly as written.
	AllowedRoles []string
	// Token is what the Authorization header must hold.
	Token string
	// Addr is the address the listener is bound to; it decides which Host
	// headers are accepted. Serve fills it in from its listener.
	Addr *net.TCPAddr

	// RefreshWindow is what must be left of credentials for them to be
	// served; 0 means DefaultRefreshWindow, and a negative value none
	// (served until they expire: the SDKs then fetch again at each call
	// once within their own window).
	RefreshWindow time.Duration
	RefreshLead   time.Duration
	MaxWait       time.Duration
	FetchTimeout  time.Duration
	Poll          time.Duration
	// RequestRate and RequestBurst bound requests (rate.Inf: unbounded).
	RequestRate  rate.Limit
	RequestBurst int

	// Now is the clock that decides freshness; nil means time.Now.
	Now func() time.Time
	// Logf receives one line per request and per refresh; Warnf refused
	// requests and failed refreshes. Neither ever receives a secret.
	Logf  func(format string, args ...any)
	Warnf func(format string, args ...any)
	// Describe turns a fetch error into an answer; nil answers 500 with
	// the error's text.
	Describe func(error) Failure
	// Waiting, when set, says what a fetch still running waits for (an
	// MFA code on rolecall's terminal), for the 503 answer; "" if nothing
	// in particular.
	Waiting func() string
}

// Server is the endpoint. Its methods are safe for concurrent use.
type Server struct {
	opt        Options
	routes     map[string]*route // "" and each allowed ARN
	limiter    *rate.Limiter
	refusals   *rate.Limiter
	mu         sync.Mutex
	suppressed int // refusal lines not logged since the last one

	// maxPending, headerTimeout and evictAfter are maxPendingConns,
	// pendingTimeout and evictAfter; tests change them. shutdownGrace is
	// how long Serve lets requests in flight finish once its context
	// ends: a field so that a test of what outlasts it need not wait for it.
	maxPending    int
	headerTimeout time.Duration
	evictAfter    time.Duration
	shutdownGrace time.Duration
	guard         atomic.Pointer[connGuard] // set by Serve

	ctx    context.Context // ends fetches when the server stops
	cancel context.CancelFunc
}

// NewToken returns a random 256-bit token, hex-encoded: safe in every
// shell, dotenv and HTTP header.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// New returns a Server; it serves nothing until Warm or a request fetches.
func New(opt Options) (*Server, error) {
	if opt.Fetch == nil || opt.Token == "" {
		return nil, errors.New("server: Fetch and Token are required")
	}
	if opt.DefaultRole == "" && len(opt.AllowedRoles) == 0 {
		return nil, errors.New("server: nothing to serve: no default role and no allowed role")
	}
	switch {
	case opt.RefreshWindow < 0:
		opt.RefreshWindow = 0 // from here on, 0 is none
	case opt.RefreshWindow == 0:
		opt.RefreshWindow = DefaultRefreshWindow
	}
	setDefault(&opt.RefreshLead, DefaultRefreshLead)
	setDefault(&opt.MaxWait, DefaultMaxWait)
	setDefault(&opt.FetchTimeout, DefaultFetchTimeout)
	setDefault(&opt.Poll, DefaultPoll)
	if opt.RequestRate == 0 {
		opt.RequestRate, opt.RequestBurst = DefaultRequestRate, DefaultRequestBurst
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logf == nil {
		opt.Logf = func(string, ...any) {}
	}
	if opt.Warnf == nil {
		opt.Warnf = func(string, ...any) {}
	}
	s := &Server{
		opt:      opt,
		routes:   map[string]*route{},
		limiter:  rate.NewLimiter(opt.RequestRate, opt.RequestBurst),
		refusals: rate.NewLimiter(refusalLogRate, refusalLogBurst),

		maxPending:    maxPendingConns,
		headerTimeout: pendingTimeout,
		evictAfter:    evictAfter,
		shutdownGrace: 3 * time.Second,
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if opt.DefaultRole != "" {
		s.routes[""] = &route{s: s, label: opt.DefaultRole}
	}
	for _, arn := range opt.AllowedRoles {
		s.routes[arn] = &route{s: s, role: arn, label: arn}
	}
	return s, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Warm fetches the credentials of route role ("" for the default route)
// now, under ctx: at start, where a prompt for an MFA code belongs and a
// failure should stop rolecall before anything relies on the endpoint.
func (s *Server) Warm(ctx context.Context, role string) (creds.Credentials, error) {
	rt, ok := s.routes[role]
	if !ok {
		return creds.Credentials{}, fmt.Errorf("server: no route for %q", role)
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.FetchTimeout)
	defer cancel()
	c, err := s.opt.Fetch(ctx, role, s.opt.RefreshWindow)
	if err != nil {
		return c, err
	}
	sv, err := s.newServed(c)
	if err != nil {
		return c, err
	}
	rt.current.Store(sv)
	return c, nil
}

// ShortLivedError is credentials that would never be served: they have no
// more than the refresh window left when they arrive.
type ShortLivedError struct {
	Left, Window time.Duration
}

func (e *ShortLivedError) Error() string {
	return fmt.Sprintf("the credentials have %s left when they arrive, no more than the refresh window (%s): the endpoint would never serve them",
		e.Left.Round(time.Second), e.Window)
}

// newServed checks c and encodes its answer once, so a request only writes
// bytes.
func (s *Server) newServed(c creds.Credentials) (*served, error) {
	if c.Expiration.IsZero() || c.SessionToken == "" {
		// Long-term keys: the SDKs require a Token and an Expiration,
		// and an endpoint should never hand out a user's own keys.
		return nil, errors.New("the endpoint serves only temporary credentials (with a session token and an expiration)")
	}
	window := s.opt.RefreshWindow
	life := c.Expiration.Sub(s.opt.Now())
	if life <= window {
		return nil, &ShortLivedError{Left: life, Window: window}
	}
	body, err := credentialsJSON(c)
	if err != nil {
		return nil, err
	}
	// The lead is at most half of what is left past the window, so that
	// short sessions are served for a while before their refresh starts.
	lead := min(s.opt.RefreshLead, (life-window)/2)
	return &served{creds: c, body: body, lead: lead, refreshAt: c.Expiration.Add(-window - lead)}, nil
}

// Serve answers requests on ln and refreshes credentials in the background
// until ctx ends; then it stops accepting, lets requests in flight finish
// (for at most a few seconds) and ends every fetch.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.cancel()
	if s.opt.Addr == nil {
		if a, ok := ln.Addr().(*net.TCPAddr); ok {
			s.opt.Addr = a
		}
	}
	hs := s.httpServer()
	go s.refreshLoop(ctx)
	errc := make(chan error, 1)
	guard := newConnGuard(ln, s.maxPending, maxTrustedConns, s.evictAfter, s.evicted)
	s.guard.Store(guard)
	go func() { errc <- hs.Serve(guard) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		_ = hs.Close()
	}
	return nil
}

// httpServer is the http.Server that Serve runs: a function of its own so
// that a test can read its timeouts, which no test can wait out.
func (s *Server) httpServer() *http.Server {
	hs := &http.Server{
		Handler: s,
		// Until its headers are read a connection has not shown the
		// token: a short deadline (see conns.go).
		ReadHeaderTimeout: s.headerTimeout,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      s.opt.MaxWait + 10*time.Second,
		IdleTimeout:       5 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes - headerSlack,
		ConnContext:       withConn,
		// net/http's own complaints (a client that sent TLS, a broken
		// connection) are noise here; refusals are logged by ServeHTTP.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	// An SDK fetches once, then again about an hour later: a connection
	// kept open in between would only hold its buffers.
	hs.SetKeepAlivesEnabled(false)
	return hs
}

// Close ends every fetch in flight; a Server that Serve ran is closed
// already.
func (s *Server) Close() { s.cancel() }

// refreshLoop starts a route's refresh when its credentials come within
// the refresh window plus the lead, so that new ones are in hand before
// the old ones stop being served.
func (s *Server) refreshLoop(ctx context.Context) {
	tick := time.NewTicker(s.opt.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.RefreshDue()
		}
	}
}

// RefreshDue starts, in the background, the refresh of every route whose
// credentials are due (within the refresh window plus the lead) and that
// is not in a backoff after a failure. The refresh asks for credentials
// with more than the window plus the lead left: another rolecall's newer
// cache entry will do, the one in hand will not. A route never fetched (an allowed role nobody
// asked for) is left alone. The refresh loop calls it; tests call it.
func (s *Server) RefreshDue() {
	now := s.opt.Now()
	for _, rt := range s.routes {
		sv := rt.current.Load()
		if sv == nil || now.Before(sv.refreshAt) {
			continue
		}
		rt.mu.Lock()
		due := rt.call == nil && !rt.inBackoff(now)
		rt.mu.Unlock()
		if due {
			rt.refresh(s.opt.RefreshWindow + sv.lead)
		}
	}
}

// Wait blocks until no fetch is in flight, for tests.
func (s *Server) Wait() {
	for _, rt := range s.routes {
		rt.mu.Lock()
		c := rt.call
		rt.mu.Unlock()
		if c != nil {
			<-c.done
		}
	}
}

// routeFor finds the route of a request path: "/" or /role-arn/ARN.
func (s *Server) routeFor(path string) (*route, bool) {
	if path == "/" {
		rt, ok := s.routes[""]
		return rt, ok
	}
	arn, ok := strings.CutPrefix(path, "/role-arn/")
	if !ok || arn == "" {
		return nil, false
	}
	rt, ok := s.routes[arn]
	return rt, ok
}
