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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
	"github.com/rolecall/rolecall/scripts/bench/benchkit"
)

func main() {
	bin := flag.String("bin", "", "directory with rolecall, hello and floor")
	runs := flag.Int("runs", 60, "runs of each program (medians)")
	concurrent := flag.Int("concurrent", 64, "concurrent cold calls")
	latency := flag.Duration("latency", 200*time.Millisecond, "emulated STS latency for the cold calls")
	fetches := flag.Int("fetches", 400, "endpoint fetches, each alternating with a cache-hit rolecall process (p50, p99)")
	endpointConcurrent := flag.Int("endpoint-concurrent", 1000, "concurrent fetches of a warm, then a cold endpoint")
	eksRuns := flag.Int("eks-runs", 15, "runs of rolecall eks token and aws eks get-token (medians)")
	eksOnly := flag.Bool("eks-only", false, "measure only the EKS token")
	flag.Parse()

	srv := ststest.NewServer(ststest.DemoConfig())
	defer srv.Close()
	work, err := os.MkdirTemp("", "rolecall-bench")
	check(err)
	defer func() { _ = os.RemoveAll(work) }()

	env := benchkit.Env(work, srv.URL())
	role := ststest.DemoRoleARN("demo")
	rolecall := filepath.Join(*bin, "rolecall")
	if *eksOnly {
		benchEKS(srv, env, rolecall, role, *eksRuns)
		return
	}

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
	// Wall time is what a user waits; CPU time and minor page faults are
	// steadier on a shared machine (start-up here is bound by page faults),
	// so each is measured for every run.
	samples := make([]sample, len(programs))
	calls := srv.CallCount("AssumeRole")
	for i := range *runs {
		for k := range programs {
			idx := (i + k) % len(programs)
			p := programs[idx]
			start := time.Now()
			cmd := exec.CommandContext(context.Background(), p.args[0], p.args[1:]...) //nolint:gosec // the programs under measurement
			cmd.Env = env
			check(cmd.Run())
			samples[idx].add(time.Since(start), cmd.ProcessState)
		}
	}
	for k, p := range programs {
		samples[k].maxRSS = peakRSS(env, p.args)
	}
	if srv.CallCount("AssumeRole") != calls {
		check(fmt.Errorf("cache hits made STS calls"))
	}
	fmt.Printf("cache hit, medians of %d alternating runs (CPU = user + system; faults = minor page faults):\n", *runs)
	fmt.Printf("  %-30s %9s %9s %7s %8s\n", "", "wall", "CPU", "faults", "max RSS")
	for k, p := range programs {
		s := samples[k]
		fmt.Printf("  %-30s %9s %9s %7d %6.1f MB\n", p.name, median(s.wall).Round(10*time.Microsecond),
			median(s.cpu).Round(10*time.Microsecond), medianInt(s.faults), float64(s.maxRSS)/1024)
	}
	ratio := func(a, b int) string {
		return fmt.Sprintf("%5.2fx wall, %5.2fx CPU, %5.2fx faults",
			float64(median(samples[a].wall))/float64(median(samples[b].wall)),
			float64(median(samples[a].cpu))/float64(median(samples[b].cpu)),
			float64(medianInt(samples[a].faults))/float64(medianInt(samples[b].faults)))
	}
	fmt.Printf("  rolecall / hello:    %s\n", ratio(2, 0))
	fmt.Printf("  rolecall / floor:    %s (goal <= 1.2x)\n", ratio(2, 1))
	fmt.Printf("  floor / hello:       %s (the cost of the dependencies)\n", ratio(1, 0))
	fmt.Printf("  rolecall / version:  %s (the hit path's own work)\n", ratio(2, 3))
	fmt.Printf("  peak RSS of a cache hit: %.1f MB (goal <= 10 MB; GNU time's figure, 0 without /usr/bin/time)\n", float64(samples[2].maxRSS)/1024)
	initSummary(env, rolecall)

	benchEndpoint(srv, env, rolecall, role, *fetches, *endpointConcurrent, *latency)
	srv.SetFaults()
	benchEKS(srv, env, rolecall, role, *eksRuns)

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

// sample is one program's measurements over the runs.
type sample struct {
	wall, cpu []time.Duration
	faults    []int64
	maxRSS    int64 // KiB
}

func (s *sample) add(wall time.Duration, ps *os.ProcessState) {
	s.wall = append(s.wall, wall)
	s.cpu = append(s.cpu, ps.UserTime()+ps.SystemTime())
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		s.faults = append(s.faults, ru.Minflt)
	}
}

// peakRSS is a program's peak resident set in KiB, measured by GNU time
// (/usr/bin/time, Debian's time). The rusage of a child of this Go process
// cannot tell: Go starts children with vfork, and Linux carries the
// parent's high-water mark into the child's across exec. Without GNU time
// it is 0 (not measured).
func peakRSS(env, args []string) int64 {
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		return 0
	}
	var most int64
	for range 5 {
		cmd := exec.CommandContext(context.Background(), "/usr/bin/time", append([]string{"-f", "rss %M"}, args...)...) //nolint:gosec // the programs under measurement
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		check(cmd.Run())
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		var kb int64
		if _, err := fmt.Sscanf(lines[len(lines)-1], "rss %d", &kb); err == nil {
			most = max(most, kb)
		}
	}
	return most
}

// initSummary prints what package initialisation costs rolecall
// (GODEBUG=inittrace=1 on `rolecall version`): the package count, the
// total, and the ten dearest, so that a regression is seen where it starts.
func initSummary(env []string, rolecall string) {
	cmd := exec.CommandContext(context.Background(), rolecall, "version")
	cmd.Env = append(env, "GODEBUG=inittrace=1")
	var trace bytes.Buffer
	cmd.Stderr = &trace
	check(cmd.Run())
	type pkgInit struct {
		name          string
		ms            float64
		bytes, allocs int64
	}
	var inits []pkgInit
	var total float64
	var bytesTotal, allocsTotal int64
	for _, line := range strings.Split(trace.String(), "\n") {
		// init PKG @T ms, CLOCK ms clock, BYTES bytes, ALLOCS allocs
		f := strings.Fields(line)
		if len(f) < 10 || f[0] != "init" {
			continue
		}
		var p pkgInit
		p.name = f[1]
		_, _ = fmt.Sscan(f[4], &p.ms)
		_, _ = fmt.Sscan(f[7], &p.bytes)
		_, _ = fmt.Sscan(f[9], &p.allocs)
		inits = append(inits, p)
		total += p.ms
		bytesTotal += p.bytes
		allocsTotal += p.allocs
	}
	sort.Slice(inits, func(i, j int) bool { return inits[i].ms > inits[j].ms })
	fmt.Printf("\npackage init (GODEBUG=inittrace=1, rolecall version): %d packages, %.2f ms, %d KB in %d allocations; dearest:\n",
		len(inits), total, bytesTotal/1024, allocsTotal)
	for _, p := range inits[:min(10, len(inits))] {
		fmt.Printf("  %6.3f ms %6d allocs  %s\n", p.ms, p.allocs, p.name)
	}
}

func medianInt(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
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
