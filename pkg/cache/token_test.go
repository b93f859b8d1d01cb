package cache

import (
	"context"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

func testTokenEntry(lifetime time.Duration) Entry {
	return Entry{
		Kind:        KindEKSToken,
		Label:       "deploy",
		Cluster:     "prod",
		Token:       "k8s-aws-v1.test",
		Credentials: creds.Credentials{Expiration: testNow.Add(lifetime)},
	}
}

// TestTokenEntry: an EKS token entry (a token, a cluster, no keys) is
// stored, found while more than the window is left, and listed.
func TestTokenEntry(t *testing.T) {
	s, _ := openStore(t, cacheDir(t), Options{})
	key := KeyInput{Kind: KindEKSToken, Source: "credentials:" + testKey("app"), SessionName: "prod"}.Key()
	want := testTokenEntry(14 * time.Minute)
	_, out := mustFetch(t, s, key, time.Minute, func(context.Context) (Entry, error) { return want, nil })
	if !out.Stored {
		t.Fatalf("outcome %+v, want stored", out)
	}
	e, ok := s.Lookup(key, time.Minute)
	if !ok || e.Token != want.Token || e.Cluster != "prod" {
		t.Fatalf("Lookup = %+v, %v", e, ok)
	}
	if _, ok := s.Lookup(key, 14*time.Minute); ok {
		t.Error("a token with 14 minutes left passed a 14-minute window")
	}
	list, err := s.List()
	if err != nil || len(list) != 1 || list[0].Kind != KindEKSToken {
		t.Errorf("List = %+v, %v", list, err)
	}
}

func TestTokenEntryValidation(t *testing.T) {
	for _, tt := range []struct {
		name  string
		entry func() Entry
	}{
		{"no token", func() Entry { e := testTokenEntry(time.Minute); e.Token = ""; return e }},
		{"no cluster", func() Entry { e := testTokenEntry(time.Minute); e.Cluster = ""; return e }},
		{"keys in a token entry", func() Entry {
			e := testTokenEntry(time.Minute)
			e.Credentials.AccessKeyID, e.Credentials.SecretAccessKey = "ASIA", "secret"
			return e
		}},
		{"no expiration", func() Entry { e := testTokenEntry(time.Minute); e.Credentials.Expiration = time.Time{}; return e }},
		{"a token in a credentials entry", func() Entry { e := testEntry("x", time.Hour); e.Token = "k8s-aws-v1.x"; return e }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.entry()
			e.Version, e.Key, e.CreatedAt = CurrentVersion, testKey("app"), testNow
			if err := e.validate(); err == nil {
				t.Error("validate accepted it")
			}
		})
	}
}
