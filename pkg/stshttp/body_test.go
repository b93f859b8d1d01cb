package stshttp

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

func TestLimitedBody(t *testing.T) {
	const limit = 100
	tests := []struct {
		name          string
		size          int
		contentLength int64 // -1: unknown, as for a chunked body
		wantErr       bool
		wantRead      int
	}{
		{"under the limit", limit - 1, -1, false, limit - 1},
		{"exactly the limit", limit, limit, false, limit},
		{"one byte over", limit + 1, -1, true, limit},
		{"far over", 10 * limit, -1, true, limit},
		{"declared over the limit", limit + 1, limit + 1, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newLimitedBody(io.NopCloser(bytes.NewReader(make([]byte, tt.size))), tt.contentLength, limit)
			got, err := io.ReadAll(b)
			if len(got) != tt.wantRead {
				t.Errorf("read %d bytes, want %d", len(got), tt.wantRead)
			}
			var tooLarge *BodyTooLargeError
			if gotErr := errors.As(err, &tooLarge); gotErr != tt.wantErr {
				t.Fatalf("ReadAll error = %v, want BodyTooLargeError: %v", err, tt.wantErr)
			}
			if !tt.wantErr {
				return
			}
			if tooLarge.Limit != limit {
				t.Errorf("Limit = %d, want %d", tooLarge.Limit, limit)
			}
			// The SDK drains the body before closing it: that must stop too.
			if n, err := io.Copy(io.Discard, b); n != 0 || !errors.As(err, &tooLarge) {
				t.Errorf("drain after the error read %d bytes, error %v", n, err)
			}
		})
	}
}

// hugeBodyServer answers every request with status and a body of 1 GiB,
// streamed (chunked) or with its length declared up front. It stops when
// the client hangs up or the GiB is sent.
//
// A client that reads past overrun bytes is not capping the body: the
// server then stops (ending the body early) and records it, so that such a
// client fails the test in moments instead of reading the GiB on every
// retry until the call's deadline.
type hugeBodyServer struct {
	srv      *httptest.Server
	requests atomic.Int64
	overran  atomic.Bool
}

const (
	hugeBody = 1 << 30
	// overrun is far more than the 1 MiB limit plus what the loopback
	// socket buffers take before the client hangs up (up to 4.5 MiB seen
	// here), and small enough that a client without the limit, decoding
	// it under the race detector, fails within seconds.
	overrun = 16 << 20
)

func startHugeBodyServer(t *testing.T, status int, declareLength bool) *hugeBodyServer {
	t.Helper()
	h := &hugeBodyServer{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		// Read the request first, as STS does.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		if declareLength {
			w.Header().Set("Content-Length", strconv.Itoa(hugeBody))
		}
		w.WriteHeader(status)
		// A well-formed start, so that the SDK's XML decoder keeps reading.
		start := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>`
		if status != http.StatusOK {
			start = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>`
		}
		if _, err := io.WriteString(w, start); err != nil {
			return
		}
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for sent := len(start); sent < hugeBody; sent += len(chunk) {
			if sent > overrun {
				h.overran.Store(true)
				return
			}
			if _, err := w.Write(chunk[:min(len(chunk), hugeBody-sent)]); err != nil {
				return
			}
		}
	}))
	h.srv.Config.ErrorLog = discardLog()
	t.Cleanup(h.srv.Close)
	return h
}

// TestHugeBodyFailsFast makes real STS calls, through the SDK's
// deserializers, to a server whose answer never ends: the call must fail
// with BodyTooLargeError, having read about 1 MiB (the server says when a
// client reads far more), in bounded memory, and not be retried. How fast
// is not asserted: a busy machine decides that.
func TestHugeBodyFailsFast(t *testing.T) {
	tests := []struct {
		name          string
		status        int
		declareLength bool
	}{
		{"200 streamed", http.StatusOK, false},
		{"403 streamed", http.StatusForbidden, false},
		{"200 with Content-Length", http.StatusOK, true},
		{"403 with Content-Length", http.StatusForbidden, true},
	}
	retryers := []struct {
		name string
		opts []func(*retry.StandardOptions)
	}{
		{"SDK default retryer", nil},
		{"with NoRetry", []func(*retry.StandardOptions){NoRetry, func(o *retry.StandardOptions) { o.MaxAttempts = 6 }}},
	}
	// Once a case finds the body uncapped, the others fail at once instead
	// of each decoding megabytes (seconds apiece under the race detector).
	var uncapped atomic.Bool
	for _, tt := range tests {
		for _, r := range retryers {
			t.Run(tt.name+"/"+r.name, func(t *testing.T) {
				if uncapped.Load() {
					t.Fatal("the 1 MiB cap is not applied (see the first case that failed)")
				}
				h := startHugeBodyServer(t, tt.status, tt.declareLength)
				c, err := NewClient(Options{})
				if err != nil {
					t.Fatal(err)
				}
				var attempts []error
				record := func(o *retry.StandardOptions) {
					o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
						attempts = append(attempts, err)
						return aws.UnknownTernary
					})}, o.Retryables...)
				}
				client := newSTS(c, h.srv.URL, retry.NewStandard(append(r.opts, record)...))

				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				_, err = getCallerIdentity(t, client)
				elapsed := time.Since(start)
				runtime.ReadMemStats(&after)

				if h.overran.Load() {
					uncapped.Store(true)
					t.Fatalf("the client read more than %d MiB of the body (error %v): the 1 MiB cap is not applied", overrun>>20, err)
				}
				var tooLarge *BodyTooLargeError
				if !errors.As(err, &tooLarge) {
					t.Fatalf("error = %v, want BodyTooLargeError", err)
				}
				if tooLarge.Limit != DefaultMaxBodyBytes {
					t.Errorf("Limit = %d, want %d", tooLarge.Limit, DefaultMaxBodyBytes)
				}
				if got := IsErrorRetryable(err); got != aws.FalseTernary {
					t.Errorf("IsErrorRetryable = %v, want false", got)
				}
				if len(attempts) != 1 {
					t.Errorf("%d attempts, want 1 (no retries): %v", len(attempts), attempts)
				}
				if n := h.requests.Load(); n != 1 {
					t.Errorf("server got %d requests, want 1", n)
				}
				// Loose: the limit is 1 MiB; without it the SDK reads the
				// whole GiB into memory, on success and error paths alike.
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
					t.Errorf("call allocated %d MiB", alloc>>20)
				}
				t.Logf("%d attempt(s), %v, %d KiB allocated: %v", len(attempts), elapsed, (after.TotalAlloc-before.TotalAlloc)>>10, err)
			})
		}
	}
}

func TestSmallBodyUnderACustomLimit(t *testing.T) {
	pki := newTestPKI(t)
	e := startTLSEmulator(t, pki.server)
	// GetCallerIdentity's answer is about 400 bytes.
	for _, tt := range []struct {
		limit   int64
		wantErr bool
	}{{4 << 10, false}, {100, true}} {
		c, err := NewClient(Options{CABundle: pki.writeCA(t), MaxBodyBytes: tt.limit})
		if err != nil {
			t.Fatal(err)
		}
		_, err = getCallerIdentity(t, newSTS(c, e.srv.URL, nil))
		var tooLarge *BodyTooLargeError
		if got := errors.As(err, &tooLarge); got != tt.wantErr {
			t.Errorf("limit %d: error %v, want BodyTooLargeError: %v", tt.limit, err, tt.wantErr)
		}
	}
}

// closedAfterDo is a request body like the SDK's: once its bytes are read,
// the next Read fails, as a read of the SDK's body does once the SDK has
// closed it after Do returned.
type closedAfterDo struct {
	r      *bytes.Reader
	closed bool
}

func (b *closedAfterDo) Read(p []byte) (int, error) {
	if b.r.Len() == 0 {
		return 0, errors.New("read on a closed request body")
	}
	return b.r.Read(p)
}

func (b *closedAfterDo) Close() error { b.closed = true; return nil }

// TestRequestBodyDetached: net/http reads a body once more after
// ContentLength bytes; Do must not let that read reach the caller's body.
func TestRequestBodyDetached(t *testing.T) {
	const form = "Action=GetCallerIdentity&Version=2011-06-15"
	var got atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Store(string(b))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := &closedAfterDo{r: bytes.NewReader([]byte(form))}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(form))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "ok" {
		t.Errorf("response %q, %v", b, err)
	}
	if got.Load() != form {
		t.Errorf("server got body %q, want %q", got.Load(), form)
	}
	if !body.closed {
		t.Error("Do did not close the request body")
	}
}
