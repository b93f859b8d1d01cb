//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A zygote (testdata/zygote.py) runs a Python client the way a new process
// would, but forked from an interpreter that has already imported the AWS
// CLI's driver and boto3: most of a Python client's start is those imports,
// and the identity matrix starts two Python clients in each of its cells.

// startZygote starts testdata/zygote.py under python with modules
// imported, and those a run of warm (a script and its arguments) imports,
// and returns the path of its socket once it listens. It ends
// with the test.
func startZygote(t *testing.T, python string, modules []string, warm ...string) string {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("testdata", "zygote.py"))
	if err != nil {
		t.Fatal(err)
	}
	// A socket's path has a short limit (108 bytes): not under t.TempDir().
	dir, err := os.MkdirTemp("", "zygote")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "sock")
	args := append([]string{script, sock}, modules...)
	if len(warm) > 0 {
		args = append(append(args, "--"), warm...)
	}
	cmd := exec.Command(python, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the %s zygote: %v", python, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// No bound needed: the line comes, or the process ends and the read
	// returns EOF.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("the %s zygote (importing %v) did not start: %q, %v", python, modules, line, err)
	}
	return sock
}

// zygoteRequest is what zrun sends: the process it stands for.
type zygoteRequest struct {
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env"`
	Cwd  string            `json:"cwd"`
}

// zrunMain is the program `zrun SOCKET SCRIPT ARG...`: it has the zygote at
// SOCKET run SCRIPT with ARGs in zrun's own environment and directory, and
// copies what the script writes (stdout and stderr, in one stream) to its
// stdout.
func zrunMain() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "zrun:", err)
		os.Exit(2)
	}
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: zrun SOCKET SCRIPT [ARG...]"))
	}
	req := zygoteRequest{Argv: os.Args[2:], Env: map[string]string{}}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			req.Env[k] = v
		}
	}
	var err error
	if req.Cwd, err = os.Getwd(); err != nil {
		fail(err)
	}
	conn, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fail(err)
	}
	line, err := json.Marshal(req)
	if err != nil {
		fail(err)
	}
	if _, err := conn.Write(append(line, '\n')); err != nil {
		fail(err)
	}
	if _, err := io.Copy(os.Stdout, conn); err != nil {
		fail(err)
	}
}

// awsV2Interpreter is the Python that Debian's /usr/bin/aws (the AWS CLI
// v2) names on its #! line.
func awsV2Interpreter(t *testing.T) string {
	t.Helper()
	f, err := os.Open("/usr/bin/aws")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
	python, ok := strings.CutPrefix(strings.TrimSpace(line), "#!")
	if err != nil || !ok || strings.ContainsAny(python, " \t") {
		t.Fatalf("/usr/bin/aws does not start with a #! line naming its Python: %q, %v", line, err)
	}
	return python
}
