//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoShowsBuildProgress (issue 23, item 12): on a machine whose module
// cache is empty, scripts/demo.sh says up front how long a first build
// takes, then a line per step and per module it downloads, instead of
// minutes of nothing but go's own lines. The modules come from a local
// GOPROXY serving this machine's module cache (no network); the build
// cache stays warm, so the compile steps are quick.
func TestDemoShowsBuildProgress(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		if os.Getenv("CI") != "" {
			t.Fatal("-short skips this test, and CI is set: run it")
		}
		t.Skip("runs scripts/demo.sh, which builds rolecall")
	}
	for _, prog := range []string{"bash", "go"} {
		if _, err := exec.LookPath(prog); err != nil {
			t.Fatalf("needs %s: %v", prog, err)
		}
	}
	// go test fetched only the modules its packages import; demo.sh's go
	// mod download wants every module go.mod names. Complete this
	// machine's module cache first (at once when it is warm).
	if out, err := exec.Command("go", "mod", "download").CombinedOutput(); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	downloads := filepath.Join(strings.TrimSpace(string(out)), "cache", "download")
	proxy := httptest.NewServer(http.FileServer(http.Dir(downloads)))
	t.Cleanup(proxy.Close)

	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(repo, "scripts", "demo.sh"))
	cmd.Env = append(os.Environ(),
		"GOMODCACHE="+t.TempDir(), "GOPROXY="+proxy.URL, "GOSUMDB=off", "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local", "NO_COLOR=1")
	got, err := cmd.CombinedOutput()
	text := string(got)
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, text)
	}
	for _, want := range []string{
		"the first build on a machine downloads the Go modules and compiles the AWS SDK, about 1 to 5 minutes",
		"build step 1/3: downloading the Go modules rolecall needs (go mod download)…",
		"  downloading github.com/aws/aws-sdk-go-v2 v",
		"build step 2/3: compiling rolecall…",
		"build step 3/3: compiling the STS emulator…",
		"demo finished",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo.sh did not say %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "  done in "); n != 3 {
		t.Errorf("%d steps said they were done, want 3:\n%s", n, text)
	}
	if strings.Contains(text, "go: downloading") {
		t.Errorf("go's own download lines reached the output:\n%s", text)
	}
}
