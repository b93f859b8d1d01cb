package ststest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest/oidc"
)

// Call is one request the emulator received, as the call log records it.
type Call struct {
	// Time is the emulator's credential clock when the call arrived.
	Time time.Time `json:"time"`
	// Action is the STS action named in the request.
	Action string `json:"action"`
	// Caller is the ARN of the signing principal, or "" when the request
	// was unsigned or its signature was not accepted.
	Caller string `json:"caller"`
	// Params holds every request parameter except Action and Version, with
	// the Query protocol's keys (e.g. "PolicyArns.member.1.arn",
	// "Tags.member.1.Key"). Secrets never appear: WebIdentityToken is
	// replaced by "<redacted>".
	Params map[string]string `json:"params"`
	// Error is the STS error code of the answer, "" on success.
	Error string `json:"error"`
	// Fault is the kind of the fault applied to the call, if any.
	Fault string `json:"fault,omitempty"`
}

// Server is a running STS emulator.
type Server struct {
	// Immutable after construction.
	cfg        Config
	accessKeys map[string]accessKey
	users      map[string]*userEntry
	roles      map[string]*roleEntry
	mfa        map[string]MFADevice
	oidc       *oidc.Set
	handler    http.Handler

	listener net.Listener
	http     *http.Server
	url      string
	done     chan struct{}
	closing  sync.Once

	mu          sync.Mutex
	clockOffset time.Duration
	requestSkew time.Duration
	sessions    map[string]*session // by access key ID
	calls       []Call
	callsSignal chan struct{} // closed and replaced whenever the call log changes
	faults      []*activeFault
	usedTOTP    map[string]int64 // serial → last accepted time step
}

type accessKey struct {
	user   *userEntry
	secret string
}

// New builds an emulator for cfg without starting it; serve its Handler.
// Most tests want NewServer.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ststest config: %w", err)
	}
	s := &Server{
		cfg:         cfg,
		accessKeys:  map[string]accessKey{},
		users:       map[string]*userEntry{},
		roles:       map[string]*roleEntry{},
		mfa:         map[string]MFADevice{},
		done:        make(chan struct{}),
		callsSignal: make(chan struct{}),
		sessions:    map[string]*session{},
		usedTOTP:    map[string]int64{},
	}
	for _, u := range cfg.Users {
		e := newUserEntry(u)
		s.users[u.ARN] = e
		for _, k := range u.AccessKeys {
			s.accessKeys[k.AccessKeyID] = accessKey{user: e, secret: k.SecretAccessKey}
		}
	}
	for _, r := range cfg.Roles {
		s.roles[r.ARN] = newRoleEntry(r)
	}
	for _, d := range cfg.MFADevices {
		s.mfa[d.Serial] = d
	}
	providers := make([]oidc.ProviderConfig, len(cfg.OIDCProviders))
	for i, p := range cfg.OIDCProviders {
		providers[i] = oidc.ProviderConfig{Issuer: p.Issuer, ClientIDs: p.ClientIDs}
	}
	set, err := oidc.NewSet(providers)
	if err != nil {
		return nil, fmt.Errorf("ststest oidc providers: %w", err)
	}
	s.oidc = set
	s.setFaults(cfg.Faults)
	s.handler = s.newHandler()
	return s, nil
}

// NewServer starts an emulator for cfg on 127.0.0.1 with a random port, like
// httptest.NewServer. It panics if the configuration is invalid or it cannot
// listen. Close it when done.
func NewServer(cfg Config) *Server {
	s, err := Start(cfg, "127.0.0.1:0")
	if err != nil {
		panic("ststest: " + err.Error())
	}
	return s
}

// Start starts an emulator for cfg listening on addr (host:port) and serving
// in the background until Close.
func Start(cfg Config, addr string) (*Server, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.listener = l
	s.url = "http://" + l.Addr().String()
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(l) }()
	return s, nil
}

// URL is the emulator's base URL, e.g. http://127.0.0.1:40123, to be used as
// the STS endpoint (BaseEndpoint, AWS_ENDPOINT_URL_STS, --endpoint-url).
func (s *Server) URL() string { return s.url }

// Close stops the server, ending hanging and delayed calls. It is safe to
// call more than once.
func (s *Server) Close() {
	s.closing.Do(func() {
		close(s.done)
		if s.http != nil {
			_ = s.http.Close()
		}
	})
}

// Handler is the emulator's HTTP handler (STS and the /_ststest/ admin
// paths), for embedding in another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Now is the emulator's credential clock: the wall clock moved by Advance.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time { return time.Now().Add(s.clockOffset) }

// Advance moves the credential clock by d (which may be negative): issue
// times, expirations, ExpiredToken checks and TOTP codes follow it. SigV4
// request times do not; see SetRequestClockSkew.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset += d
}

// SetRequestClockSkew sets how far the emulator's request clock is from the
// wall clock. SigV4 signing times must be within 15 minutes of it, as with
// STS, and the Date header of every answer shows it, which is what the SDKs
// use to correct their own clock skew.
func (s *Server) SetRequestClockSkew(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requestSkew = d
}

func (s *Server) requestNow() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().Add(s.requestSkew)
}

// Calls returns a copy of the call log, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Params = cloneParams(c.Params)
		out[i] = c
	}
	return out
}

// CallCount counts the calls of an action, failed ones included; "" counts
// every call.
func (s *Server) CallCount(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if action == "" || c.Action == action {
			n++
		}
	}
	return n
}

// ResetCalls empties the call log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.signalCallsLocked()
}

// SetFaults replaces the active faults; with no argument it clears them.
// Nth and Count are counted from this call on. It panics on an invalid
// fault, a programming error in the test.
func (s *Server) SetFaults(f ...Fault) {
	for _, x := range f {
		if err := x.validate(); err != nil {
			panic("ststest: " + err.Error())
		}
	}
	s.setFaults(f)
}

func (s *Server) setFaults(f []Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = make([]*activeFault, len(f))
	for i, x := range f {
		s.faults[i] = &activeFault{Fault: x}
	}
}

// TOTP returns the valid TOTP code of an MFA device at the emulator's clock,
// or "" for an unknown serial. A code is accepted once: for another, move the
// clock on by 30 seconds.
func (s *Server) TOTP(serial string) string {
	d, ok := s.mfa[serial]
	if !ok {
		return ""
	}
	code, err := totpCode(d.Secret, s.Now().Unix()/totpStep)
	if err != nil {
		return ""
	}
	return code
}

// WebIdentityToken mints a JWT signed by a configured OIDC provider at the
// emulator's clock. iss, iat, nbf, exp (one hour on) and jti are filled in
// unless claims gives them.
func (s *Server) WebIdentityToken(issuer string, claims map[string]any) (string, error) {
	return s.oidc.Mint(issuer, claims, s.Now())
}

func cloneParams(p map[string]string) map[string]string {
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

func (s *Server) newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_ststest/calls", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, s.Calls())
	})
	mux.HandleFunc("DELETE /_ststest/calls", func(w http.ResponseWriter, _ *http.Request) {
		s.ResetCalls()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_ststest/clock", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"now": s.Now().UTC().Format(time.RFC3339)})
	})
	mux.HandleFunc("POST /_ststest/clock", s.serveClock)
	mux.HandleFunc("GET /_ststest/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		out := make([]Fault, len(s.faults))
		for i, f := range s.faults {
			out[i] = f.Fault
		}
		s.mu.Unlock()
		writeJSON(w, out)
	})
	mux.HandleFunc("POST /_ststest/faults", func(w http.ResponseWriter, r *http.Request) {
		var faults []Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&faults); err != nil {
			http.Error(w, "faults: want a JSON array of faults: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.setFaults(faults)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_ststest/totp", func(w http.ResponseWriter, r *http.Request) {
		code := s.TOTP(r.URL.Query().Get("serial"))
		if code == "" {
			http.Error(w, "totp: unknown MFA serial", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, code+"\n")
	})
	mux.HandleFunc("GET /_ststest/oidc/jwks", func(w http.ResponseWriter, r *http.Request) {
		jwks, err := s.oidc.JWKS(r.URL.Query().Get("issuer"))
		if err != nil {
			http.Error(w, "jwks: "+err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks) //nolint:gosec // a JSON key set served as application/json, not HTML
	})
	if g := s.cfg.GitHub; g != nil {
		mux.Handle("GET /_ststest/github-token", oidc.GitHubTokenHandler(g.RequestToken, s.mintGitHubToken))
	}
	mux.HandleFunc("/_ststest/", http.NotFound)
	mux.HandleFunc("/", s.serveSTS)
	return mux
}

// mintGitHubToken makes a token like GitHub Actions' for the configured
// repository and ref.
func (s *Server) mintGitHubToken(audience string) (string, error) {
	g := s.cfg.GitHub
	issuer := g.Issuer
	if issuer == "" {
		issuer = DemoGitHubIssuer
	}
	claims := oidc.GitHubClaims(oidc.GitHubContext{Repository: g.Repository, Ref: g.Ref}, audience)
	return s.oidc.Mint(issuer, claims, s.Now())
}

// serveClock moves the credential clock (?advance=30m) and sets the request
// clock skew (?request_skew=-20m).
func (s *Server) serveClock(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if v := q.Get("advance"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			http.Error(w, "clock: advance: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.Advance(d)
	}
	if v := q.Get("request_skew"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			http.Error(w, "clock: request_skew: "+err.Error(), http.StatusBadRequest)
			return
		}
		s.SetRequestClockSkew(d)
	}
	writeJSON(w, map[string]string{"now": s.Now().UTC().Format(time.RFC3339)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Compact, one line: scripts grep it ("action":"AssumeRole").
	_ = json.NewEncoder(w).Encode(v)
}

// answer is what an action produced: a body and a status, and what the call
// log keeps of it.
type answer struct {
	status int
	body   []byte
	caller string
	err    string
}

// serveSTS answers an STS Query-protocol request.
func (s *Server) serveSTS(w http.ResponseWriter, r *http.Request) {
	requestID := newRequestID()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return
	}
	params, perr := requestParams(r, body)
	action := params.Get("Action")
	call := Call{Time: s.Now(), Action: action, Params: logParams(params)}

	if fault := s.takeFault(action); fault != nil {
		call.Fault = fault.Kind
		switch fault.Kind {
		case FaultLatency:
			if !s.wait(r, fault.Latency) {
				s.record(call)
				abortConnection()
			}
		case FaultInternal:
			e := &stsError{http.StatusInternalServerError, "InternalFailure",
				"The request processing has failed because of an unknown error, exception or failure."}
			call.Error = e.Code
			s.record(call)
			s.write(w, requestID, e.Status, errorBody(e, requestID))
			return
		case FaultThrottle:
			e := &stsError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
			call.Error = e.Code
			s.record(call)
			s.write(w, requestID, e.Status, errorBody(e, requestID))
			return
		case FaultDrop:
			s.record(call)
			dropConnection(w)
			return
		case FaultHang:
			s.record(call)
			s.wait(r, -1)
			abortConnection()
		}
	}

	var a answer
	if perr != nil {
		a = failure(perr, requestID, "")
	} else {
		a = s.dispatch(r, body, params, requestID)
	}
	call.Caller, call.Error = a.caller, a.err
	s.record(call)
	if call.Fault == FaultTruncate {
		s.writeTruncated(w, requestID, a.status, a.body)
		return
	}
	s.write(w, requestID, a.status, a.body)
}

// requestParams reads the Query-protocol parameters: the form body of a POST
// and the query string.
func requestParams(r *http.Request, body []byte) (url.Values, *stsError) {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return url.Values{}, &stsError{http.StatusBadRequest, "MalformedQueryString", "The query string is malformed"}
	}
	if r.Method == http.MethodPost {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return params, &stsError{http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form"}
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	return params, nil
}

// logParams keeps every parameter for the call log except Action, Version
// and secrets.
func logParams(params url.Values) map[string]string {
	out := map[string]string{}
	for k, vs := range params {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		if k == "WebIdentityToken" {
			out[k] = "<redacted>"
			continue
		}
		out[k] = vs[0]
	}
	return out
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	s.signalCallsLocked()
}

func (s *Server) signalCallsLocked() {
	close(s.callsSignal)
	s.callsSignal = make(chan struct{})
}

// WaitCalls blocks until the call log holds at least n calls, or ctx ends.
// A test uses it to know that a request it will get no answer to (a hang
// fault, a dropped connection) has reached the emulator.
func (s *Server) WaitCalls(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		if len(s.calls) >= n {
			s.mu.Unlock()
			return nil
		}
		changed := s.callsSignal
		s.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d calls: %w", n, ctx.Err())
		}
	}
}

func (s *Server) takeFault(action string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	var hit *Fault
	for _, f := range s.faults {
		// Every fault counts the call, so that Nth and Count stay true to
		// the calls each fault saw; the first that applies wins.
		if f.take(action) && hit == nil {
			x := f.Fault
			hit = &x
		}
	}
	return hit
}

// wait blocks for d (forever if negative) or until the client goes away or
// the server closes. It reports whether the full time passed.
func (s *Server) wait(r *http.Request, d time.Duration) bool {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

func (s *Server) headers(w http.ResponseWriter, requestID string) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("X-Amzn-Requestid", requestID)
	// STS sends Date on every answer; the SDKs derive their clock skew
	// correction from it.
	h.Set("Date", s.requestNow().UTC().Format(http.TimeFormat))
}

func (s *Server) write(w http.ResponseWriter, requestID string, status int, body []byte) {
	s.headers(w, requestID)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeTruncated sends the headers with the full Content-Length but only half
// of the body, then closes the connection: what a client sees when a
// connection breaks mid-answer.
func (s *Server) writeTruncated(w http.ResponseWriter, requestID string, status int, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.write(w, requestID, status, body[:len(body)/2])
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	s.headers(w, requestID)
	writeRawResponse(buf, status, w.Header(), len(body), body[:len(body)/2])
}

func writeRawResponse(buf *bufio.ReadWriter, status int, h http.Header, contentLength int, body []byte) {
	_, _ = fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Set("Content-Length", strconv.Itoa(contentLength))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body)
	_ = buf.Flush()
}

// abortConnection ends a call that will get no answer: net/http closes the
// connection instead of sending the empty 200 a returning handler would.
func abortConnection() {
	panic(http.ErrAbortHandler)
}

// dropConnection closes the connection without a word.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		// Reset rather than close gracefully, like a broken peer.
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// newRequestID makes a UUID-shaped request ID like STS's.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func failure(e *stsError, requestID, caller string) answer {
	return answer{status: e.Status, body: errorBody(e, requestID), caller: caller, err: e.Code}
}

// errInvalidAction is STS's answer to an action it does not have.
func errInvalidAction(action string) *stsError {
	return &stsError{http.StatusBadRequest, "InvalidAction",
		fmt.Sprintf("Could not find operation %s for version %s", action, stsVersion)}
}

// dispatch routes a request to its action.
func (s *Server) dispatch(r *http.Request, body []byte, params url.Values, requestID string) answer {
	action := params.Get("Action")
	if v := params.Get("Version"); v != stsVersion {
		return failure(&stsError{http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("Could not find operation %s for version %s", action, v)}, requestID, "")
	}
	handlers := map[string]func(*principal, url.Values, string) answer{
		"AssumeRole":        s.assumeRole,
		"GetSessionToken":   s.getSessionToken,
		"GetCallerIdentity": s.getCallerIdentity,
	}
	if action == "AssumeRoleWithWebIdentity" {
		// Called with a token from the identity provider, not with AWS
		// credentials: STS does not need it signed.
		return s.assumeRoleWithWebIdentity(params, requestID)
	}
	h, ok := handlers[action]
	if !ok {
		return failure(errInvalidAction(action), requestID, "")
	}
	s.mu.Lock()
	p, serr := s.authenticate(r, body, time.Now().Add(s.requestSkew), s.nowLocked())
	s.mu.Unlock()
	if serr != nil {
		return failure(serr, requestID, "")
	}
	return h(p, params, requestID)
}

// stripScheme turns an issuer URL into the host/path IAM uses in OIDC
// provider ARNs.
func stripScheme(issuer string) string {
	return strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
}
