package server

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Tests of the connection guard at its boundaries, on a real loopback
// listener: a client's connection waits in the kernel's backlog until the
// guard's Accept takes it, as under Serve.

// guardFixture is a guard over a loopback listener, with its connection
// clock set by the test and the connections it closed for room recorded.
type guardFixture struct {
	t       *testing.T
	g       *connGuard
	clock   *clock
	mu      sync.Mutex
	evicted []net.Conn
}

func newGuardFixture(t *testing.T, ln net.Listener, maxPending, maxTrusted int, evictAfter time.Duration) *guardFixture {
	t.Helper()
	gf := &guardFixture{t: t, clock: newClock()}
	gf.g = newConnGuard(ln, maxPending, maxTrusted, evictAfter, func(c net.Conn) {
		gf.mu.Lock()
		defer gf.mu.Unlock()
		gf.evicted = append(gf.evicted, c)
	})
	gf.g.now = gf.clock.Now
	return gf
}

func loopbackListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln
}

// dial connects a client, which waits in the backlog until accepted.
func (gf *guardFixture) dial() {
	gf.t.Helper()
	c, err := net.Dial("tcp", gf.g.Addr().String())
	if err != nil {
		gf.t.Fatal(err)
	}
	gf.t.Cleanup(func() { _ = c.Close() })
}

// accept dials a client and has the guard accept it.
func (gf *guardFixture) accept() *guardedConn {
	gf.t.Helper()
	gf.dial()
	c, err := gf.g.Accept()
	if err != nil {
		gf.t.Fatal(err)
	}
	gc := c.(*guardedConn)
	// The socket itself, not through the guard: after a panic under the
	// guard's lock, a cleanup that took it would hang instead of report.
	gf.t.Cleanup(func() { _ = gc.Conn.Close() })
	return gc
}

// wantCounts checks the pending connections (unless pending is -1) and
// the trusted slots taken.
func (gf *guardFixture) wantCounts(when string, pending, trusted int) {
	gf.t.Helper()
	gf.g.mu.Lock()
	p, n := gf.g.pending.Len(), gf.g.trustedN
	gf.g.mu.Unlock()
	if (pending >= 0 && p != pending) || n != trusted {
		gf.t.Fatalf("%s: %d pending and %d trusted, want %d and %d", when, p, n, pending, trusted)
	}
}

// wantEvicted checks which connections were closed for room, in order.
func (gf *guardFixture) wantEvicted(when string, want ...*guardedConn) {
	gf.t.Helper()
	gf.mu.Lock()
	defer gf.mu.Unlock()
	ok := len(gf.evicted) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = gf.evicted[i] == net.Conn(want[i])
	}
	if !ok {
		gf.t.Fatalf("%s: %d connections closed for room, want %d (the oldest first)", when, len(gf.evicted), len(want))
	}
}

// TestPendingConnectionsAtTheCap: with maxPending connections pending, a
// new one closes the oldest only once that has been pending evictAfter or
// longer, to the nanosecond; with twice maxPending, whatever its age.
func TestPendingConnectionsAtTheCap(t *testing.T) {
	t.Run("evictAfter", func(t *testing.T) {
		gf := newGuardFixture(t, loopbackListener(t), 2, maxTrustedConns, time.Second)
		first := gf.accept()
		gf.accept()
		gf.wantCounts("two accepted", 2, 0)
		gf.clock.Advance(time.Second - time.Nanosecond)
		gf.accept()
		gf.wantEvicted("the oldest pending a nanosecond short of evictAfter")
		gf.wantCounts("a nanosecond short", 3, 0)
		gf.clock.Advance(time.Nanosecond)
		gf.accept()
		gf.wantEvicted("the oldest pending exactly evictAfter", first)
		gf.wantCounts("exactly evictAfter", 3, 0)
	})
	t.Run("maxPending", func(t *testing.T) {
		gf := newGuardFixture(t, loopbackListener(t), 2, maxTrustedConns, 0)
		first := gf.accept()
		gf.accept()
		gf.wantEvicted("below maxPending")
		gf.accept() // maxPending pending when it came
		gf.wantEvicted("at maxPending", first)
		gf.wantCounts("at maxPending", 2, 0)
	})
	t.Run("twice maxPending", func(t *testing.T) {
		gf := newGuardFixture(t, loopbackListener(t), 2, maxTrustedConns, time.Hour)
		var conns []*guardedConn
		for range 4 {
			conns = append(conns, gf.accept())
		}
		gf.wantEvicted("below twice maxPending, all young")
		gf.accept() // twice maxPending pending when it came
		gf.wantEvicted("at twice maxPending", conns[0])
		gf.wantCounts("at twice maxPending", 4, 0)
	})
}

// acceptWatcher is a listener that calls its hook before each Accept.
type acceptWatcher struct {
	net.Listener
	mu     sync.Mutex
	before func()
}

func (l *acceptWatcher) Accept() (net.Conn, error) {
	l.mu.Lock()
	before := l.before
	l.mu.Unlock()
	if before != nil {
		before()
	}
	return l.Listener.Accept()
}

// TestTrustedSlots: a connection that shows the token leaves the pending
// set for a trusted slot, once however often it asks; while every slot is
// taken the guard accepts nothing (the next client waits in the backlog);
// a trusted connection that closes frees its slot for it.
func TestTrustedSlots(t *testing.T) {
	ln := &acceptWatcher{Listener: loopbackListener(t)}
	gf := newGuardFixture(t, ln, maxPendingConns, 2, evictAfter)
	waiting := make(chan struct{}, 1)
	gf.g.waiting = func() {
		select {
		case waiting <- struct{}{}:
		default:
		}
	}
	a, b := gf.accept(), gf.accept()
	gf.wantCounts("two accepted", 2, 0)
	a.trust()
	gf.wantCounts("one trusted", 1, 1)
	a.trust()
	gf.wantCounts("one trusted twice", 1, 1)
	b.trust()
	gf.wantCounts("both trusted", 0, 2)

	// Every slot is taken: the next Accept must wait for one before it
	// takes a connection from the listener.
	taken := make(chan struct{}, 1)
	ln.mu.Lock()
	ln.before = func() {
		select {
		case taken <- struct{}{}:
		default:
		}
	}
	ln.mu.Unlock()
	gf.dial()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := gf.g.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		accepted <- c
	}()
	select {
	case <-waiting:
	case <-taken:
		t.Fatal("a connection was accepted while both trusted slots were taken")
	case <-time.After(time.Minute):
		t.Fatal("hung: Accept neither waited for a trusted slot nor took a connection in a minute")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	gf.wantCounts("a trusted connection closed", -1, 1) // the waiting Accept may have taken the next
	var c net.Conn
	select {
	case c = <-accepted:
	case <-time.After(time.Minute):
		t.Fatal("hung: a trusted slot was freed, but no connection accepted in a minute")
	}
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(func() { _ = c.(*guardedConn).Conn.Close() })
	gf.wantCounts("the next one accepted", 1, 1)

	// A connection closed before it showed the token takes no slot when
	// its request is answered late.
	a.trust()
	gf.wantCounts("a closed connection trusted", 1, 1)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("closing twice: %v", err)
	}
	gf.wantCounts("both first ones closed", 1, 0)
}
