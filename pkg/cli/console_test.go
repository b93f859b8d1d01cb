package cli

import (
	"context"
	"testing"
	"time"
)

// TestConsoleFlags checks that console's own flags and every assume flag
// bind into ConsoleOptions, apart from running anything.
func TestConsoleFlags(t *testing.T) {
	io, _, _ := testIO(nil)
	var got *ConsoleOptions
	cmd := NewCmdConsole(io, func(_ context.Context, o *ConsoleOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--profile", "base", "--print", "--service", "s3", "--console-duration", "2h",
		"--federation-url", "http://127.0.0.1:1", "--region", "eu-west-1", "--duration", "1h", "--policy-arn", "p", "deploy", "other"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !got.Print || got.Service != "s3" || got.ConsoleDuration != 2*time.Hour || got.FederationURL != "http://127.0.0.1:1" {
		t.Errorf("console flags: %+v", got)
	}
	r := got.Request
	if r.Profile != "base" || r.Region != "eu-west-1" || r.Duration != "1h" || len(r.PolicyARNs) != 1 || r.Timeout != time.Minute {
		t.Errorf("assume flags: %+v", r.Request)
	}
	if len(got.Roles) != 2 || got.Roles[0] != "deploy" {
		t.Errorf("roles = %v", got.Roles)
	}
}
