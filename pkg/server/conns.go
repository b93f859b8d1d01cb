package server

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"sync"
)

// Connections that have not shown the token.
//
// Any local user can connect to loopback. A client that opens connections
// and sends its headers a byte at a time (slowloris) would hold every slot
// of a fixed pool until the header timeout, and the token holder's
// connection would wait in the kernel's backlog behind them. So a
// connection is pending from its accept until its request has shown the
// right token; pending connections are few (maxPending), have a short
// deadline for their headers (pendingTimeout), and when one more arrives
// than there is room for, the oldest pending one is closed: an SDK sends
// its request as soon as it is connected, so the connection closed is
// never the one of a client that is about to be answered, however many
// the attacker opens. A connection that shows the token leaves the pending
// set and is bounded only by the request rate (tokens holders are this
// user's own programs).

// connGuard is a listener that keeps the pending connections.
type connGuard struct {
	net.Listener
	max     int
	evicted func(net.Conn) // told of each connection closed to make room

	mu      sync.Mutex
	pending list.List // of *guardedConn, oldest first
}

func newConnGuard(ln net.Listener, maxPending int, evicted func(net.Conn)) *connGuard {
	return &connGuard{Listener: ln, max: maxPending, evicted: evicted}
}

// Accept accepts a connection as pending, closing the oldest pending one
// when there are too many.
func (g *connGuard) Accept() (net.Conn, error) {
	c, err := g.Listener.Accept()
	if err != nil {
		return nil, err
	}
	gc := &guardedConn{Conn: c, guard: g}
	var oldest *guardedConn
	g.mu.Lock()
	if g.pending.Len() >= g.max {
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
	guard *connGuard
	elem  *list.Element
	once  sync.Once
	err   error
}

// trusted takes c out of the pending set: its request showed the token.
func (c *guardedConn) trusted() {
	c.guard.mu.Lock()
	defer c.guard.mu.Unlock()
	if c.elem != nil {
		c.guard.pending.Remove(c.elem)
		c.elem = nil
	}
}

// Close closes the connection once, whoever asks first: the guard making
// room, or net/http done with it.
func (c *guardedConn) Close() error {
	c.trusted() // leaves the pending set either way
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
		c.trusted()
	}
}
