package build

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	unstamped := Info{Version: "dev", Commit: "none", Date: "unknown"}
	clone := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/rolecall/rolecall", Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tests := []struct {
		name    string
		stamped Info
		bi      *debug.BuildInfo
		want    Info
	}{
		{"no build info", unstamped, nil, unstamped},
		{"go build in a clone", unstamped, clone, Info{
			Version: "v0.0.0-20260102030405-0123456789ab+dirty", Commit: "0123456789abcdef0123456789abcdef01234567",
			Date: "unknown", CommitTime: "2026-01-02T03:04:05Z", Modified: true,
		}},
		{"go install module@version", unstamped, &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}},
			Info{Version: "v1.2.3", Commit: "none", Date: "unknown"}},
		{"devel without vcs", unstamped, &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, unstamped},
		{"clean clone", unstamped, &debug.BuildInfo{Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"},
		}}, Info{Version: "dev", Commit: "abc", Date: "unknown"}},
		{"stamped release wins", Info{Version: "1.2.3", Commit: "fedcba", Date: "2026-02-03T00:00:00Z"}, clone,
			Info{Version: "1.2.3", Commit: "fedcba", Date: "2026-02-03T00:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resolve(tt.stamped, tt.bi); got != tt.want {
				t.Errorf("resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	got := Info{Version: "1.2.3", Commit: "abc", Date: "2026-01-02T03:04:05Z", Modified: true}.String()
	if !strings.HasPrefix(got, "rolecall 1.2.3 (commit abc, modified, built 2026-01-02T03:04:05Z, go") {
		t.Errorf("String() = %q", got)
	}
	got = Info{Version: "1.2.3", Commit: "abc", Date: "d"}.String()
	if !strings.HasPrefix(got, "rolecall 1.2.3 (commit abc, built d, go") {
		t.Errorf("String() = %q", got)
	}
	got = Info{Version: "v0.0.0-x", Commit: "abc", Date: "unknown", CommitTime: "2026-01-02T03:04:05Z"}.String()
	if !strings.HasPrefix(got, "rolecall v0.0.0-x (commit abc, committed 2026-01-02T03:04:05Z, go") {
		t.Errorf("String() = %q", got)
	}
}
