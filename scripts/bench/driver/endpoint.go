//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
	"github.com/rolecall/rolecall/scripts/bench/benchkit"
)

// endpoint is a running `rolecall serve`: its URL and token, from the
// dotenv lines it prints once it is ready.
type endpoint struct {
	cmd   *exec.Cmd
	uri   string
	token string
}

// startServe starts `rolecall serve ARGS -f dotenv --token-via env` and
// waits for its exports. Its stderr (a line per request) is discarded, as
// a terminal nobody reads would be; the lines are still written.
func startServe(env []string, rolecall string, args ...string) *endpoint {
	args = append([]string{"serve", "-f", "dotenv", "--token-via", "env"}, args...)
	cmd := exec.CommandContext(context.Background(), rolecall, args...) //nolint:gosec // the program under measurement
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	e := &endpoint{cmd: cmd}
	sc := bufio.NewScanner(out)
	for (e.uri == "" || e.token == "") && sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), "=")
		switch name {
		case "AWS_CONTAINER_CREDENTIALS_FULL_URI":
			e.uri = value
		case "AWS_CONTAINER_AUTHORIZATION_TOKEN":
			e.token = value
		}
	}
	if e.uri == "" || e.token == "" {
		check(fmt.Errorf("rolecall serve printed no endpoint: %w", sc.Err()))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return e
}

// stop ends serve and returns its peak RSS in KiB: VmHWM, read while it
// runs. Not the rusage of wait4: for a child a Go program starts (vfork,
// then exec) that includes the parent's own peak, this driver's, which
// is the larger after a thousand concurrent requests. Where there is no
// /proc, the rusage is all there is.
func (e *endpoint) stop() int64 {
	var hwm int64
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", e.cmd.Process.Pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				_, _ = fmt.Sscanf(strings.TrimSpace(v), "%d", &hwm)
			}
		}
	}
	check(e.cmd.Process.Signal(syscall.SIGTERM))
	_ = e.cmd.Wait()
	if ru, ok := e.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && hwm == 0 {
		return ru.Maxrss
	}
	return hwm
}

// fetch is one credential fetch of path, as an SDK process makes it; a
// refusal carries the endpoint's answer, for a person reading the run.
func (e *endpoint) fetch(client *http.Client, path string) error {
	err := benchkit.Fetch(client, e.uri+path, e.token)
	var se *benchkit.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("%w: %s", err, se.Body)
	}
	return err
}

// newConnectionClient opens a connection per request, as a client of the
// endpoint does (it closes each after its answer).
func newConnectionClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

// benchEndpoint measures the credential endpoint against a cache-hit
// `rolecall process` measured alternately in the same run, then 1,000
// concurrent fetches of a warm endpoint (no STS call) and of a cold one
// (one STS call), and the endpoint's peak RSS.
func benchEndpoint(srv *ststest.Server, env []string, rolecall, role string, n, concurrent int, latency time.Duration) {
	srv.SetFaults()
	e := startServe(env, rolecall, role)
	calls := srv.CallCount("AssumeRole")
	// Two series, run in turn and each first in every other round, so that
	// noise (and the caches a process run leaves cold) hits both alike: a
	// fetch as a client makes it (a new connection: the endpoint closes
	// each, see pkg/server), and a cache-hit process.
	client := newConnectionClient()
	series := []struct {
		name  string
		times []time.Duration
		run   func() error
	}{
		{"endpoint fetch", nil, func() error { return e.fetch(client, "") }},
		{"rolecall process (cache hit)", nil, func() error { _, err := run(env, rolecall, "process", role); return err }},
	}
	for i := range n {
		for k := range series {
			s := &series[(i+k)%len(series)]
			start := time.Now()
			check(s.run())
			s.times = append(s.times, time.Since(start))
		}
	}
	fmt.Printf("\ncredential endpoint (rolecall serve), %d fetches alternating with a cache-hit `rolecall process`:\n", n)
	for _, s := range series {
		fmt.Printf("  %-30s p50 %8s   p99 %8s\n", s.name, percentile(s.times, 50).Round(time.Microsecond), percentile(s.times, 99).Round(time.Microsecond))
	}
	fetch, hit := series[0].times, series[1].times
	fmt.Printf("  ratio process / endpoint:      p50 %6.1fx   p99 %6.1fx (goal p50 <= 0.5ms and >= 10x)\n",
		float64(percentile(hit, 50))/float64(percentile(fetch, 50)), float64(percentile(hit, 99))/float64(percentile(fetch, 99)))

	wall, failed := concurrentFetches(e, concurrent, "")
	fmt.Printf("  %d concurrent fetches, warm endpoint: %d STS calls (goal 0), %d failed, wall %s\n",
		concurrent, srv.CallCount("AssumeRole")-calls, failed, wall.Round(time.Millisecond))
	rss := e.stop()
	if srv.CallCount("AssumeRole") != calls {
		check(fmt.Errorf("a warm endpoint made STS calls"))
	}

	// Cold: an allowed role nobody asked for yet, under a session name no
	// cache entry has, with STS latency: all wait for one fetch.
	srv.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: "latency", Latency: latency})
	cold := startServe(env, rolecall, "--session-name", fmt.Sprintf("bench-cold-%d", time.Now().UnixNano()), "--allow-role", role)
	calls = srv.CallCount("AssumeRole")
	wall, failed = concurrentFetches(cold, concurrent, "role-arn/"+role)
	fmt.Printf("  %d concurrent fetches, cold endpoint, STS latency %s: %d STS call (goal 1), %d failed, wall %s\n",
		concurrent, latency, srv.CallCount("AssumeRole")-calls, failed, wall.Round(time.Millisecond))
	coldRSS := cold.stop()
	fmt.Printf("  peak RSS of a serving endpoint: %6.1f MB (goal <= 30 MB; warm %.1f MB, cold %.1f MB)\n",
		float64(max(rss, coldRSS))/1024, float64(rss)/1024, float64(coldRSS)/1024)
}

// concurrentFetches starts n fetches at once, each on its own connection,
// and returns the wall time and how many failed.
func concurrentFetches(e *endpoint, n int, path string) (time.Duration, int) {
	client := newConnectionClient()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := e.fetch(client, path); err != nil {
				mu.Lock()
				if failed == 0 {
					fmt.Fprintln(os.Stderr, "bench: first failed fetch:", err)
				}
				failed++
				mu.Unlock()
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	return time.Since(t0), failed
}

func percentile(d []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}
