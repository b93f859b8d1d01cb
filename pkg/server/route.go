package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

// route is what one path serves: the credentials in hand, and the one
// fetch in flight that every request needing new ones joins.
type route struct {
	s     *Server
	role  string // "" for the default route
	label string // what the log names: the role or profile

	current atomic.Pointer[served]

	mu       sync.Mutex
	call     *fetchCall // in flight, or nil
	lastErr  error
	failures int
	retryAt  time.Time // no fetch before, after a failure (credential clock)

	// stale, when set, is called by a request that found nothing fresh,
	// before it asks for a fetch: tests pause it there.
	stale func()
	// joined, when set, is called by a request about to wait for a fetch.
	joined func()
}

// served is credentials and their answer, encoded once, and when the
// background refresh of them is due.
type served struct {
	creds     creds.Credentials
	body      []byte
	lead      time.Duration
	refreshAt time.Time
}

// fetchCall is one fetch; done closes when sv or err is set.
type fetchCall struct {
	done chan struct{}
	sv   *served
	err  error
}

// credentialsBody is the container credentials answer (see the package
// documentation for who reads which field).
type credentialsBody struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	AccountID       string `json:"AccountId,omitempty"`
}

func credentialsJSON(c creds.Credentials) ([]byte, error) {
	b, err := json.Marshal(credentialsBody{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      c.Expiration.UTC().Format(time.RFC3339),
		AccountID:       c.AccountID(),
	})
	if err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	return append(b, '\n'), nil
}

// fresh reports whether sv may be handed out now: more than the refresh
// window left.
func (rt *route) fresh(sv *served) bool {
	return sv != nil && sv.creds.Expiration.Sub(rt.s.opt.Now()) > rt.s.opt.RefreshWindow
}

// PendingError is a request that waited Options.MaxWait for a fetch that
// goes on.
type PendingError struct {
	Role    string
	Waited  time.Duration
	Waiting string // what the fetch waits for, if known
}

func (e *PendingError) Error() string {
	what := "STS has not answered yet"
	if e.Waiting != "" {
		what = e.Waiting
	}
	return fmt.Sprintf("rolecall is still getting credentials for %s after %s (%s); the fetch goes on: retry", e.Role, e.Waited.Round(time.Millisecond), what)
}

// get returns credentials to serve: those in hand while fresh, else the
// result of the fetch this request starts or joins, waiting at most
// MaxWait for it.
func (rt *route) get(ctx context.Context) (*served, error) {
	if sv := rt.current.Load(); rt.fresh(sv) {
		return sv, nil
	}
	if rt.stale != nil {
		rt.stale()
	}
	c := rt.refresh(0)
	if rt.joined != nil {
		rt.joined()
	}
	wait := time.NewTimer(rt.s.opt.MaxWait)
	defer wait.Stop()
	select {
	case <-c.done:
		if c.err != nil {
			return nil, c.err
		}
		return c.sv, nil
	case <-wait.C:
		e := &PendingError{Role: rt.label, Waited: rt.s.opt.MaxWait}
		if rt.s.opt.Waiting != nil {
			e.Waiting = rt.s.opt.Waiting()
		}
		return nil, e
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// refresh starts a fetch, or returns the one in flight. minLife is what
// the background refresh asks for; 0 is a request's fetch, which takes any
// credentials it may serve (more than the window left). Under the lock, a
// request's fetch first looks again at the credentials in hand: a fetch
// may have ended since the request found none fresh. After a failure,
// nothing is fetched until the backoff has passed (see inBackoff), however
// many clients ask: they get that failure.
func (rt *route) refresh(minLife time.Duration) *fetchCall {
	background := minLife > 0
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.call != nil {
		return rt.call
	}
	if !background {
		if sv := rt.current.Load(); rt.fresh(sv) {
			return doneCall(sv, nil)
		}
		if rt.lastErr != nil && rt.inBackoff(rt.s.opt.Now()) {
			return doneCall(nil, rt.lastErr)
		}
	}
	c := &fetchCall{done: make(chan struct{})}
	rt.call = c
	go rt.fetch(c, minLife)
	return c
}

// inBackoff reports whether a fetch must wait, after a failure, at now.
// A retry time further ahead than the longest backoff means the clock was
// set back: it is not honoured.
func (rt *route) inBackoff(now time.Time) bool {
	return now.Before(rt.retryAt) && rt.retryAt.Sub(now) <= maxBackoff
}

// doneCall is a fetch that needs no doing.
func doneCall(sv *served, err error) *fetchCall {
	c := &fetchCall{done: make(chan struct{}), sv: sv, err: err}
	close(c.done)
	return c
}

// fetch runs one fetch to its end, whoever still waits for it: a request
// that gave up after MaxWait leaves the result for the next one.
func (rt *route) fetch(c *fetchCall, minLife time.Duration) {
	s := rt.s
	background := minLife > 0
	if !background {
		minLife = s.opt.RefreshWindow
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.opt.FetchTimeout)
	defer cancel()
	started := time.Now()
	cr, err := s.opt.Fetch(ctx, rt.role, minLife)
	var sv *served
	if err == nil {
		sv, err = s.newServed(cr)
	}
	rt.mu.Lock()
	c.sv, c.err = sv, err
	rt.call = nil
	if err == nil {
		rt.current.Store(sv)
		rt.lastErr, rt.failures, rt.retryAt = nil, 0, time.Time{}
	} else {
		rt.lastErr = err
		rt.failures++
		rt.retryAt = s.opt.Now().Add(backoff(rt.failures))
	}
	failures := rt.failures
	rt.mu.Unlock()
	// The line before done: whoever waits for the fetch (Wait, a test)
	// then finds it written.
	defer close(c.done)

	how := "refreshed"
	if !background {
		how = "fetched for a request"
	}
	if err != nil {
		s.opt.Warnf("serve: %s: getting new credentials failed (attempt %d; next try in %s): %v",
			rt.label, failures, backoff(failures), err)
		return
	}
	s.opt.Logf("serve: %s: %s in %s, expires in %s", rt.label, how,
		time.Since(started).Round(time.Millisecond), left(cr.Expiration, s.opt.Now()))
}

// backoff is the pause before the next fetch after n failures in a row:
// 1s, 2s, 4s, … up to a minute. Requests and the background alike wait
// for it: during an outage STS gets one call per step, however many
// clients poll.
func backoff(n int) time.Duration {
	d := time.Second
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

func left(exp, now time.Time) time.Duration {
	return exp.Sub(now).Round(time.Second)
}
