package ststest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Fault kinds.
const (
	// FaultLatency delays the answer by Latency, then answers normally.
	FaultLatency = "latency"
	// FaultInternal answers HTTP 500 InternalFailure without processing.
	FaultInternal = "internal"
	// FaultThrottle answers HTTP 400 Throttling "Rate exceeded" without
	// processing, as STS does when a caller exceeds its request rate.
	FaultThrottle = "throttle"
	// FaultDrop closes the connection without answering.
	FaultDrop = "drop"
	// FaultTruncate processes the request and sends only the first half of
	// the body, with the full Content-Length, then closes the connection.
	FaultTruncate = "truncate"
	// FaultHang accepts the request and never answers, until the client
	// gives up or the server closes.
	FaultHang = "hang"
	// FaultIDPCommunication answers AssumeRoleWithWebIdentity with HTTP 400
	// IDPCommunicationError without processing: what STS answers when it
	// cannot reach the identity provider to verify the token. It applies to
	// AssumeRoleWithWebIdentity calls only.
	FaultIDPCommunication = "idp-communication"
)

// Fault makes the emulator misbehave on chosen calls, so that tests see how
// a client copes with a slow, failing or broken STS or SSO portal.
type Fault struct {
	// Action is the STS action or portal operation the fault applies to;
	// "" means every one (for idp-communication: every
	// AssumeRoleWithWebIdentity call).
	Action string `json:"action"`
	// Kind is one of latency, internal, throttle, drop, truncate, hang,
	// idp-communication.
	Kind string `json:"kind"`
	// Latency is the delay of a latency fault. In JSON it is a Go duration
	// string such as "200ms".
	Latency time.Duration `json:"latency"`
	// Nth limits the fault to the Nth matching call (1-based) counted from
	// when the fault was set; 0 means not limited to one call.
	Nth int `json:"nth"`
	// Count limits the fault to the next Count matching calls (starting at
	// the Nth when Nth is set); 0 means every call.
	Count int `json:"count"`
}

type faultJSON struct {
	Action  string `json:"action,omitempty"`
	Kind    string `json:"kind"`
	Latency string `json:"latency,omitempty"`
	Nth     int    `json:"nth,omitempty"`
	Count   int    `json:"count,omitempty"`
}

// MarshalJSON writes Latency as a Go duration string.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Action: f.Action, Kind: f.Kind, Nth: f.Nth, Count: f.Count}
	if f.Latency != 0 {
		j.Latency = f.Latency.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads Latency as a Go duration string.
func (f *Fault) UnmarshalJSON(data []byte) error {
	var j faultJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*f = Fault{Action: j.Action, Kind: j.Kind, Nth: j.Nth, Count: j.Count}
	if j.Latency != "" {
		d, err := time.ParseDuration(j.Latency)
		if err != nil {
			return fmt.Errorf("fault latency: %w", err)
		}
		f.Latency = d
	}
	return f.validate()
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultLatency:
		if f.Latency <= 0 {
			return fmt.Errorf("fault %s: a latency fault needs a positive latency", f.Kind)
		}
	case FaultInternal, FaultThrottle, FaultDrop, FaultTruncate, FaultHang:
	case FaultIDPCommunication:
		if f.Action != "" && f.Action != actionWebIdentity {
			return fmt.Errorf("fault %s: applies to %s only, not %s", f.Kind, actionWebIdentity, f.Action)
		}
	default:
		return fmt.Errorf("fault kind %q: want latency, internal, throttle, drop, truncate, hang or idp-communication", f.Kind)
	}
	if f.Nth < 0 || f.Count < 0 {
		return fmt.Errorf("fault %s: nth and count cannot be negative", f.Kind)
	}
	return nil
}

// activeFault is a fault with its count of matching calls so far.
type activeFault struct {
	Fault
	seen int
}

// take counts a call of action against the fault and reports whether the
// fault applies to it.
func (a *activeFault) take(action string) bool {
	if a.Action != "" && a.Action != action {
		return false
	}
	if a.Kind == FaultIDPCommunication && action != actionWebIdentity {
		return false
	}
	a.seen++
	n := a.seen
	start := max(a.Nth, 1)
	switch {
	case n < start:
		return false
	case a.Count > 0:
		return n < start+a.Count
	case a.Nth > 0:
		return n == a.Nth
	default:
		return true
	}
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

// AddFaults adds faults after the active ones (which keep their counts):
// the first fault that applies to a call wins. It panics on an invalid
// fault, a programming error in the test.
func (s *Server) AddFaults(f ...Fault) {
	for _, x := range f {
		if err := x.validate(); err != nil {
			panic("ststest: " + err.Error())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range f {
		s.faults = append(s.faults, &activeFault{Fault: x})
	}
}

func (s *Server) setFaults(f []Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = make([]*activeFault, len(f))
	for i, x := range f {
		s.faults[i] = &activeFault{Fault: x}
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
