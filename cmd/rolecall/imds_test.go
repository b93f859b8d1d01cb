//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestNoCredentialsWhereIMDSRefuses (issue 23, item 5): with no
// credentials anywhere, on a host whose instance metadata answers 403 (no
// instance role, or not EC2 at all), rolecall says "no AWS credentials
// found", where it looked and what instance metadata said, as it does when
// instance metadata is turned off, instead of the SDK's IMDS error.
func TestNoCredentialsWhereIMDSRefuses(t *testing.T) {
	var asked atomic.Int32
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "Forbidden", http.StatusForbidden)
	}))
	t.Cleanup(imds.Close)
	for _, tt := range []struct {
		name, disabled, want string
	}{
		{"403", "", "and instance metadata, which answered HTTP 403 (no instance role here)"},
		{"off", "true", "instance metadata is off (AWS_EC2_METADATA_DISABLED)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newRCEnv(t, ststest.DemoConfig())
			delete(e.vars, "AWS_ACCESS_KEY_ID")
			delete(e.vars, "AWS_SECRET_ACCESS_KEY")
			e.vars["AWS_EC2_METADATA_DISABLED"] = tt.disabled
			e.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.URL
			e.vars["AWS_REGION"] = "us-east-1"
			r := e.run("process", "--timeout", "20s", ststest.DemoRoleARN("demo"))
			if r.code != 3 || r.stdout != "" {
				t.Fatalf("exit %d, %d bytes on stdout; want 3 and nothing:\n%s", r.code, len(r.stdout), r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != 2 {
				t.Fatalf("want an error and a hint, got:\n%s", r.stderr)
			}
			if !strings.HasPrefix(lines[0], "rolecall: error: no AWS credentials found: looked in AWS_ACCESS_KEY_ID, AWS_PROFILE, the [default] profile in ") ||
				!strings.HasSuffix(lines[0], tt.want) {
				t.Errorf("error line %q, want the no-credentials line ending %q", lines[0], tt.want)
			}
			if lines[1] != "rolecall: hint: add keys to ~/.aws/credentials (aws configure), pass --profile NAME, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" {
				t.Errorf("hint line %q", lines[1])
			}
		})
	}
	if asked.Load() == 0 {
		t.Error("instance metadata was never asked")
	}
}
