//go:build unix

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/cli"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// Load and soak: many rolecalls at once against the emulator, with the
// figures logged (go test -v shows them). Subprocesses run the rolecall
// every other end-to-end test runs (this package's test binary, built
// without -race once at the start: see plainPrograms), so a busy machine
// cannot fail the test on a build limit. The in-process runs carry the
// race detector under -race; the figures then measure the instrumentation
// too, which is why the tests assert counts and outputs, never times
// (scripts/bench.sh measures a release build).

// loadRoles is how many roles the load spreads over.
const loadRoles = 8

// loadConfig is the demo configuration plus roles load-0 … load-7, each
// trusting the demo user.
func loadConfig() ststest.Config {
	cfg := ststest.DemoConfig()
	for i := range loadRoles {
		cfg.Roles = append(cfg.Roles, ststest.Role{
			ARN:   loadRole(i),
			Trust: ststest.Trust{Principals: []string{ststest.DemoUserARN}},
		})
	}
	return cfg
}

func loadRole(i int) string { return ststest.DemoRoleARN(fmt.Sprintf("load-%d", i%loadRoles)) }

// raceEnabled reports whether this test binary has the race detector.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}

// TestLoad: 256 concurrent `rolecall process` calls across 8 roles with a
// cold cache and 200ms of STS latency make exactly 8 AssumeRole calls, and
// every call prints valid credentials, the same ones for the same role.
// Then 10,000 sequential cache hits make no STS call. Under -race (as in
// scripts/test.sh) the in-process hits are several times heavier: 64
// processes (8 a role, all contending for its lock) and 2,000 hits prove
// the same on a 2-core machine in a fraction of the time; scripts/soak.sh
// runs the full figures without it.
func TestLoad(t *testing.T) {
	t.Parallel()
	concurrent := 256
	if raceEnabled() {
		concurrent = 64
	}
	e := newRCEnv(t, loadConfig())
	e.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultLatency, Latency: 200 * time.Millisecond})

	outs := make([]string, concurrent)
	errs := make([]error, concurrent)
	ready := make(chan struct{})
	var wg sync.WaitGroup
	for i := range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// 256 processes on a busy machine queue for the CPU: the
			// lock timeout is raised from its default minute, and the
			// guard only catches a hang.
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			cmd := e.command(ctx, nil, "process", "--timeout", hangGuard.String(), loadRole(i))
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			<-ready
			if err := cmd.Run(); ctx.Err() != nil {
				errs[i] = fmt.Errorf("hung: still running after %s: %s", hangGuard, clip(stderr.String()))
			} else if err != nil {
				errs[i] = fmt.Errorf("%w: %s", err, clip(stderr.String()))
			} else if stderr.Len() > 0 {
				errs[i] = fmt.Errorf("stderr: %s", clip(stderr.String()))
			}
			outs[i] = stdout.String()
		}()
	}
	start := time.Now()
	close(ready)
	wg.Wait()
	cold := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d (%s): %v", i, loadRole(i), err)
		}
	}
	perRole := map[string]string{}
	keys := map[string]bool{}
	for i, out := range outs {
		c := parseProcess(t, out)
		role := loadRole(i)
		if first, ok := perRole[role]; !ok {
			perRole[role] = out
			if keys[c.AccessKeyID] {
				t.Fatalf("%s got another role's credentials", role)
			}
			keys[c.AccessKeyID] = true
		} else if out != first {
			t.Fatalf("call %d printed other credentials for %s than the first call for it", i, role)
		}
	}
	if got := e.sts.CallCount("AssumeRole"); got != loadRoles {
		t.Fatalf("%d concurrent cold calls made %d AssumeRole calls, want %d", concurrent, got, loadRoles)
	}
	if err := cacheProblems(e.cache); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d concurrent cold calls over %d roles (200ms STS latency): %d AssumeRole calls, wall %s",
		concurrent, loadRoles, loadRoles, cold.Round(time.Millisecond))

	// Sequential hits. In process through cli.Run, a fresh IO per call:
	// the whole command from flag parsing to the printed JSON, minus
	// process start, so 10,000 fit in a default test run. A sample of
	// real processes gives the per-process figure; with ROLECALL_SOAK set
	// 10,000 processes run too.
	e.sts.SetFaults()
	before := e.sts.CallCount("")
	hits := 10000
	if raceEnabled() {
		// The race detector makes each in-process run several times
		// slower; the figure that matters comes from a run without it.
		hits = 2000
	}
	start = time.Now()
	for i := range hits {
		var stdout, stderr bytes.Buffer
		io := &cli.IO{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr, Getenv: e.getenv, Now: time.Now}
		if code := cli.Run(context.Background(), io, []string{"process", loadRole(i)}); code != 0 || stderr.Len() > 0 {
			t.Fatalf("hit %d: exit %d\n%s", i, code, clip(stderr.String()))
		}
		if stdout.String() != perRole[loadRole(i)] {
			t.Fatalf("hit %d printed other credentials than the cache holds for %s", i, loadRole(i))
		}
	}
	inProcess := time.Since(start)

	processHits := 200
	switch {
	case os.Getenv("ROLECALL_SOAK") != "":
		processHits = 10000
	case raceEnabled():
		processHits = 50 // as the concurrent calls, scaled with the rest
	}
	start = time.Now()
	for i := range processHits {
		r := e.run("process", loadRole(i))
		if r.code != 0 || r.stderr != "" || r.stdout != perRole[loadRole(i)] {
			t.Fatalf("process hit %d: exit %d, stdout as cached: %t\n%s", i, r.code, r.stdout == perRole[loadRole(i)], clip(r.stderr))
		}
	}
	processes := time.Since(start)
	if got := e.sts.CallCount(""); got != before {
		t.Fatalf("cache hits made %d STS calls", got-before)
	}
	t.Logf("%d sequential hits in process: wall %s (%s each); %d as processes: wall %s (%s each); no STS call (race detector: %t)",
		hits, inProcess.Round(time.Millisecond), (inProcess / time.Duration(hits)).Round(time.Microsecond),
		processHits, processes.Round(time.Millisecond), (processes / time.Duration(processHits)).Round(time.Microsecond), raceEnabled())
}

// getenv is rolecall's environment for in-process runs.
func (e *rcEnv) getenv(name string) string { return e.vars[name] }

// TestSoak runs 16 workers doing a random mix of cache hits, misses,
// refreshes, clears, whoami and exports against one cache, while the
// emulator's clock swings so that fetched credentials are at times born
// inside the refresh window. Twelve workers run rolecall as processes, four
// run cli.Run in this process so that leaked file descriptors would show
// here. It lasts ROLECALL_SOAK (a Go duration, e.g. 5m), and 3s without it.
// No operation may fail; afterwards no descriptor, temporary file or lock
// may be left. It counts this process's descriptors, so unlike the other
// tests here it does not run in parallel: Go runs it alone, before them.
func TestSoak(t *testing.T) {
	duration := 3 * time.Second
	if v := os.Getenv("ROLECALL_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("ROLECALL_SOAK=%q: %v", v, err)
		}
		duration = d
	}
	const workers, inProcessWorkers = 16, 4
	e := newRCEnv(t, loadConfig())
	e.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultLatency, Latency: 20 * time.Millisecond})
	fdsBefore := openFDs(t)

	type tally struct{ ops, hits, refreshes, clears, whoamis, exports, sessions atomic.Int64 }
	var n tally
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	// The clock swings every second: credentials fetched while it is 50
	// minutes back expire 10 minutes from now, inside the refresh window,
	// so the next call for them is a miss.
	swingDone := make(chan struct{})
	go func() {
		defer close(swingDone)
		back := false
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if back {
					e.sts.Advance(50 * time.Minute)
				}
				return
			case <-tick.C:
				if back {
					e.sts.Advance(50 * time.Minute)
				} else {
					e.sts.Advance(-50 * time.Minute)
				}
				back = !back
			}
		}
	}()

	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			run := e.soakRunner(w < inProcessWorkers)
			for ctx.Err() == nil {
				role := loadRole(rng.IntN(loadRoles))
				var args []string
				var counter *atomic.Int64
				switch p := rng.IntN(100); {
				case p < 50:
					args, counter = []string{"process", role}, &n.hits
				case p < 62:
					args, counter = []string{"assume", "-f", "fish", role}, &n.exports
				case p < 72:
					args, counter = []string{"process", "--refresh", role}, &n.refreshes
				case p < 82:
					args, counter = []string{"cache", "clear", role}, &n.clears
				case p < 92:
					args, counter = []string{"process", "--session-name", fmt.Sprintf("soak-%d", rng.IntN(32)), role}, &n.sessions
				default:
					args, counter = []string{"whoami"}, &n.whoamis
				}
				if err := run(args); err != nil {
					errc <- fmt.Errorf("worker %d: rolecall %s: %w", w, strings.Join(args, " "), err)
					return
				}
				counter.Add(1)
				n.ops.Add(1)
			}
		}()
	}
	wg.Wait()
	<-swingDone
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if err := cacheProblems(e.cache); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, e.tmp); len(names) > 0 {
		t.Fatalf("TMPDIR holds %q after the soak", names)
	}
	// The in-process runs' SDK clients keep idle connections to the
	// emulator; closing it ends them, and then every descriptor opened
	// during the soak must be closed.
	e.sts.Close()
	var fdsAfter []string
	waitFor(t, "the soak's file descriptors are closed", func() bool {
		fdsAfter = openFDs(t)
		return len(fdsAfter) <= len(fdsBefore)
	})
	t.Logf("soak %s, %d workers (%d in process): %d operations (%.0f/s): %d hits, %d exports, %d refreshes, %d clears, %d other sessions, %d whoami; %d STS calls; no error, no leaked descriptor, temporary file or lock",
		duration, workers, inProcessWorkers, n.ops.Load(), float64(n.ops.Load())/duration.Seconds(),
		n.hits.Load(), n.exports.Load(), n.refreshes.Load(), n.clears.Load(), n.sessions.Load(), n.whoamis.Load(), e.sts.CallCount(""))
}

// soakRunner runs one rolecall command and checks that it succeeded with
// output and no error on stderr.
func (e *rcEnv) soakRunner(inProcess bool) func(args []string) error {
	check := func(code int, stdout, stderr string, args []string) error {
		// Another worker may have cleared the role (or never cached it):
		// cache clear then says so with exit 2, which is no failure here.
		if args[0] == "cache" && code == 2 && strings.HasPrefix(stderr, "rolecall: error: nothing cached matches ") {
			return nil
		}
		if code != 0 {
			return fmt.Errorf("exit %d: %s", code, clip(stderr))
		}
		if strings.Contains(stderr, "error") || strings.Contains(stderr, "warning") || strings.Contains(stderr, "panic") {
			return fmt.Errorf("stderr: %s", clip(stderr))
		}
		if args[0] != "cache" && stdout == "" {
			return errors.New("nothing on stdout")
		}
		return nil
	}
	if inProcess {
		return func(args []string) error {
			var stdout, stderr bytes.Buffer
			io := &cli.IO{In: strings.NewReader(""), Out: &stdout, ErrOut: &stderr, Getenv: e.getenv, Now: time.Now}
			code := cli.Run(context.Background(), io, args)
			return check(code, stdout.String(), stderr.String(), args)
		}
	}
	return func(args []string) error {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		cmd := e.command(ctx, nil, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("hung: still running after %s: %s", hangGuard, clip(stderr.String()))
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			return err
		}
		return check(code, stdout.String(), stderr.String(), args)
	}
}

// openFDs lists this process's open file descriptors (Linux: /proc).
func openFDs(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting descriptors needs /proc: %v", err)
	}
	fds := make([]string, 0, len(ents))
	for _, de := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", de.Name()))
		fds = append(fds, de.Name()+" -> "+target)
	}
	return fds
}
