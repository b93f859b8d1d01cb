package eks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/eks"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// world is a hermetic environment for Get: the demo user's keys in the
// environment, no AWS files, a cache directory and the emulator, whose
// clock is the caller's.
type world struct {
	sts   *ststest.Server
	env   assume.Env
	cache string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	s := newServer(t)
	vars := map[string]string{
		"USER":                        "tester",
		"AWS_ACCESS_KEY_ID":           ststest.DemoAccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       ststest.DemoSecretAccessKey,
		"AWS_ENDPOINT_URL_STS":        s.URL(),
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	}
	return &world{
		sts:   s,
		cache: filepath.Join(dir, "cache"),
		env: assume.Env{
			Getenv:  func(k string) string { return vars[k] },
			Environ: func() []string { return []string{"PATH=" + os.Getenv("PATH")} },
			HomeDir: dir,
			Stdin:   strings.NewReader(""),
			Now:     s.Now,
		},
	}
}

func (w *world) request(roles ...string) assume.Request {
	return assume.Request{
		Roles:         roles,
		SourceOnly:    len(roles) == 0,
		MFASessionTTL: 12 * time.Hour,
		CacheDir:      w.cache,
		RefreshWindow: 15 * time.Minute,
		Timeout:       time.Minute,
	}
}

func (w *world) get(t *testing.T, cluster string, req assume.Request) eks.Token {
	t.Helper()
	tok, err := eks.Get(context.Background(), cluster, req, w.env)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return tok
}

// TestGetConcurrent: twenty callers at once, cold, make one AssumeRole and
// get one token (one signing); the emulator accepts it.
func TestGetConcurrent(t *testing.T) {
	w := newWorld(t)
	role := ststest.DemoRoleARN("demo")
	w.sts.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultLatency, Latency: 100 * time.Millisecond})
	tokens := make([]eks.Token, 20)
	errs := make([]error, 20)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = eks.Get(context.Background(), "prod", w.request(role), w.env)
		}()
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if tokens[i].Value != tokens[0].Value {
			t.Fatalf("caller %d got another token: signed more than once", i)
		}
	}
	if n := w.sts.CallCount("AssumeRole"); n != 1 {
		t.Errorf("%d AssumeRole calls, want 1", n)
	}
	if _, err := w.sts.VerifyEKSToken(context.Background(), tokens[0].Value, "prod"); err != nil {
		t.Errorf("the emulator refused the token: %v", err)
	}
}

// TestGetCacheLife: a token is reused while more than a minute of its life
// is left, then signed anew from the cached credentials; --refresh makes
// both anew; the key separates clusters, roles and callers' options.
func TestGetCacheLife(t *testing.T) {
	w := newWorld(t)
	role := ststest.DemoRoleARN("demo")
	first := w.get(t, "prod", w.request(role))
	if got := w.get(t, "prod", w.request(role)); got.Value != first.Value {
		t.Fatal("a second Get signed again")
	}
	w.sts.Advance(12 * time.Minute)
	if got := w.get(t, "prod", w.request(role)); got.Value != first.Value {
		t.Fatal("a token with 2 minutes left was not reused")
	}
	w.sts.Advance(time.Minute + time.Second)
	second := w.get(t, "prod", w.request(role))
	if second.Value == first.Value {
		t.Fatal("a token with less than a minute left was reused")
	}
	if n := w.sts.CallCount("AssumeRole"); n != 1 {
		t.Fatalf("%d AssumeRole calls, want 1 (the credentials are cached)", n)
	}

	for name, tok := range map[string]eks.Token{
		"another cluster": w.get(t, "staging", w.request(role)),
		"another role":    w.get(t, "prod", w.request(role, ststest.DemoRoleARN("chained"))),
		"the keys alone":  w.get(t, "prod", w.request()),
		"a session policy": w.get(t, "prod", func() assume.Request {
			r := w.request(role)
			r.PolicyARNs = []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
			return r
		}()),
	} {
		if tok.Value == second.Value {
			t.Errorf("%s: the same token", name)
		}
	}

	refresh := w.request(role)
	refresh.Refresh = true
	calls := w.sts.CallCount("AssumeRole")
	if got := w.get(t, "prod", refresh); got.Value == second.Value {
		t.Error("--refresh reused the token")
	}
	if n := w.sts.CallCount("AssumeRole"); n != calls+1 {
		t.Errorf("--refresh made %d AssumeRole calls, want 1", n-calls)
	}
}

// TestGetExpiresWithCredentials: a token never outlives the credentials
// that signed it: signed with credentials that have 6 minutes left, it
// expires with them, not 14 minutes on.
func TestGetExpiresWithCredentials(t *testing.T) {
	w := newWorld(t)
	req := w.request(ststest.DemoRoleARN("demo"))
	req.Duration = "15m"
	req.RefreshWindow = 5 * time.Minute
	before := w.sts.Now()
	first := w.get(t, "prod", req)
	if got := first.Expiration.Sub(before.Truncate(time.Second)); got < 14*time.Minute || got > 14*time.Minute+time.Minute {
		t.Fatalf("token lives %s from before the call, want 14 minutes from signing", got)
	}
	w.sts.Advance(9 * time.Minute)
	tok := w.get(t, "staging", req) // the credentials (6 minutes left) are reused
	if n := w.sts.CallCount("AssumeRole"); n != 1 {
		t.Fatalf("%d AssumeRole calls, want 1", n)
	}
	if want := w.sts.Now().Add(6 * time.Minute); tok.Expiration.After(want.Add(time.Second)) {
		t.Errorf("token expires at %s, after its credentials (%s)", tok.Expiration, want)
	}
}

// BenchmarkGetHit is a cached token: resolving the request and one file
// read.
func BenchmarkGetHit(b *testing.B) {
	s := ststest.NewServer(ststest.DemoConfig())
	defer s.Close()
	dir := b.TempDir()
	vars := map[string]string{
		"USER": "tester", "AWS_ACCESS_KEY_ID": ststest.DemoAccessKeyID, "AWS_SECRET_ACCESS_KEY": ststest.DemoSecretAccessKey,
		"AWS_ENDPOINT_URL_STS": s.URL(), "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	}
	env := assume.Env{Getenv: func(k string) string { return vars[k] }, HomeDir: dir, Stdin: strings.NewReader(""), Now: time.Now}
	req := assume.Request{Roles: []string{ststest.DemoRoleARN("demo")}, MFASessionTTL: 12 * time.Hour,
		CacheDir: filepath.Join(dir, "cache"), RefreshWindow: 15 * time.Minute, Timeout: time.Minute}
	if _, err := eks.Get(context.Background(), "prod", req, env); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := eks.Get(context.Background(), "prod", req, env); err != nil {
			b.Fatal(err)
		}
	}
}
