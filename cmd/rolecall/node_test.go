//go:build unix

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/rogpeppe/go-internal/testscript"
)

// The AWS SDK for JavaScript v3 runs in the scripts as a real consumer of
// rolecall's exports and credential_process. Its packages are not in the
// repository: scripts/node-deps.sh installs them, at the versions
// scripts/node/package-lock.json pins, into nodeDepsDir.

// nodeLockFile is the repository's lock file, relative to this package.
const nodeLockFile = "../../scripts/node/package-lock.json"

// nodeDepsDir is where scripts/node-deps.sh installs the packages; the two
// must agree: ROLECALL_NODE_DEPS, else ${XDG_CACHE_HOME:-$HOME/.cache}/rolecall-dev/node.
func nodeDepsDir() string {
	if dir := os.Getenv("ROLECALL_NODE_DEPS"); dir != "" {
		return dir
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		cache = filepath.Join(os.Getenv("HOME"), ".cache")
	}
	return filepath.Join(cache, "rolecall-dev", "node")
}

// haveNodeSDK is the [node-sdk] condition: node is on PATH and
// scripts/node-deps.sh installed the pinned packages. Where CI is set,
// anything missing fails the script instead of skipping it: .ci/run
// installs it all.
func haveNodeSDK() (bool, error) {
	missing := func(format string, args ...any) (bool, error) {
		if os.Getenv("CI") != "" {
			return false, fmt.Errorf("the AWS SDK for JavaScript is required when CI is set (.ci/run installs it): "+format, args...)
		}
		return false, nil
	}
	if _, err := exec.LookPath("node"); err != nil {
		return missing("%v", err)
	}
	want, err := os.ReadFile(nodeLockFile)
	if err != nil {
		return false, err
	}
	dir := nodeDepsDir()
	got, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil || !bytes.Equal(got, want) {
		return missing("%s does not hold the packages of %s: run scripts/node-deps.sh", dir, nodeLockFile)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", "client-sts", "package.json")); err != nil {
		return missing("%v: run scripts/node-deps.sh", err)
	}
	return true, nil
}

// cmdNodeSDK prepares the script's environment for the JavaScript SDK:
// NODE_PATH at the installed packages, NODE_NO_WARNINGS (the SDK warns
// about the Node version on stderr), and JS_WHOAMI, the path of
// testdata/node/whoami.cjs (see there for its use). Guard it with
// [node-sdk].
//
//	node-sdk
func cmdNodeSDK(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: node-sdk")
	}
	whoami, err := filepath.Abs(filepath.Join("testdata", "node", "whoami.cjs"))
	ts.Check(err)
	ts.Setenv("NODE_PATH", filepath.Join(nodeDepsDir(), "node_modules"))
	ts.Setenv("NODE_NO_WARNINGS", "1")
	ts.Setenv("JS_WHOAMI", whoami)
}
