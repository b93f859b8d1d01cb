package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// clock is a fake time source the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// stream is a run of two packages as go test -json prints it (abridged):
// pkg/a passes with a skipped test, pkg/b fails one test and pkg/c does
// not build.
const stream = `{"Action":"start","Package":"example/a"}
{"Action":"start","Package":"example/b"}
{"Action":"run","Package":"example/a","Test":"TestOne"}
{"Action":"output","Package":"example/a","Test":"TestOne","Output":"=== RUN   TestOne\n"}
{"Action":"run","Package":"example/b","Test":"TestBad"}
{"Action":"output","Package":"example/b","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"output","Package":"example/b","Test":"TestBad","Output":"    b_test.go:9: got 1, want 2\n"}
{"Action":"output","Package":"example/b","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"example/b","Test":"TestBad","Elapsed":0}
{"Action":"output","Package":"example/a","Test":"TestOne","Output":"    a_test.go:5: needs zsh\n"}
{"Action":"output","Package":"example/a","Test":"TestOne","Output":"--- SKIP: TestOne (0.00s)\n"}
{"Action":"skip","Package":"example/a","Test":"TestOne","Elapsed":0}
{"Action":"output","Package":"example/b","Output":"FAIL\n"}
{"Action":"fail","Package":"example/b","Elapsed":1.5}
{"Action":"output","Package":"example/a","Output":"PASS\n"}
{"Action":"pass","Package":"example/a","Elapsed":2.25}
{"ImportPath":"example/c [example/c.test]","Action":"build-output","Output":"# example/c\n"}
{"ImportPath":"example/c [example/c.test]","Action":"build-output","Output":"c.go:3:1: syntax error\n"}
{"ImportPath":"example/c [example/c.test]","Action":"build-fail"}
{"Action":"start","Package":"example/c"}
{"Action":"output","Package":"example/c","Output":"FAIL\texample/c [build failed]\n"}
{"Action":"fail","Package":"example/c","Elapsed":0,"FailedBuild":"example/c [example/c.test]"}
{"Action":"start","Package":"example/d"}
{"Action":"output","Package":"example/d","Output":"?   \texample/d\t[no test files]\n"}
{"Action":"skip","Package":"example/d","Elapsed":0}
go: warning: a line that is not JSON
`

func TestRunReportsEachPackageAsItEnds(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	failed := run(strings.NewReader(stream), &out, nil, c.now, "")
	if !failed {
		t.Error("a failed package and a failed build reported as success")
	}
	want := `    b_test.go:9: got 1, want 2
--- FAIL: TestBad (0.00s)
skip  example/a TestOne: a_test.go:5: needs zsh
FAIL  example/b 1.5s
ok    example/a 2.2s
# example/c
c.go:3:1: syntax error
FAIL  example/c 0.0s
      example/d: no test files
go: warning: a line that is not JSON
FAIL  2 packages failed in 0s: example/b example/c (1 passed)
`
	got := strings.ReplaceAll(out.String(), "=== RUN   TestBad\n", "")
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunSucceedsWhenAllPass(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	in := `{"Action":"start","Package":"example/a"}
{"Action":"pass","Package":"example/a","Elapsed":1}
`
	if run(strings.NewReader(in), &out, nil, c.now, "example/") {
		t.Fatalf("reported a failure:\n%s", out.String())
	}
	if !strings.HasPrefix(out.String(), "ok    a 1.0s\n") {
		t.Errorf("the package is not named without the prefix:\n%s", out.String())
	}
	if !strings.HasSuffix(out.String(), "ok    1 packages passed in 0s\n") {
		t.Errorf("no closing line:\n%s", out.String())
	}
}

// TestRunSaysHungAtTheTimeout: go test's -timeout panics; the reader says
// what that means.
func TestRunSaysHungAtTheTimeout(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	in := `{"Action":"start","Package":"example/a"}
{"Action":"output","Package":"example/a","Output":"panic: test timed out after 20m0s\n"}
{"Action":"fail","Package":"example/a","Elapsed":1200}
`
	if !run(strings.NewReader(in), &out, nil, c.now, "") {
		t.Fatal("a timeout reported as success")
	}
	if !strings.Contains(out.String(), "FAIL  example/a hung: ") {
		t.Errorf("no line says hung:\n%s", out.String())
	}
}

// TestRunFailsWhenTheStreamStopsEarly: a go test killed mid-run leaves
// packages without a result, which is no success.
func TestRunFailsWhenTheStreamStopsEarly(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	in := `{"Action":"start","Package":"example/a"}
{"Action":"run","Package":"example/a","Test":"TestHang"}
`
	if !run(strings.NewReader(in), &out, nil, c.now, "") {
		t.Fatalf("an unfinished package reported as success:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "unfinished: example/a") {
		t.Errorf("the unfinished package is not named:\n%s", out.String())
	}
}

func TestStillRunningNamesTheLongestRunningLeafTests(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	p := &progress{w: &out, now: c.now, start: c.now(), trim: "example/", pkgs: map[string]*pkgState{}, builds: map[string][]string{}}
	p.stillRunning()
	for _, l := range []string{
		`{"Action":"start","Package":"example/a"}`,
		`{"Action":"run","Package":"example/a","Test":"TestScripts"}`,
		`{"Action":"run","Package":"example/a","Test":"TestScripts/one"}`,
		`{"Action":"run","Package":"example/a","Test":"TestScripts/two"}`,
		`{"Action":"run","Package":"example/a","Test":"TestLoad"}`,
		`{"Action":"run","Package":"example/a","Test":"TestSoak"}`,
		`{"Action":"run","Package":"example/a","Test":"TestWaiting"}`,
		`{"Action":"pause","Package":"example/a","Test":"TestWaiting"}`,
		`{"Action":"start","Package":"example/b"}`,
		`{"Action":"pass","Package":"example/c","Elapsed":1}`,
	} {
		p.line(l)
		c.t = c.t.Add(10 * time.Second)
	}
	p.line(`{"Action":"pass","Package":"example/a","Test":"TestScripts/one"}`)
	out.Reset()
	p.stillRunning()
	want := "..... 1m40s: 1 packages done; running: a (TestScripts/two 1m10s, TestLoad 1m0s, TestSoak 50s); b\n"
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	// A paused parallel test counts from when it continues, once.
	p.line(`{"Action":"cont","Package":"example/a","Test":"TestWaiting"}`)
	c.t = c.t.Add(5 * time.Second)
	for _, test := range []string{"TestScripts", "TestScripts/two", "TestLoad", "TestSoak"} {
		p.line(`{"Action":"pass","Package":"example/a","Test":"` + test + `"}`)
	}
	out.Reset()
	p.stillRunning()
	if want := "..... 1m45s: 1 packages done; running: a (TestWaiting 5s); b\n"; out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
}

func TestStillRunningWhileBuilding(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	var out bytes.Buffer
	p := &progress{w: &out, now: c.now, start: c.now(), trim: "example/", pkgs: map[string]*pkgState{}, builds: map[string][]string{}}
	c.t = c.t.Add(30 * time.Second)
	p.stillRunning()
	if want := "..... 30s: 0 packages done, the rest still building or waiting to start\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
