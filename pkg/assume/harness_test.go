package assume

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// world is a hermetic home with AWS files, a cache directory, an emulator
// and an environment pointing at them.
type world struct {
	t     *testing.T
	home  string
	cache string
	sts   *ststest.Server
	env   map[string]string
}

// newWorld starts an emulator with cfg and writes the AWS config and
// credentials files (either may be empty).
func newWorld(t *testing.T, cfg ststest.Config, config, credentials string) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, home: filepath.Join(dir, "home"), cache: filepath.Join(dir, "cache"), sts: ststest.NewServer(cfg)}
	t.Cleanup(w.sts.Close)
	aws := filepath.Join(w.home, ".aws")
	if err := os.MkdirAll(aws, 0o700); err != nil {
		t.Fatal(err)
	}
	w.write(filepath.Join(aws, "config"), config)
	w.write(filepath.Join(aws, "credentials"), credentials)
	w.env = map[string]string{
		"USER":                      "tester",
		"AWS_ENDPOINT_URL_STS":      w.sts.URL(),
		"AWS_ENDPOINT_URL_SSO":      w.sts.URL(),
		"AWS_ENDPOINT_URL_SSO_OIDC": w.sts.URL(),
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	return w
}

func (w *world) write(path, content string) {
	w.t.Helper()
	if content == "" {
		return
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// with returns the world's environment plus extra (an empty value unsets).
func (w *world) with(extra map[string]string) Env {
	vars := map[string]string{}
	for k, v := range w.env {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	return Env{
		Getenv: getenv,
		Environ: func() []string {
			out := []string{"PATH=" + os.Getenv("PATH")}
			for k, v := range vars {
				out = append(out, k+"="+v)
			}
			return out
		},
		HomeDir: w.home,
		Stdin:   strings.NewReader(""),
		Now:     w.sts.Now,
		MFACode: func(context.Context, string) (string, error) { return w.sts.TOTP(ststest.DemoMFASerial), nil },
	}
}

// request is a Request with the CLI's defaults and the world's cache.
func (w *world) request(roles ...string) Request {
	return Request{
		Roles:         roles,
		MFASessionTTL: 12 * time.Hour,
		CacheDir:      w.cache,
		RefreshWindow: 15 * time.Minute,
		Timeout:       20 * time.Second,
	}
}

// callLog is the emulator's calls as comparable lines: action and the
// parameters that say which role, session and options were asked for.
func (w *world) callLog() []string {
	var out []string
	for _, c := range w.sts.Calls() {
		line := c.Action
		for _, k := range []string{"RoleArn", "RoleSessionName", "DurationSeconds", "ExternalId", "SerialNumber", "Policy"} {
			if v, ok := c.Params[k]; ok {
				line += " " + k + "=" + v
			}
		}
		if c.Error != "" {
			line += " error=" + c.Error
		}
		out = append(out, line)
	}
	return out
}

// cacheKeys lists the entries in the cache directory.
func (w *world) cacheKeys() []string {
	entries, _ := os.ReadDir(w.cache)
	var keys []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			keys = append(keys, e.Name())
		}
	}
	sort.Strings(keys)
	return keys
}

// demoCredentials is alice's profile in a credentials file.
const demoCredentials = "[alice]\naws_access_key_id = " + ststest.DemoAccessKeyID + "\naws_secret_access_key = " + ststest.DemoSecretAccessKey + "\n"

// mintToken writes a GitHub-issued token the demo ci-deploy role trusts.
func mintToken(t *testing.T, s *ststest.Server, path string) {
	t.Helper()
	now := s.Now()
	token, err := s.WebIdentityToken(ststest.DemoGitHubIssuer, map[string]any{
		"sub": "repo:example/app:ref:refs/heads/main", "aud": "sts.amazonaws.com",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
}

// loginSSO writes the token cache file `aws sso login --sso-session NAME`
// would have left for the demo Identity Center user.
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
	dir := filepath.Join(w.home, ".aws", "sso", "cache")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		w.t.Fatal(err)
	}
	w.write(filepath.Join(dir, ststest.SSOTokenCacheFile(session)), string(data))
}
