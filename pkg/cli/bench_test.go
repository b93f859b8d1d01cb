package cli

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// BenchmarkCacheHit is the in-process part of a cache-hit `rolecall
// process`: command tree, flags, plan, one cache read, render. Process
// start-up is measured against baselines by scripts/bench.sh.
func BenchmarkCacheHit(b *testing.B) {
	srv := ststest.NewServer(ststest.DemoConfig())
	defer srv.Close()
	env := map[string]string{
		"ROLECALL_CACHE_DIR":    b.TempDir(),
		"AWS_ENDPOINT_URL_STS":  srv.URL(),
		"AWS_ACCESS_KEY_ID":     ststest.DemoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY": ststest.DemoSecretAccessKey,
		"USER":                  "bench",
	}
	args := []string{"process", ststest.DemoRoleARN("demo")}
	run := func() int {
		io := &IO{In: strings.NewReader(""), Out: io.Discard, ErrOut: io.Discard, Now: time.Now,
			Getenv: func(k string) string { return env[k] }}
		return Run(context.Background(), io, args)
	}
	if code := run(); code != 0 {
		b.Fatalf("warm-up exited %d", code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code := run(); code != 0 {
			b.Fatalf("exited %d", code)
		}
	}
	b.StopTimer()
	if n := srv.CallCount("AssumeRole"); n != 1 {
		b.Fatalf("%d AssumeRole calls, want 1 (hits only)", n)
	}
}

// BenchmarkCommandTree is the cost of building the Cobra tree alone, paid by
// every invocation.
func BenchmarkCommandTree(b *testing.B) {
	io := &IO{Getenv: func(string) string { return "" }}
	b.ReportAllocs()
	for b.Loop() {
		_ = NewCmdRoot(io)
	}
}
