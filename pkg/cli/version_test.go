package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/build"
)

// TestVersionFlag: `rolecall --version` prints the line of `rolecall
// version`, on stdout.
func TestVersionFlag(t *testing.T) {
	run := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		io := &IO{In: strings.NewReader(""), Out: &out, ErrOut: &errOut, Getenv: func(string) string { return "" }, Now: time.Now}
		if code := Run(context.Background(), io, args); code != ExitOK {
			t.Fatalf("%v: exit %d; stderr: %s", args, code, errOut.String())
		}
		if errOut.Len() != 0 {
			t.Errorf("%v: stderr: %s", args, errOut.String())
		}
		return out.String()
	}
	want := build.Read().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if got := run(args...); got != want {
			t.Errorf("%v printed %q, want %q", args, got, want)
		}
	}
}
