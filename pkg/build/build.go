// Package build says which rolecall this is. Release binaries carry the
// version, commit and date the linker stamps (see .goreleaser.yaml):
//
//	-X github.com/rolecall/rolecall/pkg/build.Version=1.2.3
//
// A binary built without the stamp (go build in a clone, go install
// …@version) falls back to what the Go toolchain recorded in it
// (runtime/debug.ReadBuildInfo): the module version, and from a clone the
// VCS revision, commit time and whether the tree had local changes. (Go
// records no VCS information with -buildvcs=false, or in a git worktree,
// whose .git is a file.)
package build

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker. The defaults mean "not stamped".
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// Info describes the running binary.
type Info struct {
	Version string
	Commit  string
	// Date is the stamped build date.
	Date string
	// CommitTime is the commit's time from the build information, for a
	// binary without a stamped date.
	CommitTime string
	// Modified reports a build from a tree with uncommitted changes.
	Modified bool
}

// Read returns the stamped values, each one that was not stamped taken from
// the Go build information where it has one.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return resolve(Info{Version: Version, Commit: Commit, Date: Date}, bi)
}

// resolve fills the unstamped fields of stamped from bi (nil when the
// binary has no build information).
func resolve(stamped Info, bi *debug.BuildInfo) Info {
	info := stamped
	if bi == nil {
		return info
	}
	// "(devel)" is what go build records without a version (before Go 1.24,
	// or outside a VCS checkout).
	if info.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if info.Commit == "none" && settings["vcs.revision"] != "" {
		info.Commit = settings["vcs.revision"]
		info.Modified = settings["vcs.modified"] == "true"
	}
	if info.Date == "unknown" {
		info.CommitTime = settings["vcs.time"]
	}
	return info
}

// String is the line `rolecall version` prints, e.g.
//
//	rolecall 1.2.3 (commit 0123abc…, built 2026-01-02T03:04:05Z, go1.26.0 linux/amd64)
//
// with ", modified" after the commit for a build from a changed tree, and
// "committed TIME" instead of "built DATE" when only the commit's time is
// known.
func (i Info) String() string {
	commit := i.Commit
	if i.Modified {
		commit += ", modified"
	}
	when := "built " + i.Date
	if i.Date == "unknown" && i.CommitTime != "" {
		when = "committed " + i.CommitTime
	}
	return fmt.Sprintf("rolecall %s (commit %s, %s, %s %s/%s)",
		i.Version, commit, when, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
