package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

// Tests of Serve's lifecycle: the address it takes from its listener, the
// deadlines it gives net/http, and how it stops.

// serve runs f's server on a loopback listener of its own, in the
// background, and returns the endpoint's URL, a stop that ends Serve's
// context, and served, which waits for Serve to return and gives its
// error. The server's Addr is left as the test set it.
func (f *fixture) serve() (uri string, stop context.CancelFunc, served func() error) {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	finished := make(chan struct{})
	var serr error
	go func() {
		serr = f.srv.Serve(ctx, ln)
		close(finished)
	}()
	served = func() error {
		f.t.Helper()
		select {
		case <-finished:
			return serr
		case <-time.After(time.Minute):
			f.t.Fatal("hung: Serve did not return a minute after its context ended")
			return nil
		}
	}
	f.t.Cleanup(func() {
		cancel()
		_ = served()
	})
	return "http://" + ln.Addr().String() + "/", cancel, served
}

// TestServeTakesTheAddressFromItsListener: a server made without Addr
// accepts the Host of the address it is served on (rolecall serve binds
// the listener first, then hands it over).
func TestServeTakesTheAddressFromItsListener(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Addr = nil })
	uri, _, _ := f.serve()
	c, err := goSDK(uri, testToken).Retrieve(t.Context())
	if err != nil {
		t.Fatalf("the Go SDK, at the listener's address: %v", err)
	}
	if c.AccessKeyID != "ASIATEST000000000001" {
		t.Errorf("the Go SDK read %+v", c)
	}
}

// TestServerDeadlines: net/http's deadlines, which no test should wait
// out. Headers have the short deadline of a connection that has not shown
// the token (see conns.go); a request, its body included, 10 s (a trusted
// connection that declares a body and sends none holds a slot no longer);
// its answer may be written until MaxWait (a request waits that long for
// a fetch) and 10 s more; 5 s idle, were keep-alives ever enabled again;
// and Serve lets requests in flight finish for 3 s once its context ends.
func TestServerDeadlines(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxWait = 2 * time.Second })
	hs := f.srv.httpServer()
	for _, tt := range []struct {
		name      string
		got, want time.Duration
	}{
		{"ReadHeaderTimeout", hs.ReadHeaderTimeout, pendingTimeout},
		{"ReadTimeout", hs.ReadTimeout, 10 * time.Second},
		{"WriteTimeout", hs.WriteTimeout, 12 * time.Second},
		{"IdleTimeout", hs.IdleTimeout, 5 * time.Second},
		{"the shutdown's grace", f.srv.shutdownGrace, 3 * time.Second},
	} {
		if tt.got != tt.want {
			t.Errorf("%s %s, want %s", tt.name, tt.got, tt.want)
		}
	}
	if hs.MaxHeaderBytes+headerSlack != maxHeaderBytes {
		t.Errorf("MaxHeaderBytes %d", hs.MaxHeaderBytes)
	}
}

// inFlight sends a GET for / with the token and waits until its fetch has
// started, so that the request is in the handler; the answer, or the
// error, comes on the channel.
func (f *fixture) inFlight(uri string) <-chan error {
	f.t.Helper()
	answered := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, uri, nil)
		if err != nil {
			answered <- err
			return
		}
		req.Header.Set("Authorization", testToken)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = &statusError{resp.StatusCode}
			}
		}
		answered <- err
	}()
	deadline := time.Now().Add(time.Minute)
	for f.sts.calls.Load() == 0 {
		select {
		case err := <-answered:
			f.t.Fatalf("the request was answered before it reached a fetch: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			f.t.Fatal("hung: the request did not reach a fetch in a minute")
		}
		time.Sleep(time.Millisecond)
	}
	return answered
}

type statusError struct{ code int }

func (e *statusError) Error() string { return http.StatusText(e.code) }

// TestShutdownLetsARequestInFlightFinish: when Serve's context ends it
// stops accepting at once, and a request waiting for a fetch still gets
// its answer when the fetch ends within the grace.
func TestShutdownLetsARequestInFlightFinish(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Addr = nil
		o.MaxWait = time.Hour
	})
	f.srv.shutdownGrace = time.Hour
	hold := make(chan struct{})
	f.sts.setHold(hold)
	uri, stop, served := f.serve()
	answered := f.inFlight(uri)
	stop()
	// The listener closes first: a new connection is refused.
	addr := uri[len("http://") : len(uri)-1]
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("hung: still accepting connections a minute after Serve's context ended")
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	select {
	case err := <-answered:
		if err != nil {
			t.Errorf("the request in flight during the shutdown: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("hung: no answer a minute after the fetch ended")
	}
	if err := served(); err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestShutdownClosesWhatOutlastsTheGrace: a request still in flight when
// the grace ends has its connection closed, unanswered, before Serve
// returns (and then ends the fetch).
func TestShutdownClosesWhatOutlastsTheGrace(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Addr = nil
		o.MaxWait = time.Hour
	})
	f.srv.shutdownGrace = 0
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	f.sts.setHold(hold)
	uri, stop, served := f.serve()
	answered := f.inFlight(uri)
	stop()
	if err := served(); err != nil {
		t.Errorf("Serve: %v", err)
	}
	select {
	case err := <-answered:
		if err == nil {
			t.Error("the request that outlasted the grace was answered 200")
		} else if se := (*statusError)(nil); errors.As(err, &se) {
			t.Errorf("the request that outlasted the grace was answered (%v), not cut off", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("hung: the connection of a request that outlasted the grace still open a minute after Serve returned")
	}
}
