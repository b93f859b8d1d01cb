package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/console"
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
		{"federation refused", &console.FederationError{Endpoint: "https://signin.aws.amazon.com/federation", Status: 400, Reason: "Invalid credentials parameter"}, ExitRefused, true},
		{"federation refused a console duration", &console.FederationError{Status: 400, SessionDuration: true}, ExitRefused, true},
		{"federation unreachable", &console.FederationError{Err: fmt.Errorf("dial: %w", context.DeadlineExceeded)}, ExitUnreachable, true},
		{"federation failing", &console.FederationError{Status: 503}, ExitUnreachable, true},
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
