package ststest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest/oidc"
)

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
	mux.HandleFunc("POST /_ststest/sso-token", s.serveSSOToken)
	s.addSSOOIDCRoutes(mux)
	mux.HandleFunc("POST /_ststest/iam-key-delay", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("delay"))
		if err != nil || d < 0 {
			http.Error(w, "iam-key-delay: want ?delay=DURATION", http.StatusBadRequest)
			return
		}
		s.SetIAMKeyDelay(d)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/_ststest/", http.NotFound)
	// The portal answers without an Identity Center instance too: no token
	// is valid then.
	mux.HandleFunc("GET /federation/credentials", s.servePortal("GetRoleCredentials", s.getRoleCredentials))
	mux.HandleFunc("GET /assignment/accounts", s.servePortal("ListAccounts", s.listAccounts))
	mux.HandleFunc("GET /assignment/roles", s.servePortal("ListAccountRoles", s.listAccountRoles))
	mux.HandleFunc("POST /logout", s.servePortal("Logout", s.logout))
	mux.HandleFunc("GET /federation", s.serveFederation)
	mux.HandleFunc("POST /federation", s.serveFederation)
	mux.HandleFunc("GET /console", s.serveConsole)
	mux.HandleFunc("GET /console/", s.serveConsole)
	mux.HandleFunc("/", s.serveSTS)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Compact, one line: scripts grep it ("action":"AssumeRole").
	_ = json.NewEncoder(w).Encode(v)
}

// serveSSOToken mints an Identity Center access token
// (?user=NAME&ttl=DURATION, 8h by default) and answers it as the AWS CLI
// keeps it in ~/.aws/sso/cache: {"startUrl", "region", "accessToken",
// "expiresAt"}, the expiry in RFC 3339 UTC on the credential clock.
func (s *Server) serveSSOToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	u := s.sso.user(q.Get("user"))
	if u == nil {
		http.Error(w, "sso-token: no Identity Center user "+strconv.Quote(q.Get("user")), http.StatusNotFound)
		return
	}
	ttl := defaultSSOTokenTTL
	if v := q.Get("ttl"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			http.Error(w, "sso-token: ttl: want a positive Go duration", http.StatusBadRequest)
			return
		}
		ttl = d
	}
	s.mu.Lock()
	token, expires := s.issueSSOTokenLocked(u, s.nowLocked(), ttl)
	s.mu.Unlock()
	writeJSON(w, SSOTokenCacheEntry{
		StartURL:    s.sso.cfg.StartURL,
		Region:      s.sso.cfg.Region,
		AccessToken: token,
		ExpiresAt:   expires.UTC().Format(time.RFC3339),
	})
}
