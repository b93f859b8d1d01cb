//go:build unix

// Command dos measures what another local user, without the token, can do
// to the token holder of `rolecall serve` (issue 21): the token holder's
// fetch latency (p50, p99, max) and failures, first with the endpoint
// alone, then under 1,000 slowloris connections and a flood of requests
// without the token at once, sent by a child process that runs as another
// user when this one runs as root (nobody, uid 65534 by default). With
// -aws, the AWS CLI's sts get-caller-identity too, timed whole (its own
// start-up included), alone and under the attack.
//
// Bounded: loopback only, the attack lasts -duration and keeps at most
// -slowloris connections and -flood-workers requests open. It prints
// figures, never pass/fail: see scripts/bench.sh.
//
//	go run ./scripts/bench/dos -rolecall /path/to/rolecall [-duration 20s] [-aws /usr/bin/aws]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
	"github.com/rolecall/rolecall/scripts/bench/benchkit"
)

func main() {
	rolecall := flag.String("rolecall", "", "the rolecall binary to measure")
	attackURI := flag.String("attack", "", "(internal) run the attack on this endpoint and report")
	slow := flag.Int("slowloris", 1000, "slowloris connections held open")
	workers := flag.Int("flood-workers", 16, "concurrent requests without the token, each on a new connection")
	duration := flag.Duration("duration", 20*time.Second, "how long the token holder fetches, alone and then under attack")
	interval := flag.Duration("interval", 50*time.Millisecond, "pause between the token holder's fetches")
	timeout := flag.Duration("timeout", 5*time.Second, "the token holder's timeout for one fetch (botocore gives 2 s an attempt, 3 attempts)")
	uid := flag.Int("attack-uid", 65534, "uid (and gid) of the attacking process when this one runs as root")
	awsCLI := flag.String("aws", "", "also run this AWS CLI (sts get-caller-identity with serve's exports) -aws-runs times, alone and under attack")
	awsRuns := flag.Int("aws-runs", 5, "runs of -aws")
	flag.Parse()
	if *attackURI != "" {
		runAttack(*attackURI, *slow, *workers, *duration)
		return
	}
	if *rolecall == "" {
		fail(errors.New("usage: dos -rolecall PATH"))
	}

	sts := ststest.NewServer(ststest.DemoConfig())
	defer sts.Close()
	work, err := os.MkdirTemp("", "rolecall-dos")
	fail(err)
	defer func() { _ = os.RemoveAll(work) }()
	env := benchkit.Env(work, sts.URL())
	serve := exec.CommandContext(context.Background(), *rolecall, "serve", "-q", "-f", "dotenv", "--token-via", "env", ststest.DemoRoleARN("demo")) //nolint:gosec // the program under measurement
	serve.Env = env
	out, err := serve.StdoutPipe()
	fail(err)
	fail(serve.Start())
	defer func() {
		_ = serve.Process.Signal(syscall.SIGTERM)
		_ = serve.Wait()
	}()
	var uri, token string
	sc := bufio.NewScanner(out)
	for (uri == "" || token == "") && sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), "=")
		switch name {
		case "AWS_CONTAINER_CREDENTIALS_FULL_URI":
			uri = value
		case "AWS_CONTAINER_AUTHORIZATION_TOKEN":
			token = value
		}
	}
	if uri == "" || token == "" {
		fail(fmt.Errorf("rolecall serve printed no endpoint: %w", sc.Err()))
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()

	fmt.Printf("the token holder's fetches of %s (a new connection each, timeout %s, every %s, for %s):\n", *rolecall, *timeout, *interval, *duration)
	report("alone", holder(uri, token, *duration, *interval, *timeout))
	cli := func() *fetchStats {
		if *awsCLI == "" {
			return nil
		}
		st := awsRunsStats(*awsCLI, env, sts.URL(), uri, token, *awsRuns)
		return &st
	}
	if st := cli(); st != nil {
		report(fmt.Sprintf("%s sts get-caller-identity, whole runs, alone", filepath.Base(*awsCLI)), *st)
	}

	self, err := os.Executable()
	fail(err)
	attack := exec.CommandContext(context.Background(), self, "-attack", uri, //nolint:gosec // this program
		"-slowloris", fmt.Sprint(*slow), "-flood-workers", fmt.Sprint(*workers), "-duration", (*duration + 10*time.Second).String())
	attack.Stderr = os.Stderr
	who := fmt.Sprintf("uid %d", os.Getuid())
	if os.Getuid() == 0 {
		attack.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(*uid), Gid: uint32(*uid)}} //nolint:gosec // a small uid from a flag
		who = fmt.Sprintf("uid %d", *uid)
	}
	aout, err := attack.StdoutPipe()
	fail(err)
	fail(attack.Start())
	asc := bufio.NewScanner(aout)
	if !asc.Scan() || asc.Text() != "ready" {
		fail(fmt.Errorf("the attack did not start: %q %w", asc.Text(), asc.Err()))
	}
	stats := holder(uri, token, *duration, *interval, *timeout)
	cliStats := cli()
	_ = attack.Process.Signal(syscall.SIGTERM)
	var lines []string
	for asc.Scan() {
		lines = append(lines, asc.Text())
	}
	_ = attack.Wait()
	report(fmt.Sprintf("under attack from %s (%d slowloris, %d flood workers)", who, *slow, *workers), stats)
	if cliStats != nil {
		report(fmt.Sprintf("%s sts get-caller-identity, whole runs, under attack", filepath.Base(*awsCLI)), *cliStats)
	}
	for _, l := range lines {
		fmt.Println("    attack:", l)
	}
}

// awsRunsStats runs the AWS CLI n times with serve's exports (the token
// itself: the CLI v2.9 reads no token file) and times each run whole.
func awsRunsStats(aws string, env []string, stsURL, uri, token string, n int) fetchStats {
	st := fetchStats{failures: map[string]int{}}
	for range n {
		cmd := exec.CommandContext(context.Background(), aws, "sts", "get-caller-identity", //nolint:gosec // the CLI under measurement
			"--region", "us-east-1", "--endpoint-url", stsURL, "--output", "text", "--query", "Arn")
		for _, kv := range env {
			if name, _, _ := strings.Cut(kv, "="); name != "AWS_ACCESS_KEY_ID" && name != "AWS_SECRET_ACCESS_KEY" {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "AWS_CONTAINER_CREDENTIALS_FULL_URI="+uri, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+token)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		st.times = append(st.times, time.Since(start))
		if err != nil || !strings.Contains(string(out), "assumed-role/demo/") {
			line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
			st.failures["aws: "+clipLine(line)]++
		}
	}
	return st
}

func clipLine(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// fetchStats are the token holder's fetches.
type fetchStats struct {
	times    []time.Duration
	failures map[string]int
}

// holder fetches as an SDK does, a new connection each time, for d.
func holder(uri, token string, d, interval, timeout time.Duration) fetchStats {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: timeout}
	st := fetchStats{failures: map[string]int{}}
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		start := time.Now()
		err := benchkit.Fetch(client, uri, token)
		st.times = append(st.times, time.Since(start))
		if err != nil {
			st.failures[classify(err)]++
		}
		time.Sleep(interval)
	}
	return st
}

func classify(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if strings.HasPrefix(err.Error(), "status ") {
		return err.Error()
	}
	return "connection error"
}

func report(what string, st fetchStats) {
	failed := 0
	var kinds []string
	for k, n := range st.failures {
		failed += n
		kinds = append(kinds, fmt.Sprintf("%s: %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Printf("  %-60s %5d fetches  p50 %9s  p99 %9s  max %9s  failed %d %v\n", what, len(st.times),
		pct(st.times, 50).Round(10*time.Microsecond), pct(st.times, 99).Round(10*time.Microsecond), pct(st.times, 100).Round(10*time.Microsecond), failed, kinds)
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// runAttack holds n slowloris connections (reopening each the server
// closes) and floods the endpoint with requests without the token from
// workers goroutines, for d at most; it prints "ready" once the slowloris
// connections are open, and its counts when it ends (SIGTERM or d).
func runAttack(uri string, n, workers int, d time.Duration) {
	u, err := url.Parse(uri)
	fail(err)
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		fail(fmt.Errorf("the attack is for loopback only, not %s", u.Host))
	}
	addr := u.Host
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	stop := make(chan os.Signal, 1)
	go func() {
		<-stop
		cancel()
	}()
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	var dials, reopened, flood, floodErr atomic.Int64
	var wg sync.WaitGroup
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	ready := make(chan struct{}, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for ctx.Err() == nil {
				c, err := dialer.DialContext(ctx, "tcp", addr)
				dials.Add(1)
				if err != nil {
					continue
				}
				if !first {
					reopened.Add(1)
				}
				_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+addr+"\r\n")
				if first {
					ready <- struct{}{}
					first = false
				}
				// A header line a second, never the end of the headers.
				done := make(chan struct{})
				go func() {
					_, _ = io.Copy(io.Discard, c)
					close(done)
				}()
				tick := time.NewTicker(time.Second)
			hold:
				for {
					select {
					case <-ctx.Done():
						break hold
					case <-done:
						break hold
					case <-tick.C:
						_, _ = io.WriteString(c, "X-Slow: 1\r\n")
					}
				}
				tick.Stop()
				_ = c.Close()
			}
		}()
	}
	for range n {
		<-ready
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
				resp, err := client.Do(req)
				if err != nil {
					floodErr.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				flood.Add(1)
			}
		}()
	}
	fmt.Println("ready")
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("flood: %d requests without the token answered (%.0f/s), %d failed\n", flood.Load(), float64(flood.Load())/secs, floodErr.Load())
	fmt.Printf("slowloris: %d connections dialled, %d reopened after the server closed them\n", dials.Load(), reopened.Load())
}

func fail(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "dos:", err)
		os.Exit(1)
	}
}
