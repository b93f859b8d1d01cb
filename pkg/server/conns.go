package server

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// evictAfter is how long a connection has been pending before it may be
// closed to make room for a new one (see below).
const evictAfter = 250 * time.Millisecond

// Connections that have not shown the token.
//
// Any local user can connect to loopback. A client that opens connections
// and sends its headers a byte at a time (slowloris) would hold every slot
// of a fixed pool until the header timeout, and the token holder's
// connection would wait in the kernel's backlog behind them. So a
// connection is pending from its accept until its request has shown the
// right token; pending connections have a short deadline for their
// headers (pendingTimeout), and past maxPending of them, the oldest is
// closed for each new one if it has been pending for evictAfter (an SDK
// sends its request as soon as it is connected: a connection that has
// sent nothing for that long is not a client about to be answered), and
// past twice maxPending whatever its age (a legitimate burst of more than
// that many connections at once is not waited for). So slowloris, however
// many connections it opens, never keeps the token holder out, and a
// build that starts a thousand SDK processes at once is not cut short.
// A connection that shows the token leaves the pending
// set and becomes trusted. Trusted connections are bounded too (maxTrusted,
// for memory: a build's thousand processes are served in a few rounds):
// while that many are open, no connection is accepted and new ones wait
// in the kernel's backlog. Only token holders can fill those slots.

// connGuard is a listener that keeps the pending connections.
type connGuard struct {
	net.Listener
	max, maxTrusted int
	evictAfter      time.Duration
	evicted         func(net.Conn) // told of each connection closed to make room

	mu       sync.Mutex
	pending  list.List // of *guardedConn, oldest first
	trustedN int
	freed    *sync.Cond // signalled when a trusted connection closes

	// Seams for tests, which set them before the first Accept: now is
	// the clock of a connection's age (time.Now), and waiting is called,
	// under mu, by an Accept about to wait for a trusted slot (a no-op),
	// so that a test sees it wait rather than guess how long to.
	now     func() time.Time
	waiting func()
}

func newConnGuard(ln net.Listener, maxPending, maxTrusted int, evictAfter time.Duration, evicted func(net.Conn)) *connGuard {
	g := &connGuard{Listener: ln, max: maxPending, maxTrusted: maxTrusted, evictAfter: evictAfter, evicted: evicted,
		now: time.Now, waiting: func() {}}
	g.freed = sync.NewCond(&g.mu)
	return g
}

// Accept accepts a connection as pending, closing the oldest pending one
// when there are too many; it waits while the trusted connections fill
// their slots.
func (g *connGuard) Accept() (net.Conn, error) {
	g.mu.Lock()
	for g.trustedN >= g.maxTrusted {
		g.waiting()
		g.freed.Wait()
	}
	g.mu.Unlock()
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardedConn{Conn: c, guard: g, accepted: g.now()}
	var oldest *guardedConn
	g.mu.Lock()
	if n := g.pending.Len(); n >= 2*g.max ||
		(n >= g.max && gc.accepted.Sub(g.pending.Front().Value.(*guardedConn).accepted) >= g.evictAfter) {
		oldest = g.pending.Remove(g.pending.Front()).(*guardedConn)
		oldest.elem = nil
	}
	gc.elem = g.pending.PushBack(gc)
	g.mu.Unlock()
	if oldest != nil {
		_ = oldest.Close()
		if g.evicted != nil {
			g.evicted(oldest)
		}
	}
	return gc, nil
}

// pendingCount is how many connections have not shown the token, for tests.
func (g *connGuard) pendingCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pending.Len()
}

// guardedConn is an accepted connection; elem is its place among the
// pending ones, nil once it showed the token or was closed.
type guardedConn struct {
	net.Conn
	guard    *connGuard
	accepted time.Time
	elem     *list.Element
	trusted  bool // holds one of the trusted slots
	closed   bool
	once     sync.Once
	err      error
}

// trust takes c out of the pending set into a trusted slot: its request
// showed the token.
func (c *guardedConn) trust() {
	g := c.guard
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.elem != nil {
		g.pending.Remove(c.elem)
		c.elem = nil
	}
	if !c.trusted && !c.closed {
		c.trusted = true
		g.trustedN++
	}
}

// Close closes the connection once, whoever asks first: the guard making
// room, or net/http done with it; its slot is freed.
func (c *guardedConn) Close() error {
	g := c.guard
	g.mu.Lock()
	if c.elem != nil {
		g.pending.Remove(c.elem)
		c.elem = nil
	}
	if c.trusted {
		c.trusted = false
		g.trustedN--
		g.freed.Signal()
	}
	c.closed = true
	g.mu.Unlock()
	c.once.Do(func() { c.err = c.Conn.Close() })
	return c.err
}

// connKey is the request context's key for its connection.
type connKey struct{}

// withConn is http.Server.ConnContext: it lets the handler find the
// connection of a request, to take it out of the pending set.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

// trustConn takes the connection of r out of the pending set.
func trustConn(r *http.Request) {
	if c, ok := r.Context().Value(connKey{}).(*guardedConn); ok {
		c.trust()
	}
}
