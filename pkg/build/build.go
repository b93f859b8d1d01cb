// Package build holds the version, commit and date that the linker stamps
// into release binaries (see .goreleaser.yaml):
//
//	-X github.com/rolecall/rolecall/pkg/build.Version=1.2.3
package build

// Set by the linker; the defaults describe a build from a clone.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)
