package ststest

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"strconv"
)

func (s *Server) headers(w http.ResponseWriter, f wireFormat, requestID string, a answer) {
	h := w.Header()
	h.Set("Content-Type", f.contentType())
	h.Set("X-Amzn-Requestid", requestID)
	// AWS sends Date on every answer; the SDKs derive their clock skew
	// correction from it.
	h.Set("Date", s.requestNow().UTC().Format(http.TimeFormat))
	for k, vs := range a.header {
		h[k] = vs
	}
}

func (s *Server) write(w http.ResponseWriter, f wireFormat, requestID string, a answer) {
	s.headers(w, f, requestID, a)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// writeTruncated sends the headers with the full Content-Length but only half
// of the body, then closes the connection: what a client sees when a
// connection breaks mid-answer.
func (s *Server) writeTruncated(w http.ResponseWriter, f wireFormat, requestID string, a answer) {
	half := a
	half.body = a.body[:len(a.body)/2]
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.write(w, f, requestID, half)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer func() { _ = conn.Close() }()
	s.headers(w, f, requestID, a)
	writeRawResponse(buf, a.status, w.Header(), len(a.body), half.body)
}

func writeRawResponse(buf *bufio.ReadWriter, status int, h http.Header, contentLength int, body []byte) {
	_, _ = fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Set("Content-Length", strconv.Itoa(contentLength))
	h.Set("Connection", "close")
	_ = h.Write(buf)
	_, _ = buf.WriteString("\r\n")
	_, _ = buf.Write(body)
	_ = buf.Flush()
}

// abortConnection ends a call that will get no answer: net/http closes the
// connection instead of sending the empty 200 a returning handler would.
func abortConnection() {
	panic(http.ErrAbortHandler)
}

// dropConnection closes the connection without a word.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		// Reset rather than close gracefully, like a broken peer.
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// newRequestID makes a UUID-shaped request ID like STS's.
func newRequestID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
