package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ServeHTTP answers one request. The token is judged first, in constant
// time, before anything is counted against anyone: a request without it is
// refused at once, takes no share of the request rate and never reaches a
// route (other local users can connect; they must not be able to starve
// the token holder, see conns.go). Then the Host, then the rate; only an
// authenticated request learns which methods and paths exist.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	switch tokens := r.Header.Values("Authorization"); {
	case len(tokens) == 0 || tokens[0] == "":
		s.refuse(w, r, http.StatusUnauthorized, "MissingAuthorization", missingTokenMessage)
		return
	case len(tokens) > 1 || subtle.ConstantTimeCompare([]byte(tokens[0]), []byte(s.opt.Token)) != 1:
		s.refuse(w, r, http.StatusForbidden, "InvalidAuthorization",
			"wrong authorization token: each run of rolecall makes a new one; take it from this run's output")
		return
	}
	trustConn(r)
	switch {
	case !s.hostAllowed(r.Host):
		s.refuse(w, r, http.StatusForbidden, "InvalidHost",
			"the Host header names no address of this endpoint (a DNS name pointed at it is refused: DNS rebinding)")
		return
	case !s.limiter.AllowN(s.opt.Now(), 1): // the server's clock: a test's stands still
		h.Set("Retry-After", "1")
		s.refuse(w, r, http.StatusTooManyRequests, "Throttling", "too many requests a second: slow down")
		return
	}
	if r.Method != http.MethodGet {
		h.Set("Allow", http.MethodGet)
		s.refuse(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET fetches credentials")
		return
	}
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		s.refuse(w, r, http.StatusRequestEntityTooLarge, "BodyNotAllowed", "a credentials request has no body")
		return
	}
	rt, ok := s.routeFor(r.URL.Path)
	if !ok {
		msg := "no such route: GET / serves the default role, /role-arn/ARN an allowed role"
		if strings.HasPrefix(r.URL.Path, "/role-arn/") {
			msg = "this role is not served here: start rolecall with --allow-role ARN to allow it"
		} else if r.URL.Path == "/" {
			msg = "no default role is served here: ask for /role-arn/ARN of an allowed role"
		}
		s.refuse(w, r, http.StatusNotFound, "NotFound", msg)
		return
	}
	sv, err := rt.get(r.Context())
	if err != nil {
		f := s.describe(err)
		if f.Status == http.StatusServiceUnavailable {
			h.Set("Retry-After", "1")
		}
		writeError(w, f)
		s.opt.Warnf("serve: %s %s: %d %s (%s)", r.Method, r.URL.Path, f.Status, f.Message, since(start))
		return
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(sv.body)))
	_, _ = w.Write(sv.body)
	s.opt.Logf("serve: %s %s: %s, expires in %s (%s)", r.Method, r.URL.Path, rt.label,
		left(sv.creds.Expiration, s.opt.Now()), since(start))
}

// missingTokenMessage answers a request without a token. The clients
// released before about 2023 (the AWS CLI v2 before 2.13, botocore before
// 1.33, aws-sdk-go-v2 before late 2023, the JavaScript SDK's
// fromContainerMetadata) do not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
const missingTokenMessage = "no Authorization header: set AWS_CONTAINER_AUTHORIZATION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as rolecall printed them; " +
	"clients older than about 2023 (the AWS CLI v2 before 2.13, botocore before 1.33) read no token file: export the token itself (rolecall serve --token-via env, or both, the default)"

// evicted says that a connection that never showed the token was closed to
// make room for a new one, at the bounded rate of refusals.
func (s *Server) evicted(c net.Conn) {
	s.noteRefusal(func(extra string) {
		s.opt.Warnf("serve: closed a connection from %s that sent no request with the token, to make room: too many such connections%s", c.RemoteAddr(), extra)
	})
}

func since(start time.Time) string {
	return time.Since(start).Round(time.Microsecond).String()
}

// describe turns an error into an answer.
func (s *Server) describe(err error) Failure {
	var pending *PendingError
	if errors.As(err, &pending) {
		return Failure{Status: http.StatusServiceUnavailable, Code: "CredentialsPending", Message: err.Error()}
	}
	var short *ShortLivedError
	if errors.As(err, &short) {
		return Failure{Status: http.StatusInternalServerError, Code: "CredentialsTooShortLived", Message: err.Error()}
	}
	if s.opt.Describe != nil {
		return s.opt.Describe(err)
	}
	return Failure{Status: http.StatusInternalServerError, Code: "CredentialsUnavailable", Message: err.Error()}
}

// refuse answers a request that is not served, and says so on stderr at
// a bounded rate: a client that retries with a wrong token, or a scanner,
// would otherwise fill the terminal.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	writeError(w, Failure{Status: status, Code: code, Message: msg})
	if status == http.StatusTooManyRequests {
		s.mu.Lock()
		s.suppressed++
		s.mu.Unlock()
		return
	}
	// The path and Host come from the client: quoted, so that they cannot
	// drive the terminal; the Authorization header is never shown.
	s.noteRefusal(func(extra string) {
		s.opt.Warnf("serve: refused %s %q from %s (Host %q): %d %s%s", r.Method, clip(r.URL.Path), r.RemoteAddr, clip(r.Host), status, msg, extra)
	})
}

// noteRefusal calls say with a note of the refusals left out since the
// last line, or counts this one among them.
func (s *Server) noteRefusal(say func(extra string)) {
	if !s.refusals.Allow() {
		s.mu.Lock()
		s.suppressed++
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	more := s.suppressed
	s.suppressed = 0
	s.mu.Unlock()
	extra := ""
	if more > 0 {
		extra = " (" + strconv.Itoa(more) + " more refused requests not shown)"
	}
	say(extra)
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

type errorBody struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

// writeError answers f as JSON, with Content-Type exactly application/json:
// aws-sdk-go-v2 decodes an error body only then.
func writeError(w http.ResponseWriter, f Failure) {
	b, _ := json.Marshal(errorBody{Code: f.Code, Message: f.Message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	_, _ = w.Write(append(b, '\n'))
}

// hostAllowed reports whether a Host header names this endpoint: an IP
// address it listens on (any, when it listens on every address), or
// localhost when it listens on loopback, with its port. A name is never
// accepted: that is what a DNS rebinding attack sends.
func (s *Server) hostAllowed(host string) bool {
	listen := s.opt.Addr
	if listen == nil {
		return false
	}
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		// No port: the client used the scheme's default.
		name, port = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), "80"
	}
	if port != strconv.Itoa(listen.Port) {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return listen.IP.IsLoopback() || listen.IP.IsUnspecified()
	}
	ip := net.ParseIP(name)
	switch {
	case ip == nil:
		return false
	case listen.IP.IsUnspecified():
		return true
	}
	return ip.Equal(listen.IP)
}
