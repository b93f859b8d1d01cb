// Package headless drives a real browser for tests: Debian's chromium in
// headless mode, started the way rolecall starts a browser (a BROWSER
// command line from Command), then watched over the DevTools protocol
// (the page's URL, its text, a screenshot) through the port it writes to
// DevToolsActivePort in its profile directory. Nothing but tests uses it.
package headless

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// Program is where Debian installs chromium (.ci/run installs it).
const Program = "/usr/bin/chromium"

// hang is how long a browser gets for anything before the test says it
// hung: generous, for a loaded machine.
const hang = 2 * time.Minute

// Browser is a chromium to start through BROWSER, with a profile of its
// own.
type Browser struct {
	t       testing.TB
	profile string
}

// New returns a browser for t. Without chromium the test is skipped, or
// fails when CI is set (CI installs it).
func New(t testing.TB) *Browser {
	t.Helper()
	if _, err := exec.LookPath(Program); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required when CI is set (.ci/run installs it): %v", Program, err)
		}
		t.Skipf("needs %s: %v", Program, err)
	}
	return &Browser{t: t, profile: t.TempDir()}
}

// Command is the BROWSER value that starts this browser on the target
// (%s): headless, with a fresh profile, and no network of its own (no
// QUIC, background requests, component updates or sync). The process
// group is ended when the test ends.
func (b *Browser) Command() string {
	return strings.Join([]string{Program, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + b.profile, "--remote-debugging-port=0", "--remote-allow-origins=*",
		"--window-size=1000,700", "%s"}, " ")
}

// Page is the browser's page, watched over the DevTools protocol.
type Page struct {
	t    testing.TB
	ws   *websocket.Conn
	next int
}

// Attach waits for the started browser's DevTools port and connects to
// its page. The browser is closed (Browser.close) when the test ends.
func (b *Browser) Attach() *Page {
	t := b.t
	t.Helper()
	var port string
	deadline := time.Now().Add(hang)
	for {
		if data, err := os.ReadFile(filepath.Join(b.profile, "DevToolsActivePort")); err == nil {
			if line, _, ok := strings.Cut(string(data), "\n"); ok && line != "" {
				port = line
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hung: chromium wrote no DevToolsActivePort in %s", hang)
		}
		time.Sleep(20 * time.Millisecond)
	}
	base := "http://127.0.0.1:" + port
	var targets []struct {
		Type, URL            string
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	for {
		resp, err := http.Get(base + "/json/list") //nolint:noctx // a test's loopback
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&targets)
			_ = resp.Body.Close()
		}
		if err == nil && len(targets) > 0 && targets[0].Type == "page" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hung: chromium shows no page: %v %+v", err, targets)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ws, err := websocket.Dial(targets[0].WebSocketDebuggerURL, "", base)
	if err != nil {
		t.Fatalf("connect to chromium's page: %v", err)
	}
	p := &Page{t: t, ws: ws}
	t.Cleanup(func() {
		if t.Failed() {
			p.Screenshot("failed")
		}
		_, _ = p.call("Browser.close", nil)
		_ = ws.Close()
		b.waitGone()
	})
	return p
}

// waitGone waits until no process of this browser (its command line names
// the profile, unique to the test) is left, so that the profile directory
// can be removed; after a generous wait it kills what is left, by PID.
func (b *Browser) waitGone() {
	deadline := time.Now().Add(hang)
	for {
		pids := b.processes()
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.t.Errorf("hung: chromium still runs %s after Browser.close: killing %v", hang, pids)
			for _, pid := range pids {
				if proc, err := os.FindProcess(pid); err == nil {
					_ = proc.Kill()
				}
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CommandLines are the command lines of this browser's processes, as
// every user of the machine can read them (ps, /proc/PID/cmdline).
func (b *Browser) CommandLines() []string {
	var out []string
	for _, pid := range b.processes() {
		if cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err == nil {
			out = append(out, string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
		}
	}
	return out
}

// processes are the PIDs whose command line names this browser's profile.
func (b *Browser) processes() []int {
	entries, _ := os.ReadDir("/proc")
	flag := []byte("--user-data-dir=" + b.profile + "\x00")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, flag) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if _, rest, ok := bytes.Cut(stat, []byte(") ")); ok && bytes.HasPrefix(rest, []byte("Z")) {
				continue // exited, not yet reaped
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

// call sends one DevTools command and returns its result.
func (p *Page) call(method string, params any) (json.RawMessage, error) {
	p.next++
	id := p.next
	if err := websocket.JSON.Send(p.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return nil, err
	}
	if err := p.ws.SetReadDeadline(time.Now().Add(hang)); err != nil {
		return nil, err
	}
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(p.ws, &msg); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("chromium closed the connection: %w", err)
			}
			return nil, err
		}
		if msg.ID != id {
			continue // an event
		}
		if msg.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result, nil
	}
}

// Eval evaluates a JavaScript expression in the page and returns its
// value as a string.
func (p *Page) Eval(expr string) (string, error) {
	raw, err := p.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		return "", err
	}
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return "", err
	}
	return fmt.Sprint(res.Result.Value), nil
}

// WaitFor waits until the page is at a URL that holds want and has
// finished loading, and returns the URL and the page's text. On a hang a
// screenshot is kept in the test's artifact directory (and, from Attach,
// on any failure of the test).
func (p *Page) WaitFor(want string) (string, string) {
	t := p.t
	t.Helper()
	deadline := time.Now().Add(hang)
	var href string
	for {
		h, err := p.Eval("document.readyState === 'complete' ? location.href : ''")
		if err == nil && strings.Contains(h, want) {
			href = h
			break
		}
		if time.Now().After(deadline) {
			p.Screenshot("hung")
			t.Fatalf("hung: after %s the browser is at %q (%v), want a URL with %s", hang, h, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	text, err := p.Eval("document.body ? document.body.innerText : ''")
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return href, text
}

// Screenshot keeps what the browser shows as NAME.png among the test's
// artifacts (go test -artifacts keeps them), and logs where.
func (p *Page) Screenshot(name string) {
	t := p.t
	raw, err := p.call("Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	var res struct {
		Data string `json:"data"`
	}
	png, err := func() ([]byte, error) {
		if err := json.Unmarshal(raw, &res); err != nil {
			return nil, err
		}
		return base64.StdEncoding.DecodeString(res.Data)
	}()
	if err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	dir := t.TempDir()
	if a, ok := t.(interface{ ArtifactDir() string }); ok {
		dir = a.ArtifactDir()
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Logf("no screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}
