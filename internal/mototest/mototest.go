// Package mototest starts moto's server (moto_server, from the machine's
// Python): an STS and IAM nobody here wrote, that tests hold the emulator
// and rolecall's own clients against.
package mototest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Start starts moto_server on a free loopback port and returns its URL; it
// stops with the test. Outside CI the test skips when moto_server is
// missing; in CI it fails.
func Start(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("moto_server is missing and CI is set: %v", err)
		}
		t.Skipf("moto_server is missing (pip install 'moto[server]')")
	}
	l, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()

	cmd := exec.CommandContext(t.Context(), path, "-H", "127.0.0.1", "-p", fmt.Sprint(port)) //nolint:gosec // moto_server from PATH, in tests only
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto_server: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Werkzeug announces "Running on http://127.0.0.1:PORT" once it
	// listens; read up to that line instead of polling.
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	lines := bufio.NewScanner(stderr)
	var seen []string
	for lines.Scan() {
		seen = append(seen, lines.Text())
		if strings.Contains(lines.Text(), "Running on "+url) {
			go func() { _, _ = io.Copy(io.Discard, stderr) }()
			return url
		}
	}
	t.Fatalf("moto_server ended before listening:\n%s", strings.Join(seen, "\n"))
	return ""
}
