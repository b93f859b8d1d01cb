package ststest

import (
	"net/http"
	"time"
)

// Now is the emulator's credential clock: the wall clock moved by Advance
// and by the request clock skew. Real STS has one clock, so the times in the
// credentials it issues agree with its Date header; a skew set with
// SetRequestClockSkew moves both.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Server) nowLocked() time.Time {
	now := time.Now()
	if !s.stoppedAt.IsZero() {
		now = s.stoppedAt
	}
	return now.Add(s.clockOffset + s.requestSkew)
}

// StopClock stops the credential clock where it is: from then on only
// Advance moves it. A test that checks a boundary to the second (valid a
// second before expiry, expired at it) then holds however slowly the
// machine runs. SigV4 request times still follow the wall clock.
func (s *Server) StopClock() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stoppedAt.IsZero() {
		s.stoppedAt = time.Now()
	}
}

// Advance moves the credential clock by d (which may be negative): issue
// times, expirations, ExpiredToken checks and TOTP codes follow it. SigV4
// request times do not; see SetRequestClockSkew.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockOffset += d
}

// SetRequestClockSkew sets how far STS's clock is from the local one: the
// local clock then looks d behind. SigV4 signing times must be within 15
// minutes of it, as with STS; the Date header of every answer shows it
// (the SDKs correct their signing clock from it), and the credentials the
// emulator issues are timed by it.
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
