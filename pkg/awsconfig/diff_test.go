package awsconfig

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnifiedDiffAppliesWithPatch: the diff, applied by patch(1), turns
// the old file into the new one.
func TestUnifiedDiffAppliesWithPatch(t *testing.T) {
	if _, err := exec.LookPath("patch"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("patch is required when CI is set")
		}
		t.Skip("no patch")
	}
	var a, b strings.Builder
	for i := range 40 {
		line := "line " + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "\n"
		a.WriteString(line)
		if i%9 != 3 {
			b.WriteString(line)
		}
		if i%13 == 5 {
			b.WriteString("new " + line)
		}
	}
	b.WriteString("tail without newline")
	for _, tt := range [][2]string{{a.String(), b.String()}, {"", "x\n"}, {"x\n", ""}, {a.String(), a.String() + "y\n"}} {
		dir := t.TempDir()
		old := filepath.Join(dir, "config")
		if err := os.WriteFile(old, []byte(tt[0]), 0o600); err != nil {
			t.Fatal(err)
		}
		d := UnifiedDiff("config", "config", []byte(tt[0]), []byte(tt[1]))
		cmd := exec.Command("patch", "-s", old)
		cmd.Stdin = strings.NewReader(d)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("patch: %v: %s\n%s", err, out, d)
		}
		got, _ := os.ReadFile(old)
		if string(got) != tt[1] {
			t.Fatalf("patched file differs:\n%q\nwant\n%q\ndiff:\n%s", got, tt[1], d)
		}
	}
}
