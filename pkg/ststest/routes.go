package ststest

import (
	"encoding/json"
	"io"
	"net/http"
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
	mux.HandleFunc("/_ststest/", http.NotFound)
	mux.HandleFunc("/", s.serveSTS)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// Compact, one line: scripts grep it ("action":"AssumeRole").
	_ = json.NewEncoder(w).Encode(v)
}
