//go:build unix

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/pkg/cli"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestDocConfigureExample runs the configure command of
// docs/getting-started.md and compares what it writes with the profile the
// page shows (issue 23, item 13: the page left out x_rolecall_managed).
// Only the path of the rolecall binary differs.
func TestDocConfigureExample(t *testing.T) {
	page := readDoc(t, "docs/getting-started.md")
	cmd := regexp.MustCompile(`(?m)^rolecall (configure deploy-sdk [^\n]+)$`).FindStringSubmatch(page)
	block := regexp.MustCompile("(?s)`rolecall configure` adds.*?```ini\n(.*?)```").FindStringSubmatch(page)
	if cmd == nil || block == nil {
		t.Fatal("docs/getting-started.md has no configure example and profile block")
	}
	e := newRCEnv(t, ststest.DemoConfig())
	r := e.run(strings.Fields(cmd[1])...)
	if r.code != 0 {
		t.Fatalf("rolecall %s: exit %d:\n%s", cmd[1], r.code, r.stderr)
	}
	data, err := os.ReadFile(e.vars["AWS_CONFIG_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	binary := regexp.MustCompile(`(?m)^(credential_process = )\S+`)
	got := binary.ReplaceAllString(string(data), "${1}ROLECALL")
	want := binary.ReplaceAllString(block[1], "${1}ROLECALL")
	if got != want {
		t.Errorf("configure wrote:\n%s\nthe page shows:\n%s", got, want)
	}
}

// TestDocExitCodesTable: docs/exit-codes.md's table is one table, with a
// row for every exit code rolecall has (issue 23, item 13: a blank line
// before the 128+N row split it in two, and Markdown showed that row as
// a paragraph).
func TestDocExitCodesTable(t *testing.T) {
	lines := strings.Split(readDoc(t, "docs/exit-codes.md"), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "| code |") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatal("no table headed | code |")
	}
	var codes []string
	for _, l := range lines[start+2:] {
		if !strings.HasPrefix(l, "|") {
			break
		}
		codes = append(codes, strings.TrimSpace(strings.Split(l, "|")[1]))
	}
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7", "128+N"}
	if strings.Join(codes, " ") != strings.Join(want, " ") {
		t.Errorf("the table's rows are %q, want %q", codes, want)
	}
	for _, code := range []int{cli.ExitOK, cli.ExitInternal, cli.ExitUsage, cli.ExitConfig, cli.ExitRefused, cli.ExitUnreachable, cli.ExitNeedsPerson, cli.ExitLocal} {
		if code >= len(codes) {
			t.Errorf("exit code %d has no row", code)
		}
	}
}

func readDoc(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
