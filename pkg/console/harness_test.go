package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/console"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// world is a hermetic home (alice's keys, a config file), a cache
// directory and an emulator serving STS, the Identity Center portal and the
// federation endpoint, with the environment pointing at it.
type world struct {
	t     *testing.T
	home  string
	cache string
	sts   *ststest.Server
	vars  map[string]string
}

// demoCredentials is alice's long-term key.
const demoCredentials = "[alice]\naws_access_key_id = " + ststest.DemoAccessKeyID + "\naws_secret_access_key = " + ststest.DemoSecretAccessKey + "\n"

// testConfig is the demo configuration plus a role that Identity Center's
// AdministratorAccess sessions may assume.
func testConfig() ststest.Config {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles, ststest.Role{ARN: ststest.DemoRoleARN("from-sso"),
		Trust: ststest.Trust{Principals: []string{ststest.SSORoleARN(ststest.DemoAccount, "AdministratorAccess")}}})
	return cfg
}

func newWorld(t *testing.T, config string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, home: filepath.Join(dir, "home"), cache: filepath.Join(dir, "cache"), sts: ststest.NewServer(testConfig())}
	t.Cleanup(w.sts.Close)
	w.write(filepath.Join(w.home, ".aws", "credentials"), demoCredentials)
	w.write(filepath.Join(w.home, ".aws", "config"), config)
	w.vars = map[string]string{
		"USER":                      "tester",
		"AWS_ENDPOINT_URL_STS":      w.sts.URL(),
		"AWS_ENDPOINT_URL_SSO":      w.sts.URL(),
		console.EndpointEnv:         w.sts.URL(),
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	return w
}

func (w *world) write(path, content string) {
	w.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// env is rolecall's world. Its clock is the real one: moving the emulator's
// credential clock then expires credentials that rolecall still holds fresh
// in its cache, as a revoked or expired session would be.
func (w *world) env(trace *[]string) assume.Env {
	env := assume.Env{
		Getenv:  func(k string) string { return w.vars[k] },
		Environ: func() []string { return []string{"PATH=" + os.Getenv("PATH")} },
		HomeDir: w.home,
		Stdin:   strings.NewReader(""),
		Now:     time.Now,
		MFACode: func(context.Context, string) (string, error) { return w.sts.TOTP(ststest.DemoMFASerial), nil },
	}
	if trace != nil {
		env.Trace = func(format string, args ...any) { *trace = append(*trace, fmt.Sprintf(format, args...)) }
	}
	return env
}

// request is a console request with the CLI's defaults, landing on the
// emulator's console so that a test can follow the link.
func (w *world) request(roles ...string) console.Request {
	return console.Request{
		Request: assume.Request{
			Roles:         roles,
			MFASessionTTL: 12 * time.Hour,
			CacheDir:      w.cache,
			RefreshWindow: 15 * time.Minute,
			Timeout:       20 * time.Second,
		},
		Destination: w.sts.URL() + "/console/home",
	}
}

// follow opens the link as a browser would (following redirects, keeping
// cookies) and returns the status and text of the page it lands on.
func follow(t *testing.T, link string) (int, string) {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, link, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("follow the link: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// signinCalls are the federation endpoint's calls in the log.
func (w *world) signinCalls() []ststest.Call {
	var out []ststest.Call
	for _, c := range w.sts.Calls() {
		if c.Service == ststest.ServiceSignin {
			out = append(out, c)
		}
	}
	return out
}

// loginSSO writes the token cache file `aws sso login` would have left.
func (w *world) loginSSO(session string) {
	w.t.Helper()
	entry, ok := w.sts.SSOTokenCacheEntry(w.sts.IssueSSOToken(ststest.DemoSSOUser, time.Hour))
	if !ok {
		w.t.Fatal("the emulator has no Identity Center")
	}
	data, err := json.Marshal(entry)
	if err != nil {
		w.t.Fatal(err)
	}
	w.write(filepath.Join(w.home, ".aws", "sso", "cache", ststest.SSOTokenCacheFile(session)), string(data))
}

// mintToken writes a GitHub-issued token the demo ci-deploy role trusts.
func (w *world) mintToken(path string) {
	w.t.Helper()
	now := w.sts.Now()
	token, err := w.sts.WebIdentityToken(ststest.DemoGitHubIssuer, map[string]any{
		"sub": "repo:example/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.write(path, token)
}
