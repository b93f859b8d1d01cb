package server

import (
	"io"
	"net/http"
	"testing"

	"golang.org/x/time/rate"
)

// BenchmarkWarmFetch is one credential fetch from a warm endpoint over
// loopback, as an SDK makes it: a connection (the endpoint closes each
// after its answer), the request, the answer read. scripts/bench.sh
// measures the same against the real binary and a cache-hit `rolecall
// process`.
func BenchmarkWarmFetch(b *testing.B) {
	f := newFixture(b, func(o *Options) { o.RequestRate = rate.Inf })
	uri := f.serving()
	if _, err := f.srv.Warm(b.Context(), ""); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, uri, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", testToken)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	if n := f.sts.calls.Load(); n != 1 {
		b.Fatalf("%d fetches from STS, want the warm one", n)
	}
}

// BenchmarkServeHTTP is the handler alone: checks, lookup, write.
func BenchmarkServeHTTP(b *testing.B) {
	f := newFixture(b, func(o *Options) { o.RequestRate = rate.Inf })
	if _, err := f.srv.Warm(b.Context(), ""); err != nil {
		b.Fatal(err)
	}
	r := f.request("/")
	b.ReportAllocs()
	for b.Loop() {
		w := discardWriter{h: http.Header{}}
		f.srv.ServeHTTP(&w, r)
		if w.status != 0 && w.status != http.StatusOK {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
