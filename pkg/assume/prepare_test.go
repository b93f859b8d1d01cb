package assume

import (
	"context"
	"testing"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestPrepare: Prepare resolves without a call; CredentialsKey names the
// identity Obtain's credentials belong to (the last hop's cache key, or
// the source's identity), and Obtain then fetches through the one cache.
func TestPrepare(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	env := w.with(nil)
	req := w.request(ststest.DemoRoleARN("demo"))
	req.Profile = "alice"
	p, err := Prepare(context.Background(), req, env)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.sts.CallCount(""); n != 0 {
		t.Fatalf("Prepare made %d calls", n)
	}
	keys := p.Plan().Keys()
	if p.CredentialsKey() != keys[len(keys)-1] {
		t.Errorf("CredentialsKey is not the last hop's key")
	}
	if _, err := p.Obtain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Cache().Lookup(p.CredentialsKey(), req.RefreshWindow); !ok {
		t.Error("the credentials are not in the cache under CredentialsKey")
	}

	source := func(keyID string) string {
		r := w.request()
		r.SourceOnly = true
		e := w.with(map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": "secret"})
		p, err := Prepare(context.Background(), r, e)
		if err != nil {
			t.Fatal(err)
		}
		return p.CredentialsKey()
	}
	a, again, b := source("AKIAAAAAAAAAAAAAAAAA"), source("AKIAAAAAAAAAAAAAAAAA"), source("AKIABBBBBBBBBBBBBBBB")
	if a == b || a == "" {
		t.Errorf("two access keys share the CredentialsKey %q", a)
	}
	if a != again {
		t.Error("the same keys give two CredentialsKeys")
	}
}
