//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestImageConfig checks the container image GoReleaser builds with ko
// (.goreleaser.yaml, kos). This machine has neither a Docker daemon (where
// a snapshot puts ko's image) nor the registry the base image comes from,
// so release-check.sh runs `goreleaser check` and skips the image in its
// snapshot; this test holds the settings the issue asks for: the release's
// binary, multi-arch, a distroless static base, a non-root user, the
// binary as entrypoint (ko's /ko-app/NAME, from the build's main package)
// and OCI labels naming the version and the source.
func TestImageConfig(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type build struct {
		ID   string `yaml:"id"`
		Main string `yaml:"main"`
	}
	var cfg struct {
		Builds []build `yaml:"builds"`
		Kos    []struct {
			ID           string            `yaml:"id"`
			Build        string            `yaml:"build"`
			Main         string            `yaml:"main"`
			BaseImage    string            `yaml:"base_image"`
			User         string            `yaml:"user"`
			Repositories []string          `yaml:"repositories"`
			Bare         bool              `yaml:"bare"`
			Platforms    []string          `yaml:"platforms"`
			Tags         []string          `yaml:"tags"`
			Labels       map[string]string `yaml:"labels"`
		} `yaml:"kos"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Kos) != 1 {
		t.Fatalf(".goreleaser.yaml has %d kos entries, want 1", len(cfg.Kos))
	}
	ko := cfg.Kos[0]
	i := slices.IndexFunc(cfg.Builds, func(b build) bool { return b.ID == ko.Build })
	if i < 0 || cfg.Builds[i].Main != ko.Main || ko.Main != "./cmd/rolecall" {
		t.Errorf("kos build %q, main %q: want the rolecall build's ./cmd/rolecall", ko.Build, ko.Main)
	}
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if !slices.Contains(ko.Platforms, p) {
			t.Errorf("kos platforms %v lack %s", ko.Platforms, p)
		}
	}
	if !regexp.MustCompile(`^(cgr\.dev/chainguard/static|gcr\.io/distroless/static[a-z0-9-]*)[:@]`).MatchString(ko.BaseImage) {
		t.Errorf("kos base_image %q is not a distroless static image", ko.BaseImage)
	}
	uid, _, _ := strings.Cut(ko.User, ":")
	if !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(uid) {
		t.Errorf("kos user %q: want a numeric non-root uid (Kubernetes' runAsNonRoot checks a number)", ko.User)
	}
	if !ko.Bare || !slices.Equal(ko.Repositories, []string{"ghcr.io/rolecall/rolecall"}) {
		t.Errorf("kos repositories %v, bare %v: want the image ghcr.io/rolecall/rolecall", ko.Repositories, ko.Bare)
	}
	if !slices.Contains(ko.Tags, "{{ .Tag }}") {
		t.Errorf("kos tags %v lack the release tag", ko.Tags)
	}
	for label, want := range map[string]string{
		"org.opencontainers.image.version":  "{{ .Version }}",
		"org.opencontainers.image.revision": "{{ .FullCommit }}",
		"org.opencontainers.image.source":   "https://github.com/rolecall/rolecall",
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if ko.Labels[label] != want {
			t.Errorf("label %s = %q, want %q", label, ko.Labels[label], want)
		}
	}
	script, err := os.ReadFile(filepath.Join(repoRoot(t), "scripts", "release-check.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^"\$goreleaser" check$`).Match(script) {
		t.Error("release-check.sh does not run goreleaser check")
	}
}
