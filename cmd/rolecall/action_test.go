//go:build unix

package main

// The GitHub Action (action.yml, scripts/action/run.sh) run as a runner
// runs it: the composite step's env evaluated from the inputs and
// action.yml's defaults, its `run` written to a file and run with
// `bash --noprofile --norc -eo pipefail` (the runner's `shell: bash`), with
// the runner's variables (RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP,
// RUNNER_TOOL_CACHE, GITHUB_ENV, GITHUB_OUTPUT, GITHUB_PATH) and the
// OIDC token endpoint of the emulator. The release comes from a local HTTP
// server through the download-url input, laid out as GoReleaser writes a
// release (rolecall_VERSION_OS_ARCH.tar.gz, .zip for Windows, and
// checksums.txt): built here from the test binary, which runs as rolecall
// when its name is rolecall (testscript.Main), so nothing is compiled.
// scripts/release-check.sh runs the same script once against the real
// snapshot release in dist/.

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// actionVersion is the release the tests serve.
const actionVersion = "1.4.2"

// actionFile is action.yml as the tests read it.
type actionFile struct {
	Inputs map[string]struct {
		Required bool   `yaml:"required"`
		Default  string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string `yaml:"using"`
		Steps []struct {
			ID    string            `yaml:"id"`
			Shell string            `yaml:"shell"`
			Env   map[string]string `yaml:"env"`
			Run   string            `yaml:"run"`
			Uses  string            `yaml:"uses"`
		} `yaml:"steps"`
	} `yaml:"runs"`
}

func readAction(t *testing.T) actionFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "action.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var a actionFile
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	return a
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// releaseFile is a file of a release archive.
type releaseFile struct {
	name string
	data []byte
}

// gzipTar is a .tar.gz of files, each 0755. Stored, not compressed: still
// gzip as tar -z reads it, and the test binary (tens of megabytes) is not
// deflated by race-instrumented code for seconds.
func gzipTar(t *testing.T, files ...releaseFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipOf is a .zip of files, each 0755.
func zipOf(t *testing.T, files ...releaseFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Store}
		h.SetMode(0o755)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// release is a release's files by name, with checksums.txt as GoReleaser
// writes it: "SHA256  NAME" a line, sorted by name.
type release map[string][]byte

func (r release) withChecksums() release {
	names := make([]string, 0, len(r))
	for name := range r {
		names = append(names, name)
	}
	sort.Strings(names)
	var sums strings.Builder
	for _, name := range names {
		fmt.Fprintf(&sums, "%x  %s\n", sha256.Sum256(r[name]), name)
	}
	r["checksums.txt"] = []byte(sums.String())
	return r
}

// newRelease makes the six archives of a release, each holding README.md
// and the binary (rolecall, or rolecall.exe for Windows) with the content
// bin gives for the OS.
func newRelease(t *testing.T, version string, bin func(goos string) []byte) release {
	t.Helper()
	r := release{}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		for _, arch := range []string{"amd64", "arm64"} {
			name := fmt.Sprintf("rolecall_%s_%s_%s", version, goos, arch)
			readme := releaseFile{"README.md", []byte("# rolecall\n")}
			if goos == "windows" {
				r[name+".zip"] = zipOf(t, readme, releaseFile{"rolecall.exe", bin(goos)})
			} else {
				r[name+".tar.gz"] = gzipTar(t, readme, releaseFile{"rolecall", bin(goos)})
			}
		}
	}
	return r.withChecksums()
}

// The release with the test binary as rolecall is built once: its archive
// is tens of megabytes.
var (
	realReleaseOnce sync.Once
	realRelease     release
	realReleaseErr  error
)

// testBinaryRelease is a release whose binary, for this machine's OS and
// architecture, is the test binary (rolecall when so named); the other
// archives hold a stub.
func testBinaryRelease(t *testing.T) release {
	t.Helper()
	realReleaseOnce.Do(func() {
		path, err := exec.LookPath("rolecall") // testscript.Main put it on PATH
		if err != nil {
			realReleaseErr = err
			return
		}
		data, err := os.ReadFile(path)
		if err != nil {
			realReleaseErr = err
			return
		}
		r := release{}
		name := fmt.Sprintf("rolecall_%s_%s_%s.tar.gz", actionVersion, runtime.GOOS, runtime.GOARCH)
		r[name] = gzipTar(t, releaseFile{"README.md", []byte("# rolecall\n")}, releaseFile{"rolecall", data})
		realRelease = r.withChecksums()
	})
	if realReleaseErr != nil {
		t.Fatalf("the release of the test binary: %v", realReleaseErr)
	}
	return realRelease
}

// releaseServer serves releases as GitHub does: /releases/download/TAG/FILE,
// and /releases/latest redirecting to /releases/tag/LATEST (v1.4.2, the
// newest). It counts the requests for each path.
type releaseServer struct {
	*httptest.Server
	mu       sync.Mutex
	tags     map[string]release
	latest   string
	requests map[string]int
}

func newReleaseServer(t *testing.T, tags map[string]release) *releaseServer {
	t.Helper()
	rs := &releaseServer{tags: tags, latest: "v" + actionVersion, requests: map[string]int{}}
	rs.Server = httptest.NewServer(http.HandlerFunc(rs.serve))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *releaseServer) serve(w http.ResponseWriter, r *http.Request) {
	rs.mu.Lock()
	rs.requests[r.URL.Path]++
	rs.mu.Unlock()
	switch {
	case r.URL.Path == "/releases/latest":
		http.Redirect(w, r, "/releases/tag/"+rs.latest, http.StatusFound)
	case strings.HasPrefix(r.URL.Path, "/releases/tag/"):
		_, _ = fmt.Fprintln(w, "release page")
	default:
		tag, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/releases/download/"), "/")
		data, ok := rs.tags[tag][file]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}
}

// downloads is the number of requests for files of releases.
func (rs *releaseServer) downloads() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	n := 0
	for path, count := range rs.requests {
		if strings.HasPrefix(path, "/releases/download/") {
			n += count
		}
	}
	return n
}

func (rs *releaseServer) downloadURL() string { return rs.URL + "/releases/download" }

// runner is a GitHub-hosted runner's job: its directories and variables. A
// second run on the same runner keeps RUNNER_TOOL_CACHE.
type runner struct {
	t                               *testing.T
	work, temp, toolCache, home     string
	env, output, path               string
	sts                             *ststest.Server
	vars                            map[string]string
	stepCount                       int
	lastStdout, lastStderr          string
	lastOutputs, lastEnv            map[string]string
	goos, runnerOS, runnerArch, ref string
}

// needPrograms skips the test when one of the programs is missing, and
// fails it instead where CI is set (.ci/run installs them).
func needPrograms(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		ok, err := haveProgram("have:" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Skipf("%s is not installed", name)
		}
	}
}

func newRunner(t *testing.T, sts *ststest.Server) *runner {
	t.Helper()
	// What a GitHub-hosted runner has and run.sh uses.
	needPrograms(t, "bash", "curl", "tar", "unzip", "sha256sum")
	work := t.TempDir()
	r := &runner{
		t: t, work: work, sts: sts,
		temp:      filepath.Join(work, "runner-temp"),
		toolCache: filepath.Join(work, "toolcache"),
		home:      filepath.Join(work, "home"),
		env:       filepath.Join(work, "github_env"),
		output:    filepath.Join(work, "github_output"),
		path:      filepath.Join(work, "github_path"),
		ref:       "v" + actionVersion,
	}
	r.runnerOS, r.runnerArch = map[string]string{"linux": "Linux", "darwin": "macOS"}[runtime.GOOS], map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	for _, dir := range []string{r.temp, r.toolCache, filepath.Join(r.home, ".aws")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	r.vars = map[string]string{
		"PATH":                           os.Getenv("PATH"),
		"HOME":                           r.home,
		"AWS_CONFIG_FILE":                filepath.Join(r.home, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE":    filepath.Join(r.home, ".aws", "credentials"),
		"ROLECALL_CACHE_DIR":             filepath.Join(work, "cache"),
		"AWS_EC2_METADATA_DISABLED":      "true",
		"GORACE":                         raceOptions(),
		"CI":                             "true",
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_RUN_ID":                  "4242",
		"GITHUB_RUN_ATTEMPT":             "1",
		"GITHUB_REPOSITORY":              "example/app",
		"GITHUB_WORKFLOW":                "deploy",
		"GITHUB_ACTION":                  "__rolecall_rolecall",
		"GITHUB_ACTOR":                   "octocat",
		"GITHUB_SHA":                     "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF":                     "refs/heads/main",
		"RUNNER_TEMP":                    r.temp,
		"RUNNER_TOOL_CACHE":              r.toolCache,
		"GITHUB_ENV":                     r.env,
		"GITHUB_OUTPUT":                  r.output,
		"GITHUB_PATH":                    r.path,
		"GITHUB_ACTION_PATH":             repoRoot(t),
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": ststest.DemoGitHubRequestToken,
	}
	if sts != nil {
		r.vars["AWS_ENDPOINT_URL_STS"] = sts.URL()
		r.vars["ACTIONS_ID_TOKEN_REQUEST_URL"] = sts.URL() + "/_ststest/github-token?api-version=2.0"
	}
	return r
}

// expression evaluates the ${{ … }} expressions action.yml uses:
// inputs.NAME (the `with:` value, else the input's default) and
// github.action_ref.
var expression = regexp.MustCompile(`\$\{\{\s*([a-z_.-]+)\s*\}\}`)

// step runs the action's steps with the inputs (`with:`), as the runner
// does, and returns the exit code of the step that ended the job (0 when
// all passed). The runner's files start empty for each step, as each step
// gets its own GITHUB_OUTPUT; GITHUB_ENV and GITHUB_PATH are kept and read
// after the step into lastEnv.
func (r *runner) step(with map[string]string) int {
	t := r.t
	t.Helper()
	a := readAction(t)
	for name := range with {
		if _, ok := a.Inputs[name]; !ok {
			t.Fatalf("input %q is not in action.yml", name)
		}
	}
	if a.Runs.Using != "composite" {
		t.Fatalf("action.yml runs.using = %q, want composite", a.Runs.Using)
	}
	for _, name := range []string{r.env, r.output, r.path} {
		if err := os.WriteFile(name, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(s string) string {
		return expression.ReplaceAllStringFunc(s, func(m string) string {
			ref := expression.FindStringSubmatch(m)[1]
			if name, ok := strings.CutPrefix(ref, "inputs."); ok {
				in, ok := a.Inputs[name]
				if !ok {
					t.Fatalf("action.yml uses undeclared input %s", name)
				}
				if v, ok := with[name]; ok {
					return v
				}
				return in.Default
			}
			if ref == "github.action_ref" {
				return r.ref
			}
			t.Fatalf("action.yml uses %s, which this runner does not know", m)
			return ""
		})
	}
	var stdout, stderr bytes.Buffer
	for i, s := range a.Runs.Steps {
		if s.Uses != "" || s.Shell != "bash" {
			t.Fatalf("step %d: uses %q, shell %q: only bash run steps are supported", i, s.Uses, s.Shell)
		}
		r.stepCount++
		script := filepath.Join(r.temp, fmt.Sprintf("step-%d.sh", r.stepCount))
		if err := os.WriteFile(script, []byte(eval(s.Run)), 0o600); err != nil {
			t.Fatal(err)
		}
		vars := map[string]string{"RUNNER_OS": r.runnerOS, "RUNNER_ARCH": r.runnerArch}
		for k, v := range r.vars {
			vars[k] = v
		}
		for k, v := range s.Env {
			vars[k] = eval(v)
		}
		var env []string
		for k, v := range vars {
			if v != "" {
				env = append(env, k+"="+v)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-eo", "pipefail", script)
		cmd.Env, cmd.Dir = env, r.work
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		hung := errors.Is(ctx.Err(), context.DeadlineExceeded)
		cancel()
		r.lastStdout, r.lastStderr = stdout.String(), stderr.String()
		if hung {
			t.Fatalf("hung: the action's step still running after %s; stderr:\n%s", hangGuard, redactLog(r.lastStderr))
		}
		r.lastOutputs = readGitHubFile(t, r.output)
		r.lastEnv = readGitHubFile(t, r.env)
		if err != nil {
			code := -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			t.Logf("step exited %d; stdout:\n%s\nstderr:\n%s", code, redactLog(r.lastStdout), redactLog(r.lastStderr))
			return code
		}
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", redactLog(r.lastStdout), redactLog(r.lastStderr))
	return 0
}

// outputs are the action's outputs after the last step: action.yml's
// `value:` expressions over the step's GITHUB_OUTPUT.
func (r *runner) outputs() map[string]string {
	a := readAction(r.t)
	out := map[string]string{}
	ref := regexp.MustCompile(`^\$\{\{\s*steps\.assume\.outputs\.([a-z-]+)\s*\}\}$`)
	for name, o := range a.Outputs {
		m := ref.FindStringSubmatch(o.Value)
		if m == nil {
			r.t.Fatalf("output %s: value %q is not ${{ steps.assume.outputs.NAME }}", name, o.Value)
		}
		if v, ok := r.lastOutputs[m[1]]; ok {
			out[name] = v
		}
	}
	return out
}

// parseGitHubFile reads GITHUB_ENV or GITHUB_OUTPUT as the runner does:
// NAME=VALUE lines, and NAME<<DELIMITER blocks ending at a line that is
// exactly the delimiter.
func parseGitHubFile(data string) (map[string]string, error) {
	vars := map[string]string{}
	lines := strings.Split(data, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if line == "" {
			continue
		}
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var value []string
			for i++; i < len(lines) && lines[i] != delim; i++ {
				value = append(value, lines[i])
			}
			if i == len(lines) {
				return nil, fmt.Errorf("block %s has no closing delimiter", name)
			}
			vars[name] = strings.Join(value, "\n")
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("malformed line %q", line)
		}
		vars[name] = value
	}
	return vars, nil
}

// readGitHubFile is parseGitHubFile of the file at path.
func readGitHubFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	vars, err := parseGitHubFile(string(data))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vars
}

// The role the tests assume: the demo configuration lets the emulator's
// GitHub tokens (repo:example/app) in.
var ciDeployRole = ststest.DemoRoleARN("ci-deploy")

// TestActionCredentials: the action downloads the release, checks it,
// assumes the role with the job's OIDC token, masks the secrets before
// anything else and leaves the credentials in GITHUB_ENV for later steps,
// rolecall on GITHUB_PATH, and the outputs configure-aws-credentials sets
// (no credentials among them unless asked).
func TestActionCredentials(t *testing.T) {
	t.Parallel()
	sts := ststest.NewServer(ststest.DemoConfig())
	t.Cleanup(sts.Close)
	rs := newReleaseServer(t, map[string]release{"v" + actionVersion: testBinaryRelease(t)})
	r := newRunner(t, sts)
	if code := r.step(map[string]string{"role-to-assume": ciDeployRole, "aws-region": "eu-west-1", "download-url": rs.downloadURL()}); code != 0 {
		t.Fatalf("the step failed with %d", code)
	}

	for _, name := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		v := r.lastEnv[name]
		if v == "" {
			t.Fatalf("GITHUB_ENV has no %s; it has %v", name, keys(r.lastEnv))
		}
		mask := "::add-mask::" + v + "\n"
		before, _, found := strings.Cut(r.lastStdout, mask)
		if !found {
			t.Errorf("stdout has no ::add-mask:: for %s", name)
		}
		if strings.Contains(before, v) || strings.Count(r.lastStdout, v) != 1 || strings.Contains(r.lastStderr, v) {
			t.Errorf("%s appears in the log other than in its mask", name)
		}
	}
	if got := r.lastEnv["AWS_REGION"]; got != "eu-west-1" {
		t.Errorf("GITHUB_ENV AWS_REGION = %q, want eu-west-1", got)
	}
	if got := sts.CallCount("AssumeRoleWithWebIdentity"); got != 1 {
		t.Errorf("AssumeRoleWithWebIdentity calls = %d, want 1", got)
	}
	if calls := sts.Calls(); len(calls) > 0 {
		p := calls[len(calls)-1].Params
		if p["RoleArn"] != ciDeployRole || p["RoleSessionName"] != "GitHubActions-4242-1" {
			t.Errorf("the emulator got RoleArn %q, RoleSessionName %q", p["RoleArn"], p["RoleSessionName"])
		}
	}
	toolDir := filepath.Join(r.toolCache, "rolecall", actionVersion, strings.ToLower(r.runnerArch))
	if got := strings.TrimSpace(readFile(t, r.path)); got != toolDir {
		t.Errorf("GITHUB_PATH = %q, want %q", got, toolDir)
	}
	out := r.outputs()
	if out["aws-account-id"] != ststest.DemoAccount || !strings.Contains(out["authenticated-arn"], "assumed-role/ci-deploy/GitHubActions-4242-1") {
		t.Errorf("outputs aws-account-id %q, authenticated-arn %q", out["aws-account-id"], out["authenticated-arn"])
	}
	for _, secret := range []string{"aws-access-key-id", "aws-secret-access-key", "aws-session-token", "aws-expiration"} {
		if _, ok := out[secret]; ok {
			t.Errorf("output %s is set without output-credentials", secret)
		}
	}
	if got := rs.downloads(); got != 2 {
		t.Errorf("downloads = %d, want 2 (the archive and checksums.txt)", got)
	}

	// A later step sees the credentials, as the runner sets GITHUB_ENV's
	// variables in it.
	cmd := exec.Command(filepath.Join(toolDir, "rolecall"), "whoami")
	for k, v := range r.vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range r.lastEnv {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	who, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(who), "assumed-role/ci-deploy/GitHubActions-4242-1") {
		t.Errorf("whoami in the next step: %v\n%s", err, redactLog(string(who)))
	}
}

// TestActionSecondRunUsesToolCache: the second run on a runner installs
// nothing (no request to the release server) and runs the cached binary;
// a moving tag (v1, the action's ref) is the newest release; and
// output-credentials sets the credentials as outputs.
func TestActionSecondRunUsesToolCache(t *testing.T) {
	t.Parallel()
	sts := ststest.NewServer(ststest.DemoConfig())
	t.Cleanup(sts.Close)
	rs := newReleaseServer(t, map[string]release{"v" + actionVersion: testBinaryRelease(t)})
	r := newRunner(t, sts)
	r.ref = "v1"
	with := map[string]string{"role-to-assume": ciDeployRole, "download-url": rs.downloadURL()}
	if code := r.step(with); code != 0 {
		t.Fatalf("the first run failed with %d", code)
	}
	if got := rs.downloads(); got != 2 {
		t.Fatalf("first run: %d downloads, want 2", got)
	}
	if !strings.Contains(r.lastStdout, "rolecall v"+actionVersion+" installed") {
		t.Errorf("first run: no install message for v%s (v1 should be the newest release)", actionVersion)
	}

	with["output-credentials"] = "true"
	if code := r.step(with); code != 0 {
		t.Fatalf("the second run failed with %d", code)
	}
	if got := rs.downloads(); got != 2 {
		t.Errorf("second run: %d downloads in all, want still 2: the tool cache was not used", got)
	}
	if !strings.Contains(r.lastStdout, "from the tool cache") {
		t.Errorf("second run: no tool cache message")
	}
	if r.lastEnv["AWS_SECRET_ACCESS_KEY"] == "" {
		t.Errorf("second run: GITHUB_ENV has no credentials")
	}
	out := r.outputs()
	if out["aws-secret-access-key"] != r.lastEnv["AWS_SECRET_ACCESS_KEY"] || out["aws-session-token"] == "" || out["aws-expiration"] == "" {
		t.Errorf("with output-credentials the outputs are %v", keys(out))
	}
}

// stubRelease is a release whose binary is a shell script recording its
// arguments (one a line) in $ROLECALL_STUB_ARGS, the proxy variables in
// $ROLECALL_STUB_ARGS.env, and that it ran in $ROLECALL_STUB_ARGS.ran.
func stubRelease(t *testing.T, version string) release {
	t.Helper()
	stub := []byte(`#!/bin/sh
: > "$ROLECALL_STUB_ARGS.ran"
for a in "$@"; do printf '%s\n' "$a"; done > "$ROLECALL_STUB_ARGS"
env | grep -E '^(HTTPS?_PROXY|NO_PROXY)=' | sort > "$ROLECALL_STUB_ARGS.env"
`)
	return newRelease(t, version, func(string) []byte { return stub })
}

// TestActionTamperedArchive: an archive whose SHA-256 is not the one in
// checksums.txt fails the step with a checksum error, and nothing from it
// runs or is installed. The tampered archive still unpacks (gzip ignores
// bytes after its end), so only the check stops it.
func TestActionTamperedArchive(t *testing.T) {
	t.Parallel()
	rel := stubRelease(t, actionVersion)
	r := newRunner(t, nil)
	archive := fmt.Sprintf("rolecall_%s_%s_%s.tar.gz", actionVersion, runtime.GOOS, runtime.GOARCH)
	rel[archive] = append(slices.Clone(rel[archive]), []byte("tampered")...)
	rs := newReleaseServer(t, map[string]release{"v" + actionVersion: rel})
	stubArgs := filepath.Join(r.work, "args")
	r.vars["ROLECALL_STUB_ARGS"] = stubArgs
	code := r.step(map[string]string{"role-to-assume": ciDeployRole, "download-url": rs.downloadURL()})
	if code == 0 {
		t.Fatal("the step passed with a tampered archive")
	}
	if !regexp.MustCompile(`(?m)^::error title=rolecall::checksum mismatch for ` + regexp.QuoteMeta(archive)).MatchString(r.lastStdout) {
		t.Errorf("no checksum ::error:: annotation in stdout")
	}
	if _, err := os.Stat(stubArgs + ".ran"); err == nil {
		t.Errorf("the binary from the tampered archive ran")
	}
	if _, err := os.Stat(filepath.Join(r.toolCache, "rolecall")); err == nil {
		t.Errorf("the tampered archive was installed in the tool cache")
	}
	if readFile(t, r.path) != "" || len(r.lastEnv) != 0 {
		t.Errorf("GITHUB_PATH or GITHUB_ENV were written")
	}
}

// TestActionWithoutIDTokenPermission: a job without `permissions:
// id-token: write` has no ACTIONS_ID_TOKEN_REQUEST_URL; the step fails with
// rolecall's own error and hint as one ::error:: annotation, and its exit
// code.
func TestActionWithoutIDTokenPermission(t *testing.T) {
	t.Parallel()
	sts := ststest.NewServer(ststest.DemoConfig())
	t.Cleanup(sts.Close)
	rs := newReleaseServer(t, map[string]release{"v" + actionVersion: testBinaryRelease(t)})
	r := newRunner(t, sts)
	delete(r.vars, "ACTIONS_ID_TOKEN_REQUEST_URL")
	delete(r.vars, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	code := r.step(map[string]string{"role-to-assume": ciDeployRole, "download-url": rs.downloadURL()})
	if code != 2 {
		t.Errorf("exit code %d, want rolecall's 2 (usage)", code)
	}
	want := "::error title=rolecall::rolecall: error: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set" +
		"%0Arolecall: hint: give the job 'permissions: id-token: write'\n"
	if !strings.Contains(r.lastStdout, want) {
		t.Errorf("stdout lacks the annotation\n%s", want)
	}
	if sts.CallCount("AssumeRoleWithWebIdentity") != 0 || len(r.lastEnv) != 0 {
		t.Errorf("a call was made or GITHUB_ENV written")
	}
}

// TestActionInputs maps every input of action.yml to what rolecall gets:
// a flag, an environment variable, a mask, or the release installed. The
// binary is a stub that records its arguments.
func TestActionInputs(t *testing.T) {
	t.Parallel()
	v := "v" + actionVersion
	rs := newReleaseServer(t, map[string]release{
		v:        stubRelease(t, actionVersion),
		"v1.3.0": stubRelease(t, "1.3.0"),
	})
	role := ciDeployRole
	base := []string{"assume", "-f", "github", "--github-output"}
	oidc := []string{"--oidc", "github", "--audience", "sts.amazonaws.com"}
	chainTags := []string{"--tag", "GitHub=Actions", "--tag", "Repository=example/app", "--tag", "Workflow=deploy",
		"--tag", "Action=__rolecall_rolecall", "--tag", "Actor=octocat", "--tag", "Commit=0123456789abcdef0123456789abcdef01234567",
		"--tag", "Branch=refs/heads/main"}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }
	tests := []struct {
		name  string
		input string // the input the case is about
		with  map[string]string
		ref   string // the action's ref; "-" for none
		// actionPath is where the runner checked the action out, under
		// the job's work directory; default the repository.
		actionPath string
		os         string // RUNNER_OS; default this machine's
		args       []string
		env        []string // the proxy variables rolecall gets
		// stdout holds this (regexp); the step fails when code is set.
		stdout string
		code   int
	}{
		{name: "role-to-assume", input: "role-to-assume", args: cat(base, oidc, []string{role})},
		{name: "aws-region", input: "aws-region", with: map[string]string{"aws-region": "eu-west-1"},
			args: cat(base, oidc, []string{"--region", "eu-west-1", role})},
		{name: "role-session-name", input: "role-session-name", with: map[string]string{"role-session-name": "deploy-42"},
			args: cat(base, oidc, []string{"--session-name", "deploy-42", role})},
		{name: "role-duration-seconds", input: "role-duration-seconds", with: map[string]string{"role-duration-seconds": "900"},
			args: cat(base, oidc, []string{"--duration", "900", role})},
		{name: "role-external-id", input: "role-external-id", with: map[string]string{"role-external-id": "ext-1"},
			args: cat(base, oidc, []string{"--external-id", "ext-1", role})},
		{name: "inline-session-policy", input: "inline-session-policy", with: map[string]string{"inline-session-policy": `{"Version": "2012-10-17"}`},
			args: cat(base, oidc, []string{"--policy", `{"Version": "2012-10-17"}`, role})},
		{name: "managed-session-policies", input: "managed-session-policies",
			with: map[string]string{"managed-session-policies": "arn:aws:iam::aws:policy/ReadOnlyAccess\n\n  arn:aws:iam::123456789012:policy/deploy  \n"},
			args: cat(base, oidc, []string{"--policy-arn", "arn:aws:iam::aws:policy/ReadOnlyAccess", "--policy-arn", "arn:aws:iam::123456789012:policy/deploy", role})},
		{name: "transitive-tag-keys", input: "transitive-tag-keys", with: map[string]string{"transitive-tag-keys": "Repository\nActor"},
			args: cat(base, oidc, []string{"--transitive-tag-key", "Repository", "--transitive-tag-key", "Actor", role})},
		{name: "role-chaining tags the session", input: "role-chaining", with: map[string]string{"role-chaining": "true"},
			args: cat(base, chainTags, []string{role})},
		{name: "role-skip-session-tagging", input: "role-skip-session-tagging", with: map[string]string{"role-chaining": "true", "role-skip-session-tagging": "true"},
			args: cat(base, []string{role})},
		{name: "role-skip-session-tagging without role-chaining", input: "role-skip-session-tagging", with: map[string]string{"role-skip-session-tagging": "TRUE"},
			args: cat(base, oidc, []string{role})},
		{name: "web-identity-token-file", input: "web-identity-token-file", with: map[string]string{"web-identity-token-file": "/var/run/token"},
			args: cat(base, []string{"--web-identity-token-file", "/var/run/token", role})},
		{name: "audience", input: "audience", with: map[string]string{"audience": "sigstore"},
			args: cat(base, []string{"--oidc", "github", "--audience", "sigstore", role})},
		{name: "sts-endpoint", input: "sts-endpoint", with: map[string]string{"sts-endpoint": "https://sts.example.test"},
			args: cat(base, oidc, []string{"--endpoint-url", "https://sts.example.test", role})},
		{name: "http-proxy", input: "http-proxy", with: map[string]string{"http-proxy": "http://proxy.test:3128"},
			args: cat(base, oidc, []string{role}), env: []string{"HTTPS_PROXY=http://proxy.test:3128", "HTTP_PROXY=http://proxy.test:3128"}},
		{name: "no-proxy", input: "no-proxy", with: map[string]string{"no-proxy": "169.254.169.254"},
			args: cat(base, oidc, []string{role}), env: []string{"NO_PROXY=169.254.169.254"}},
		{name: "output-credentials", input: "output-credentials", with: map[string]string{"output-credentials": "true"},
			args: cat(base, oidc, []string{role})},
		{name: "output-credentials not a boolean", input: "output-credentials", with: map[string]string{"output-credentials": "yes"},
			stdout: `::error title=rolecall::input output-credentials: 'yes' is not a boolean`, code: 2},
		{name: "mask-aws-account-id", input: "mask-aws-account-id", with: map[string]string{"mask-aws-account-id": "true"},
			args: cat(base, oidc, []string{role}), stdout: `(?m)^::add-mask::123456789012$`},
		{name: "version", input: "version", with: map[string]string{"version": "v1.3.0"},
			args: cat(base, oidc, []string{role}), stdout: `rolecall v1\.3\.0 installed`},
		{name: "version latest", input: "version", with: map[string]string{"version": "latest"},
			args: cat(base, oidc, []string{role}), stdout: `rolecall v1\.4\.2 installed`},
		{name: "action pinned to v1: the newest v1 release", input: "version", ref: "v1",
			args: cat(base, oidc, []string{role}), stdout: `rolecall v1\.4\.2 installed`},
		{name: "action pinned to v2: no v2 release", input: "version", ref: "v2",
			stdout: `::error title=rolecall::the newest release is v1\.4\.2, which is not a v2 release`, code: 1},
		{name: "no action_ref: the ref in GITHUB_ACTION_PATH", input: "version", ref: "-", actionPath: "_actions/rolecall/rolecall/v1.3.0",
			args: cat(base, oidc, []string{role}), stdout: `rolecall v1\.3\.0 installed`},
		{name: "action pinned to a commit", input: "version", ref: "0123456789abcdef0123456789abcdef01234567",
			stdout: `::error title=rolecall::'0123456789abcdef0123456789abcdef01234567' is not a release tag`, code: 2},
		{name: "download-url unknown release", input: "download-url", with: map[string]string{"version": "v9.9.9"},
			stdout: `::error title=rolecall::download .*/v9\.9\.9/checksums\.txt failed`, code: 1},
		{name: "Windows: the zip and rolecall.exe", input: "download-url", os: "Windows", args: cat(base, oidc, []string{role}),
			stdout: `rolecall_1\.4\.2_windows_[a-z0-9]+\.zip`},
		{name: "macOS: the darwin archive", input: "download-url", os: "macOS", args: cat(base, oidc, []string{role}),
			stdout: `rolecall_1\.4\.2_darwin_[a-z0-9]+\.tar\.gz`},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.input] = true
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, nil)
			r.vars["ACTIONS_ID_TOKEN_REQUEST_URL"] = "http://127.0.0.1:1/token"
			stubArgs := filepath.Join(r.work, "args")
			r.vars["ROLECALL_STUB_ARGS"] = stubArgs
			if tt.ref != "" {
				r.ref = strings.TrimPrefix(tt.ref, "-")
			}
			if tt.actionPath != "" {
				path := filepath.Join(r.work, tt.actionPath)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(repoRoot(t), path); err != nil {
					t.Fatal(err)
				}
				r.vars["GITHUB_ACTION_PATH"] = path
			}
			if tt.os != "" {
				r.runnerOS = tt.os
			}
			with := map[string]string{"role-to-assume": role, "download-url": rs.downloadURL()}
			for k, v := range tt.with {
				with[k] = v
			}
			code := r.step(with)
			if code != tt.code {
				t.Fatalf("exit code %d, want %d", code, tt.code)
			}
			if tt.stdout != "" && !regexp.MustCompile(tt.stdout).MatchString(r.lastStdout) {
				t.Errorf("stdout does not match %q", tt.stdout)
			}
			if tt.code != 0 {
				if _, err := os.Stat(stubArgs + ".ran"); err == nil {
					t.Errorf("rolecall ran")
				}
				return
			}
			got := strings.Split(strings.TrimSuffix(readFile(t, stubArgs), "\n"), "\n")
			if !slices.Equal(got, tt.args) {
				t.Errorf("rolecall got\n  %q\nwant\n  %q", got, tt.args)
			}
			gotEnv := strings.Fields(readFile(t, stubArgs+".env"))
			if !slices.Equal(gotEnv, tt.env) && (len(gotEnv) > 0 || len(tt.env) > 0) {
				t.Errorf("rolecall's proxy variables %q, want %q", gotEnv, tt.env)
			}
		})
	}
	for name := range readAction(t).Inputs {
		if !covered[name] {
			t.Errorf("input %s has no case in TestActionInputs", name)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
