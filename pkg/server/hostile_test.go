package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tests of what other local users (who can connect, but have no token)
// and outages do to the token holder.

// TestUnauthenticatedFloodIsNotCounted: requests without the token, or
// with a wrong one, are refused before the rate is counted, so a flood of
// them never gets the token holder a 429.
func TestUnauthenticatedFloodIsNotCounted(t *testing.T) {
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	for i := range 2 * DefaultRequestBurst {
		r := f.request("/")
		if i%2 == 0 {
			r.Header.Del("Authorization")
		} else {
			r.Header.Set("Authorization", strings.Repeat("f", 64))
		}
		if w := f.do(r); w.Code != http.StatusUnauthorized && w.Code != http.StatusForbidden {
			t.Fatalf("request %d without the token: %d %s", i, w.Code, w.Body)
		}
	}
	// The clock stands still: a limiter that counted the flood would
	// refuse this.
	f.wantServed("/")
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("%d fetches: the flood reached a route", n)
	}
}

// attack is slowloris: connections that send the start of a request and
// then nothing, each reading until the server closes it.
type attack struct {
	conns  []net.Conn
	closed atomic.Int32
	wg     sync.WaitGroup
}

func slowloris(t *testing.T, addr string, n int) *attack {
	t.Helper()
	a := &attack{}
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slowloris connection %d: %v", len(a.conns), err)
		}
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		a.conns = append(a.conns, c)
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			_, _ = io.Copy(io.Discard, c) // until the server closes it
			a.closed.Add(1)
		}()
	}
	t.Cleanup(func() {
		for _, c := range a.conns {
			_ = c.Close()
		}
		a.wg.Wait()
	})
	return a
}

// waitServing waits until Serve has taken over the listener.
func (f *fixture) waitServing() {
	f.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for f.srv.guard.Load() == nil {
		if time.Now().After(deadline) {
			f.t.Fatal("hung: Serve did not start in a minute")
		}
		time.Sleep(time.Millisecond)
	}
}

// waitPending waits until the server holds n connections that have not
// shown the token: the attack is in place.
func (f *fixture) waitPending(n int) {
	f.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for f.srv.guard.Load().pendingCount() < n {
		if time.Now().After(deadline) {
			f.t.Fatalf("hung: %d of %d connections accepted after a minute", f.srv.guard.Load().pendingCount(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSlowlorisDoesNotStarveTheTokenHolder: with a thousand connections
// holding their headers open (the deadline moved out of the way, so that
// only the slots are tested), the token holder is answered at once, and
// no attacking connection had to go for it.
func TestSlowlorisDoesNotStarveTheTokenHolder(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.headerTimeout = time.Hour
	uri := f.serving()
	f.waitServing()
	a := slowloris(t, f.srv.opt.Addr.String(), 1000)
	f.waitPending(1000)
	c, err := goSDK(uri, testToken).Retrieve(t.Context())
	if err != nil {
		t.Fatalf("the token holder, with 1,000 slowloris connections open: %v", err)
	}
	if c.AccessKeyID == "" {
		t.Errorf("credentials %+v", c)
	}
	if n := a.closed.Load(); n != 0 {
		t.Errorf("%d attacking connections closed: there was room for all", n)
	}
}

// TestOldestPendingConnectionMakesRoom: past maxPending connections
// without the token, the oldest is closed for each new one once it has
// been pending for evictAfter (here at once), and said so on stderr
// (bounded); the token holder's connection, which sends its request at
// once, is served.
func TestOldestPendingConnectionMakesRoom(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.headerTimeout = time.Hour
	f.srv.maxPending, f.srv.evictAfter = 50, 0
	uri := f.serving()
	f.waitServing()
	a := slowloris(t, f.srv.opt.Addr.String(), 150)
	f.waitPending(50)
	for range 3 {
		if _, err := goSDK(uri, testToken).Retrieve(t.Context()); err != nil {
			t.Fatalf("the token holder: %v", err)
		}
	}
	// The first 100 were closed to make room, each at once: their reads
	// end.
	wantClosed(t, a.conns[:100])
	if !strings.Contains(f.logs.String(), "sent no request with the token, to make room") {
		t.Errorf("the closing is not reported:\n%s", f.logs)
	}
	if strings.Contains(f.logs.String(), testToken) {
		t.Errorf("the token in the log")
	}
}

// TestBurstIsNotCutShort: connections that have just arrived are not
// closed for room before twice maxPending of them are pending: a build
// that starts many SDK processes at once is served whole.
func TestBurstIsNotCutShort(t *testing.T) {
	f := newFixture(t, nil)
	f.srv.headerTimeout = time.Hour
	f.srv.maxPending, f.srv.evictAfter = 50, time.Hour
	f.serving()
	f.waitServing()
	a := slowloris(t, f.srv.opt.Addr.String(), 100)
	f.waitPending(100)
	if n := a.closed.Load(); n != 0 {
		t.Errorf("%d young connections closed below twice maxPending", n)
	}
	b := slowloris(t, f.srv.opt.Addr.String(), 10)
	f.waitPending(100)
	wantClosed(t, a.conns[:10]) // past twice maxPending: the oldest go
	_ = b
}

// wantClosed waits until the server has closed each of conns.
func wantClosed(t *testing.T, conns []net.Conn) {
	t.Helper()
	for i, c := range conns {
		if err := c.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("hung: connection %d still open a minute after it was to make room", i)
			}
		}
	}
}

// TestHeaderLimit: 8 KiB of request line and headers, as documented; net/
// http's own slack is taken off what it is told.
func TestHeaderLimit(t *testing.T) {
	f := newFixture(t, nil)
	f.serving()
	f.waitServing()
	addr := f.srv.opt.Addr.String()
	send := func(padding int) int {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: " + testToken + "\r\nX-Pad: " + strings.Repeat("a", padding) + "\r\n\r\n"
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(7 << 10); code != http.StatusOK {
		t.Errorf("7 KiB of headers: %d, want 200", code)
	}
	if code := send(9 << 10); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("9 KiB of headers: %d, want 431", code)
	}
}

// TestNoSecondFetchAfterARace: a request that found nothing fresh, and is
// paused before it asks for a fetch while another request's fetch
// completes, serves that fetch's credentials: the lock's holder looks
// again (c05cefd started a second fetch: "request 649: 200
// ASIATEST000000000002").
func TestNoSecondFetchAfterARace(t *testing.T) {
	f := newFixture(t, nil)
	paused, resume := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	f.srv.routes[""].stale = func() {
		if first.CompareAndSwap(false, true) {
			close(paused)
			<-resume
		}
	}
	late := make(chan answer, 1)
	go func() {
		w := f.get("/")
		if w.Code != http.StatusOK {
			t.Errorf("the paused request: %d %s", w.Code, w.Body)
		}
		late <- decode(t, w)
	}()
	<-paused
	early := f.wantServed("/")
	close(resume)
	if got := <-late; got.AccessKeyID != early.AccessKeyID {
		t.Errorf("the paused request got %s, the other %s", got.AccessKeyID, early.AccessKeyID)
	}
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

// TestRequestsWaitForTheBackoff: during an STS outage, requests get the
// last failure until the backoff has passed on the server's clock,
// however many clients poll and however much time passes for the process:
// one STS call per backoff step.
func TestRequestsWaitForTheBackoff(t *testing.T) {
	refused := errors.New("STS unreachable")
	f := newFixture(t, nil)
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	f.sts.fail.Store(&refused)
	f.clock.Advance(50 * time.Minute) // within the window: a request fetches
	var fetchedAt []time.Time
	poll := func(clients int) {
		t.Helper()
		before := f.sts.calls.Load()
		var wg sync.WaitGroup
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w := f.get("/"); w.Code == http.StatusOK {
					t.Errorf("served during the outage: %s", w.Body)
				}
			}()
		}
		wg.Wait()
		f.srv.RefreshDue()
		f.srv.Wait()
		for range f.sts.calls.Load() - before {
			fetchedAt = append(fetchedAt, f.clock.Now())
		}
	}
	poll(3)
	if n := f.sts.calls.Load(); n != 2 {
		t.Fatalf("%d fetches after the first poll, want 2 (warm, one)", n)
	}
	// Half the first backoff step on the server's clock, and more than a
	// second for the process: not synchronisation, but c05cefd held a
	// failure for a second of monotonic time, whatever the backoff.
	f.clock.Advance(500 * time.Millisecond)
	time.Sleep(1100 * time.Millisecond)
	poll(3)
	if n := f.sts.calls.Load(); n != 2 {
		t.Fatalf("%d fetches: a request did not wait for the backoff", n)
	}
	// Eighty seconds of outage, sixteen clients polling every five.
	for range 16 {
		f.clock.Advance(5 * time.Second)
		poll(16)
	}
	for i := 1; i < len(fetchedAt); i++ {
		if gap := fetchedAt[i].Sub(fetchedAt[i-1]); gap < backoff(i) {
			t.Errorf("fetch %d came %s after the one before, within the backoff (%s)", i+1, gap, backoff(i))
		}
	}
	// 1s, 2s, 4s, 8s, 16s, 32s in five-second polls: fetches at 0, 5, 10,
	// 15, 25, 45 and 80 seconds.
	if len(fetchedAt) != 7 {
		t.Errorf("%d STS calls in 80 s of outage, want 7: %v", len(fetchedAt), fetchedAt)
	}
	f.sts.fail.Store(nil)
	f.clock.Advance(time.Minute)
	f.wantServed("/")
}

// TestNoRefreshWindow: a negative RefreshWindow is none (rolecall's
// --refresh-window 0): credentials are served until they expire, never
// taken for the default window.
func TestNoRefreshWindow(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RefreshWindow = -1 })
	if _, err := f.srv.Warm(t.Context(), ""); err != nil {
		t.Fatal(err)
	}
	if got := f.sts.lastMinLife(); got != 0 {
		t.Errorf("the warm fetch asked for %s of life, want 0", got)
	}
	f.clock.Advance(55 * time.Minute) // 5m left: within the default window
	if a := f.wantServed("/"); a.AccessKeyID != "ASIATEST000000000001" {
		t.Errorf("served %s, want the credentials in hand", a.AccessKeyID)
	}
	if n := f.sts.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want the warm one", n)
	}
}
