package awsconfig

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/safefile"
)

// The test binary doubles as a writer process: with AWSCONFIG_HELPER set it
// writes one credentials section and exits instead of running the tests.
const (
	helperEnv     = "AWSCONFIG_HELPER"
	helperPathEnv = "AWSCONFIG_HELPER_PATH"
	helperNameEnv = "AWSCONFIG_HELPER_NAME"
)

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "write":
		os.Exit(helperWrite(false))
	case "pause":
		os.Exit(helperWrite(true))
	}
	os.Exit(m.Run())
}

// helperWrite waits for a line on stdin (the parent's starting gun), then
// writes section NAME. With pause it stops after the temp file is written,
// says so on stdout, and waits on stdin for ever: the parent kills it there.
func helperWrite(pause bool) int {
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "helper: no start signal:", err)
		return 2
	}
	if pause {
		safefile.SetTestHookBeforeRename(func(tmp string) {
			fmt.Println("paused", tmp)
			_, _ = io.Copy(io.Discard, in) // blocks until killed
		})
	}
	name := os.Getenv(helperNameEnv)
	if err := WriteCredentialsSection(context.Background(), os.Getenv(helperPathEnv), name, credsFor(name), WriteOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// credsFor derives distinct credentials from a section name.
func credsFor(name string) creds.Credentials {
	return testCreds("ASIA" + strings.ToUpper(strings.ReplaceAll(name, "-", "")))
}

// helperCmd starts the test binary as a writer of section name; the
// returned writer is its stdin.
func helperCmd(t *testing.T, mode, path, name string) (*exec.Cmd, io.WriteCloser, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperPathEnv+"="+path, helperNameEnv+"="+name)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() && stderr.Len() > 0 {
			t.Logf("helper %s stderr: %s", name, stderr.String())
		}
	})
	return cmd, stdin, stdout
}

// TestConcurrentWriters has 8 goroutines and 8 processes write 16 different
// sections of one file at once: every section must land, and the sections
// that were there must come through untouched.
func TestConcurrentWriters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials")
	original := mustRead("testdata/messy/credentials.valid")
	writeFile(t, path, original)

	const each = 8
	var names []string
	start := make(chan struct{})
	errs := make(chan error, 2*each)
	var wg sync.WaitGroup
	for i := 0; i < each; i++ {
		name := fmt.Sprintf("goroutine-%d", i)
		names = append(names, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- WriteCredentialsSection(t.Context(), path, name, credsFor(name), WriteOptions{})
		}()
	}
	type proc struct {
		cmd   *exec.Cmd
		stdin io.WriteCloser
	}
	var procs []proc
	for i := 0; i < each; i++ {
		name := fmt.Sprintf("process-%d", i)
		names = append(names, name)
		cmd, stdin, _ := helperCmd(t, "write", path, name)
		procs = append(procs, proc{cmd, stdin})
	}
	close(start)
	for _, p := range procs {
		if _, err := io.WriteString(p.stdin, "go\n"); err != nil {
			t.Fatal(err)
		}
		_ = p.stdin.Close()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("goroutine writer: %v", err)
		}
	}
	for i, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("process writer %d: %v", i, err)
		}
	}

	after := readFile(t, path)
	doc, err := parseDocument(path, []byte(after))
	if err != nil {
		t.Fatalf("file after concurrent writes does not parse: %v", err)
	}
	for _, name := range names {
		var found *section
		for _, s := range doc.sections {
			if s.name == name {
				if found != nil {
					t.Errorf("section [%s] written twice", name)
				}
				found = s
			}
		}
		if found == nil {
			t.Errorf("section [%s] was lost", name)
			continue
		}
		want := credsFor(name)
		if o, _ := found.lookup("aws_access_key_id"); o.value != want.AccessKeyID {
			t.Errorf("[%s] aws_access_key_id = %q, want %q", name, o.value, want.AccessKeyID)
		}
		if o, _ := found.lookup("aws_session_token"); o.value != want.SessionToken {
			t.Errorf("[%s] has another writer's session token", name)
		}
	}
	rest, ok := strings.CutPrefix(cutSections(after, names...), original)
	if !ok || strings.Trim(rest, "\r\n") != "" {
		t.Error("the sections that were in the file before changed")
	}
}

// TestKilledWriterLeavesFileIntact kills a writer (SIGKILL on Unix) after it
// wrote its temp file and before the rename: the file must be exactly as it
// was, the lock must be free, and the next write must succeed and, once the
// dead writer's temp file is stale, clear it.
func TestKilledWriterLeavesFileIntact(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "credentials")
	original := mustRead("testdata/messy/credentials.valid")
	writeFile(t, path, original)

	cmd, stdin, stdout := helperCmd(t, "pause", path, "doomed")
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("helper did not reach the rename: %v", err)
	}
	tmp, ok := strings.CutPrefix(strings.TrimSpace(line), "paused ")
	if !ok {
		t.Fatalf("helper said %q", line)
	}
	if written := readFile(t, tmp); !strings.Contains(written, "[doomed]") {
		t.Fatal("the paused writer's temp file does not hold its section")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if cmd.ProcessState.Success() {
		t.Fatal("the helper exited normally instead of being killed")
	}

	if got := readFile(t, path); got != original {
		t.Fatal("the killed writer changed the file")
	}
	fi, err := os.Stat(tmp)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("temp file left by the killed writer: %v, mode %v; want it there with mode 0600", err, fi.Mode().Perm())
	}

	if err := WriteCredentialsSection(t.Context(), path, "early", credsFor("early"), WriteOptions{}); err != nil {
		t.Fatalf("write after the kill: %v", err)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Errorf("a recent temp file was removed: it may belong to a live writer (%v)", err)
	}
	// Temp files are aged by the file system's clock, which is the real
	// one: backdate instead of waiting.
	old := time.Now().Add(-2 * safefile.StaleTempAge)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	if err := WriteCredentialsSection(t.Context(), path, "survivor", credsFor("survivor"), WriteOptions{}); err != nil {
		t.Fatalf("write after the kill: %v", err)
	}
	after := readFile(t, path)
	if strings.Contains(after, "[doomed]") || !strings.Contains(after, "[survivor]") {
		t.Errorf("after the next write: [doomed] present = %v, [survivor] present = %v; want false, true",
			strings.Contains(after, "[doomed]"), strings.Contains(after, "[survivor]"))
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("the dead writer's temp file is still there: %v", err)
	}
}
