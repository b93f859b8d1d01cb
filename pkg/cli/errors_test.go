package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/console"
	"github.com/rolecall/rolecall/pkg/eks"
	"github.com/rolecall/rolecall/pkg/safefile"
)

func TestPrintErrorContract(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode int
		wantHint bool
	}{
		{"usage", usageErrorf("do this", "bad flag"), ExitUsage, true},
		{"input error", &assume.InputError{Param: "duration", Msg: "out of range"}, ExitUsage, false},
		{"needs person", &assume.NeedsPersonError{Serial: "arn:aws:iam::1:mfa/x"}, ExitNeedsPerson, true},
		{"timeout", fmt.Errorf("call: %w", context.DeadlineExceeded), ExitUnreachable, true},
		{"config", withCode(ExitConfig, errors.New("profile x"), ""), ExitConfig, false},
		{"child", &childExit{code: 3}, ExitInternal, false},
		{"multi-line", errors.New("line one\nline two"), ExitInternal, false},
		// Writes of the AWS files are config errors, except where a lock or
		// a section rolecall may not overwrite is to blame.
		{"lock timeout", withCode(ExitConfig, fmt.Errorf("write [x]: %w", &safefile.LockTimeoutError{Path: "/h/.aws/config.lock", Err: context.DeadlineExceeded}), ""), ExitLocal, true},
		{"lock wait interrupted", withCode(ExitConfig, fmt.Errorf("write [x]: stopped waiting (%w): %w", safefile.ErrLockWaitCanceled, context.Canceled), ""), ExitLocal, false},
		{"profile rolecall did not write", withCode(ExitConfig, fmt.Errorf("[profile x]: %w", awsconfig.ErrUnmanagedSection), ""), ExitLocal, true},
		{"federation refused", &console.FederationError{Endpoint: "https://signin.aws.amazon.com/federation", Status: 400, Reason: "Invalid credentials parameter"}, ExitRefused, true},
		{"federation refused a console duration", &console.FederationError{Status: 400, SessionDuration: true}, ExitRefused, true},
		{"federation unreachable", &console.FederationError{Err: fmt.Errorf("dial: %w", context.DeadlineExceeded)}, ExitUnreachable, true},
		{"federation failing", &console.FederationError{Status: 503}, ExitUnreachable, true},
		{"EKS cluster name", &eks.ClusterError{Name: "a.b"}, ExitUsage, true},
		{"KUBERNETES_EXEC_INFO", &eks.ExecInfoError{Msg: "is not JSON"}, ExitUsage, true},
		{"kubectl's lock", fmt.Errorf("write: %w", &eks.KubeconfigLockedError{Path: "/h/.kube/config.lock"}), ExitLocal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			code := printError(&buf, false, tt.err, nil)
			if code != tt.wantCode {
				t.Errorf("code = %d, want %d", code, tt.wantCode)
			}
			lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
			if !strings.HasPrefix(lines[0], "rolecall: error: ") {
				t.Errorf("first line %q", lines[0])
			}
			if hasHint := len(lines) == 2 && strings.HasPrefix(lines[1], "rolecall: hint: "); hasHint != tt.wantHint || len(lines) > 2 {
				t.Errorf("lines = %q, want hint %v", lines, tt.wantHint)
			}
		})
	}
}

func TestColourOnlyWhenAsked(t *testing.T) {
	var plain, colored bytes.Buffer
	printError(&plain, false, errors.New("x"), nil)
	printError(&colored, true, errors.New("x"), nil)
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain output has escape codes: %q", plain.String())
	}
	if !strings.Contains(colored.String(), "\x1b[") {
		t.Errorf("coloured output has none: %q", colored.String())
	}
	io, _, _ := testIO(map[string]string{"NO_COLOR": "1"})
	io.ErrIsTerminal = true
	if io.colored() {
		t.Error("NO_COLOR is set, yet stderr would be coloured")
	}
	io, _, _ = testIO(nil)
	if io.colored() {
		t.Error("stderr is no terminal, yet it would be coloured")
	}
}

// TestEscapeForAPerson: control characters (C0 and C1) and the format
// characters that forge or reorder a line are shown escaped; text is not.
func TestEscapeForAPerson(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain ümlaut 日本", "plain ümlaut 日本"},
		{"a\nb\r\x1b[31m", `a\x0ab\x0d\x1b[31m`},
		{"c1\u0085next", `c1\x85next`},
		{"bidi\u202eevil\u2066", `bidi\u202eevil\u2066`},
		{"line\u2028sep\u2029para", `line\u2028sep\u2029para`},
		{"zero\u200bwidth", `zero\u200bwidth`},
	}
	for _, tt := range tests {
		if got := escapeControl(tt.in); got != tt.want {
			t.Errorf("escapeControl(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// --debug shows a forged ARN from STS escaped, on one line.
	io, _, errOut := testIO(nil)
	io.debug = true
	io.Debugf("credentials for %s expire", "arn:aws:sts::1:assumed-role/x\nrolecall: error: forged\u202e")
	if got := errOut.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, `x\x0arolecall: error: forged\u202e`) {
		t.Errorf("debug line %q", got)
	}
}
