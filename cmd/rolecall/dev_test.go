//go:build unix

package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands for scripts that run the repository's own scripts
// (scripts/demo.sh) and hide programs from them.

var (
	goEnvOnce sync.Once
	goEnv     map[string]string
	goEnvErr  error
)

// cmdDevEnv gives a script what the repository's scripts need: REPO (the
// module root), TESTBIN (the directory of the rolecall and ststest programs
// this test binary provides, for scripts that would otherwise build them)
// and the Go toolchain's own settings (build and module caches, GOFLAGS,
// GOPROXY), so that a go build inside the hermetic HOME reuses the caches
// instead of starting cold.
//
//	devenv
func cmdDevEnv(ts *testscript.TestScript, neg bool, args []string) {
	goEnvOnce.Do(func() {
		var out []byte
		out, goEnvErr = exec.Command("go", "env", "-json", "GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN").Output()
		if goEnvErr == nil {
			goEnvErr = json.Unmarshal(out, &goEnv)
		}
	})
	ts.Check(goEnvErr)
	for k, v := range goEnv {
		ts.Setenv(k, v)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	ts.Check(err)
	ts.Setenv("REPO", repo)
	ts.Setenv("TESTBIN", filepath.Dir(lookPath(ts, "rolecall")))
}

// cmdHideProgs sets PATH to a directory of links to every program on the
// script's PATH except the named ones, so that a script sees a machine
// without them:
//
//	hideprogs aws curl
func cmdHideProgs(ts *testscript.TestScript, neg bool, args []string) {
	dir := ts.MkAbs(".hidden-path")
	ts.Check(os.MkdirAll(dir, 0o755))
	for _, pathDir := range filepath.SplitList(ts.Getenv("PATH")) {
		entries, err := os.ReadDir(pathDir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if slices.Contains(args, name) {
				continue
			}
			link := filepath.Join(dir, name)
			if _, err := os.Lstat(link); err == nil {
				continue // an earlier PATH entry wins, as in a lookup
			}
			target := filepath.Join(pathDir, name)
			if fi, err := os.Stat(target); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				continue
			}
			ts.Check(os.Symlink(target, link))
		}
	}
	ts.Setenv("PATH", dir)
}
