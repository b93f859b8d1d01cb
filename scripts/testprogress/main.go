// Command testprogress reads `go test -json` on stdin and tells a person
// how the run goes while it runs (scripts/test.sh pipes into it):
//
//   - each package's result as soon as it is known, in the order they end:
//     "ok", "FAIL" (after the output of its failed tests and anything the
//     package printed outside a test, such as a timeout's panic) or
//     "no test files";
//   - each skipped test with its reason, so that no skip goes unseen;
//   - every -every (30s by default), what is still running: the packages
//     whose tests run, with their longest-running tests, or that packages
//     are still being built;
//   - at the end, a count of packages, and the failed ones again.
//
// It exits 1 when a package failed or did not build, 0 otherwise; lines
// that are not JSON (a go command's own errors) are printed as they come.
//
// Why a small reader rather than gotestsum: test.sh needs only these few
// lines, and a reader built from this module needs no download or pinned
// tool on a fresh machine, nor network in CI.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

func main() {
	every := flag.Duration("every", 30*time.Second, "how often to say what is still running")
	trim := flag.String("trim", "", "a prefix to cut from package names (the module path and a slash)")
	flag.Parse()
	tick := time.NewTicker(*every)
	defer tick.Stop()
	if failed := run(os.Stdin, os.Stdout, tick.C, time.Now, *trim); failed {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (cmd/test2json's TestEvent, and
// the build events of go test -json since Go 1.24).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Elapsed    float64
	Output     string
}

// pkgState is what is known of one package while its tests run.
type pkgState struct {
	output  []string            // printed outside any test
	tests   map[string][]string // each test's output, until it ends
	running map[string]time.Time
	order   []string // running tests in the order they started
}

// progress is the reader's state.
type progress struct {
	w        io.Writer
	now      func() time.Time
	start    time.Time
	trim     string // cut from package names
	pkgs     map[string]*pkgState
	builds   map[string][]string // build output by import path
	passed   int
	failed   []string
	finished int
}

// run reads events from r until it ends, writes the progress to w, and
// reports whether anything failed. A value on tick asks for the "still
// running" line.
func run(r io.Reader, w io.Writer, tick <-chan time.Time, now func() time.Time, trim string) (failed bool) {
	p := &progress{w: w, now: now, start: now(), trim: trim, pkgs: map[string]*pkgState{}, builds: map[string][]string{}}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return p.summary()
			}
			p.line(line)
		case <-tick:
			p.stillRunning()
		}
	}
}

func (p *progress) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(p.w, format, args...)
}

func (p *progress) line(line string) {
	var e event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil {
		p.printf("%s\n", line)
		return
	}
	switch e.Action {
	case "build-output":
		p.builds[e.ImportPath] = append(p.builds[e.ImportPath], e.Output)
		return
	case "build-fail":
		p.printf("%s", strings.Join(p.builds[e.ImportPath], ""))
		return
	}
	if e.Package == "" {
		return
	}
	if name := strings.TrimPrefix(e.Package, p.trim); name != "" {
		e.Package = name
	}
	s := p.pkgs[e.Package]
	if s == nil {
		s = &pkgState{tests: map[string][]string{}, running: map[string]time.Time{}}
		p.pkgs[e.Package] = s
	}
	if e.Test != "" {
		p.test(e, s)
		return
	}
	switch e.Action {
	case "output":
		// go test's own summary lines are the result line printed below.
		if o := strings.TrimSpace(e.Output); o != "FAIL" && o != "PASS" && !strings.HasPrefix(o, "FAIL\t") && !strings.HasPrefix(o, "ok  \t") {
			s.output = append(s.output, e.Output)
		}
	case "pass":
		p.passed++
		p.done(e.Package)
		p.printf("ok    %s %.1fs\n", e.Package, e.Elapsed)
	case "skip":
		p.done(e.Package)
		p.printf("      %s: no test files\n", e.Package)
	case "fail":
		p.failed = append(p.failed, e.Package)
		p.done(e.Package)
		out := strings.Join(s.output, "")
		p.printf("%s", out)
		if strings.Contains(out, "panic: test timed out after") {
			p.printf("FAIL  %s hung: a test was still running at go test's -timeout (above: what each goroutine was doing)\n", e.Package)
		}
		p.printf("FAIL  %s %.1fs\n", e.Package, e.Elapsed)
	}
}

// test handles an event of one test.
func (p *progress) test(e event, s *pkgState) {
	switch e.Action {
	case "run", "cont":
		// A parallel test pauses until its turn: it runs from "cont".
		s.running[e.Test] = p.now()
		if !slices.Contains(s.order, e.Test) {
			s.order = append(s.order, e.Test)
		}
	case "pause":
		delete(s.running, e.Test)
	case "output":
		s.tests[e.Test] = append(s.tests[e.Test], e.Output)
	case "pass", "skip", "fail":
		out := s.tests[e.Test]
		delete(s.tests, e.Test)
		delete(s.running, e.Test)
		switch e.Action {
		case "skip":
			p.printf("skip  %s %s: %s\n", e.Package, e.Test, skipReason(out))
		case "fail":
			// Printed now, not at the package's end: a test that fails
			// early is seen while the rest still run.
			p.printf("%s", strings.Join(out, ""))
		}
	}
}

// skipReason is the message a skipped test logged: its output without
// the framework's own "=== RUN" and "--- SKIP" lines.
func skipReason(out []string) string {
	var reason []string
	for _, l := range out {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		reason = append(reason, t)
	}
	if len(reason) == 0 {
		return "(no reason given)"
	}
	return strings.Join(reason, " ")
}

func (p *progress) done(pkg string) {
	p.finished++
	delete(p.pkgs, pkg)
}

// stillRunning says which packages run, each with its three
// longest-running tests that have not ended.
func (p *progress) stillRunning() {
	now := p.now()
	elapsed := now.Sub(p.start).Round(time.Second)
	names := make([]string, 0, len(p.pkgs))
	for name := range p.pkgs {
		names = append(names, name)
	}
	slices.Sort(names)
	if len(names) == 0 {
		p.printf("..... %s: %d packages done, the rest still building or waiting to start\n", elapsed, p.finished)
		return
	}
	var parts []string
	for _, name := range names {
		s := p.pkgs[name]
		var tests []string
		for _, t := range s.order {
			if _, ok := s.running[t]; ok && !hasRunningSubtest(s, t) {
				tests = append(tests, fmt.Sprintf("%s %s", t, now.Sub(s.running[t]).Round(time.Second)))
			}
		}
		s.order = slices.DeleteFunc(s.order, func(t string) bool { _, ok := s.running[t]; return !ok })
		part := name
		if len(tests) > 3 {
			tests = append(tests[:3], fmt.Sprintf("%d more", len(tests)-3))
		}
		if len(tests) > 0 {
			part += " (" + strings.Join(tests, ", ") + ")"
		}
		parts = append(parts, part)
	}
	p.printf("..... %s: %d packages done; running: %s\n", elapsed, p.finished, strings.Join(parts, "; "))
}

// hasRunningSubtest: a parent test waiting for its subtests is not worth
// naming beside them.
func hasRunningSubtest(s *pkgState, test string) bool {
	for t := range s.running {
		if strings.HasPrefix(t, test+"/") {
			return true
		}
	}
	return false
}

func (p *progress) summary() (failed bool) {
	elapsed := p.now().Sub(p.start).Round(time.Second)
	if len(p.failed) > 0 {
		p.printf("FAIL  %d packages failed in %s: %s (%d passed)\n", len(p.failed), elapsed, strings.Join(p.failed, " "), p.passed)
		return true
	}
	if len(p.pkgs) > 0 {
		// The stream ended with packages still running: go test was
		// killed, or a test binary died without a word.
		var names []string
		for name := range p.pkgs {
			names = append(names, name)
		}
		slices.Sort(names)
		p.printf("FAIL  the output ended with packages unfinished: %s\n", strings.Join(names, " "))
		return true
	}
	p.printf("ok    %d packages passed in %s\n", p.passed, elapsed)
	return false
}
