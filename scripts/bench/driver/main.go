//go:build unix

// Command driver measures rolecall against baselines measured in the same
// run, alternating the programs so that machine noise hits them alike. It
// prints medians and ratios, never pass/fail: see scripts/bench.sh.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

func main() {
	bin := flag.String("bin", "", "directory with rolecall, hello and floor")
	runs := flag.Int("runs", 60, "runs of each program (medians)")
	concurrent := flag.Int("concurrent", 64, "concurrent cold calls")
	latency := flag.Duration("latency", 200*time.Millisecond, "emulated STS latency for the cold calls")
	fetches := flag.Int("fetches", 400, "endpoint fetches, each alternating with a cache-hit rolecall process (p50, p99)")
	endpointConcurrent := flag.Int("endpoint-concurrent", 1000, "concurrent fetches of a warm, then a cold endpoint")
	flag.Parse()

	srv := ststest.NewServer(ststest.DemoConfig())
	defer srv.Close()
	work, err := os.MkdirTemp("", "rolecall-bench")
	check(err)
	defer func() { _ = os.RemoveAll(work) }()

	env := append(os.Environ(),
		"HOME="+work,
		"AWS_CONFIG_FILE="+filepath.Join(work, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(work, "credentials"),
		"ROLECALL_CACHE_DIR="+filepath.Join(work, "cache"),
		"AWS_ENDPOINT_URL_STS="+srv.URL(),
		"AWS_ACCESS_KEY_ID="+ststest.DemoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+ststest.DemoSecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	role := ststest.DemoRoleARN("demo")
	rolecall := filepath.Join(*bin, "rolecall")

	// Warm the cache, then find the entry for the floor program to read.
	out, err := run(env, rolecall, "process", role)
	check(err)
	entries, _ := filepath.Glob(filepath.Join(work, "cache", "*.json"))
	if len(entries) == 0 {
		check(fmt.Errorf("no cache entry after a miss"))
	}
	_ = out

	programs := []struct {
		name string
		args []string
	}{
		{"hello", []string{filepath.Join(*bin, "hello")}},
		{"floor", []string{filepath.Join(*bin, "floor"), entries[0]}},
		{"rolecall process (cache hit)", []string{rolecall, "process", role}},
		// rolecall doing nothing: what the hit costs beyond this is the
		// hit path itself; what this costs beyond floor is the binary.
		{"rolecall version", []string{rolecall, "version"}},
	}
	times := make([][]time.Duration, len(programs))
	var maxRSS int64
	calls := srv.CallCount("AssumeRole")
	for i := range *runs {
		for k := range programs {
			p := programs[(i+k)%len(programs)]
			idx := (i + k) % len(programs)
			start := time.Now()
			cmd := exec.CommandContext(context.Background(), p.args[0], p.args[1:]...) //nolint:gosec // the programs under measurement
			cmd.Env = env
			check(cmd.Run())
			times[idx] = append(times[idx], time.Since(start))
			if idx == 2 {
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > maxRSS {
					maxRSS = ru.Maxrss
				}
			}
		}
	}
	if srv.CallCount("AssumeRole") != calls {
		check(fmt.Errorf("cache hits made STS calls"))
	}
	med := make([]time.Duration, len(programs))
	fmt.Printf("cache-hit latency, medians of %d alternating runs:\n", *runs)
	for k, p := range programs {
		med[k] = median(times[k])
		fmt.Printf("  %-30s %8s\n", p.name, med[k].Round(10*time.Microsecond))
	}
	fmt.Printf("  ratio rolecall / hello:       %6.2fx\n", float64(med[2])/float64(med[0]))
	fmt.Printf("  ratio rolecall / floor:       %6.2fx (goal <= 1.2x)\n", float64(med[2])/float64(med[1]))
	fmt.Printf("  ratio floor / hello:          %6.2fx (the cost of the dependencies)\n", float64(med[1])/float64(med[0]))
	fmt.Printf("  ratio rolecall / version:     %6.2fx (the hit path's own work)\n", float64(med[2])/float64(med[3]))
	fmt.Printf("  peak RSS of a cache hit:      %6.1f MB (goal <= 20 MB)\n", float64(maxRSS)/1024)

	benchEndpoint(srv, env, rolecall, role, *fetches, *endpointConcurrent, *latency)
	srv.SetFaults()

	// Cold: N concurrent processes with an empty cache and a slow STS.
	check(os.RemoveAll(filepath.Join(work, "cache")))
	srv.ResetCalls()
	srv.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: "latency", Latency: *latency})
	outs := make([][]byte, *concurrent)
	errs := make([]error, *concurrent)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range *concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = run(env, rolecall, "process", role)
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	failed, differ := 0, 0
	for i := range outs {
		if errs[i] != nil {
			failed++
		} else if !bytes.Equal(outs[i], outs[0]) {
			differ++
		}
	}
	fmt.Printf("\n%d concurrent cold `rolecall process` calls, STS latency %s:\n", *concurrent, *latency)
	fmt.Printf("  STS AssumeRole calls made:    %d (goal 1)\n", srv.CallCount("AssumeRole"))
	fmt.Printf("  wall time:                    %s (goal < 1s)\n", wall.Round(time.Millisecond))
	fmt.Printf("  failed: %d, different credentials: %d\n", failed, differ)
}

func run(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(context.Background(), name, args...) //nolint:gosec // the program under measurement
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", name, err, stderr.String())
	}
	return out, nil
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
