package cli

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestProfilesAgreeWithAssume: over 2,000 profiles, 40 of them cached, a
// sample of the role profiles' LEFT column says what `rolecall process`
// then does: a time means no STS call, "none" means a call; and after
// the call, profiles shows a time for it.
func TestProfilesAgreeWithAssume(t *testing.T) {
	f, srv := newProfilesFixture(t, 2000, 40)
	defer srv.Close()
	left := func() map[string]string {
		t.Helper()
		var out strings.Builder
		if code := Run(context.Background(), f.io(&out), []string{"profiles", "-f", "json"}); code != 0 {
			t.Fatalf("profiles exited %d", code)
		}
		var rows []profileJSON
		if err := json.Unmarshal([]byte(out.String()), &rows); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range rows {
			m[r.Name] = r.Left
		}
		return m
	}
	before := left()
	cachedSeen, noneSeen := 0, 0
	var sample []string
	for i := 0; i < len(f.roles); i += 29 {
		name := f.roles[i]
		calls := srv.CallCount("AssumeRole")
		if code := Run(context.Background(), f.io(io.Discard), []string{"process", name}); code != 0 {
			t.Fatalf("process %s exited %d", name, code)
		}
		made := srv.CallCount("AssumeRole") - calls
		switch {
		case before[name] == "none" && made == 0:
			t.Errorf("%s: profiles said none, and process made no STS call", name)
		case before[name] != "none" && made != 0:
			t.Errorf("%s: profiles said %s left, and process made %d STS call(s)", name, before[name], made)
		}
		if before[name] == "none" {
			noneSeen++
		} else {
			cachedSeen++
		}
		sample = append(sample, name)
	}
	// One listing after all of them (a listing of 2,000 profiles under
	// -race is seconds).
	after := left()
	for _, name := range sample {
		if a := after[name]; a == "none" || a == "-" || a == "error" {
			t.Errorf("%s: after process, profiles says %q", name, a)
		}
	}
	if cachedSeen == 0 || noneSeen == 0 {
		t.Fatalf("the sample saw %d cached and %d uncached profiles: it must see both", cachedSeen, noneSeen)
	}
}
