package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
)

// TestServeFlags checks that serve's and exec --server's flags bind, apart
// from running anything.
func TestServeFlags(t *testing.T) {
	io, _, _ := testIO(nil)
	var got *ServeOptions
	cmd := NewCmdServe(io, func(_ context.Context, o *ServeOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--allow-role", "arn:a", "--allow-role", "arn:b", "--policy", "{}", "-f", "dotenv", "deploy"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.TokenVia != tokenViaBoth || got.Listen != "127.0.0.1:0" || got.Format != "dotenv" ||
		strings.Join(got.AllowRoles, ",") != "arn:a,arn:b" || got.Request.Policy != "{}" || got.Roles[0] != "deploy" {
		t.Errorf("serve options: %+v", got)
	}

	var ex *ExecOptions
	cmd = NewCmdExec(io, func(_ context.Context, o *ExecOptions) error { ex = o; return nil })
	cmd.SetArgs([]string{"--server", "--policy-arn", "arn:p", "deploy", "--", "terraform", "plan"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !ex.Server || ex.TokenVia != tokenViaEnv || ex.Request.PolicyARNs[0] != "arn:p" || strings.Join(ex.Command, " ") != "terraform plan" {
		t.Errorf("exec options: %+v", ex)
	}
}

// TestDescribeFailure: a fetch error is answered with the printer's
// message and hint, under a status that says whether a retry can help.
func TestDescribeFailure(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		code   string
		msg    string
	}{
		{"no one to ask", &assume.NeedsPersonError{Serial: "arn:aws:iam::123456789012:mfa/alice"}, http.StatusForbidden, "MFACodeNeeded",
			"rolecall: an MFA code for arn:aws:iam::123456789012:mfa/alice is needed and there is no one to ask; hint: pass --mfa-code"},
		{"timeout", fmt.Errorf("AssumeRole: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, "CredentialsUnavailable",
			"rolecall: timed out waiting for STS"},
		{"config", &assume.ConfigError{Err: errors.New("profile \"x\" has no role_arn"), Hint: "fix it"}, http.StatusInternalServerError, "CredentialsError",
			`rolecall: profile "x" has no role_arn; hint: fix it`},
		{"control characters", errors.New("bad\x1b[31m\nthing"), http.StatusInternalServerError, "CredentialsError",
			`rolecall: bad\x1b[31m thing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := describeFailure(tt.err)
			if f.Status != tt.status || f.Code != tt.code || !strings.HasPrefix(f.Message, tt.msg) {
				t.Errorf("got %d %s %q, want %d %s %q…", f.Status, f.Code, f.Message, tt.status, tt.code, tt.msg)
			}
		})
	}
}

func TestEndpointURI(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:9911":     "http://127.0.0.1:9911/",
		"0.0.0.0:9911":       "http://127.0.0.1:9911/",
		"[::]:9911":          "http://127.0.0.1:9911/",
		"[::1]:9911":         "http://[::1]:9911/",
		"169.254.170.2:80":   "http://169.254.170.2:80/",
		"[fd00:ec2::23]:80":  "http://[fd00:ec2::23]:80/",
		"192.168.1.10:40000": "http://192.168.1.10:40000/",
	} {
		addr, err := net.ResolveTCPAddr("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := endpointURI(addr); got != want {
			t.Errorf("endpointURI(%s) = %s, want %s", listen, got, want)
		}
	}
}

func TestWarnListen(t *testing.T) {
	tests := []struct {
		listen   string
		warnings int
	}{
		{"127.0.0.1:1", 0},
		{"[::1]:1", 1},          // older clients refuse the URI
		{"169.254.170.2:80", 1}, // reachable, but SDKs accept it
		{"0.0.0.0:1", 2},
		{"192.168.1.10:1", 2},
	}
	for _, tt := range tests {
		io, _, errOut := testIO(nil)
		addr, _ := net.ResolveTCPAddr("tcp", tt.listen)
		warnListen(io, tt.listen, addr)
		if n := strings.Count(errOut.String(), "warning:"); n != tt.warnings {
			t.Errorf("%s: %d warnings, want %d:\n%s", tt.listen, n, tt.warnings, errOut)
		}
	}
}

// TestEndpointFetchAppendsRole: a /role-arn/ route is the request's ROLEs
// plus that role, with the server's minimum life as the refresh window;
// the request itself is never changed.
func TestEndpointFetchAppendsRole(t *testing.T) {
	e := &endpoint{req: assume.Request{Roles: []string{"deploy"}, RefreshWindow: 15 * time.Minute, Timeout: time.Second}}
	e.req.Roles = e.req.Roles[:1:1]
	e.env = assume.Env{Getenv: func(string) string { return "" }}
	_, err := e.fetch(t.Context(), "arn:aws:iam::123456789012:role/other", 20*time.Minute)
	if err == nil {
		t.Fatal("no error without credentials or config")
	}
	if len(e.req.Roles) != 1 || e.req.RefreshWindow != 15*time.Minute {
		t.Errorf("fetch changed the request: %+v", e.req)
	}
}
