package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/format"
)

func testIO(env map[string]string) (*IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &IO{
		In:     strings.NewReader(""),
		Out:    &out,
		ErrOut: &errOut,
		Getenv: func(k string) string { return env[k] },
		Now:    time.Now,
	}, &out, &errOut
}

// TestAssumeFlags checks that flags bind into AssumeOptions, apart from
// running anything.
func TestAssumeFlags(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *AssumeOptions)
	}{
		{"defaults", []string{"arn:aws:iam::123456789012:role/x"}, func(t *testing.T, o *AssumeOptions) {
			if o.Format != "env" || o.Request.Timeout != time.Minute || o.Request.RefreshWindow != 15*time.Minute || o.Request.MFASessionTTL != 12*time.Hour {
				t.Errorf("defaults: %+v", o)
			}
		}},
		{"repeatable", []string{"--tag", "a=1", "--tag", "b=2", "--policy-arn", "p1", "--policy-arn", "p2", "--transitive-tag-key", "a", "r"}, func(t *testing.T, o *AssumeOptions) {
			if len(o.Request.Tags) != 2 || len(o.Request.PolicyARNs) != 2 || len(o.Request.TransitiveTagKeys) != 1 {
				t.Errorf("repeatable flags: %+v", o.Request)
			}
		}},
		{"format short", []string{"-f", "fish", "r"}, func(t *testing.T, o *AssumeOptions) {
			if o.Format != "fish" {
				t.Errorf("format = %q", o.Format)
			}
		}},
		{"several roles", []string{"r1", "r2", "r3"}, func(t *testing.T, o *AssumeOptions) {
			if strings.Join(o.Roles, ",") != "r1,r2,r3" {
				t.Errorf("roles = %v", o.Roles)
			}
		}},
		{"web identity", []string{"--oidc", "github", "--audience", "a", "--web-identity-token-file", "f", "r"}, func(t *testing.T, o *AssumeOptions) {
			w := o.Request.WebIdentity
			if w.OIDC != "github" || w.Audience != "a" || w.TokenFile != "f" {
				t.Errorf("web identity flags: %+v", w)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _ := testIO(nil)
			var got *AssumeOptions
			cmd := NewCmdAssume(io, func(_ context.Context, o *AssumeOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			tt.check(t, got)
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, true},
		{"3600", time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"soon", 0, false},
		{"36028797018967568", 0, false}, // would overflow into 1h
		{"-3600", 0, false},
	}
	for _, tt := range tests {
		got, err := assume.ParseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v", tt.in, got, err)
		}
	}
}

func TestChildEnvDropsConflictingCredentials(t *testing.T) {
	parent := []string{"PATH=/bin", "AWS_PROFILE=p", "AWS_ACCESS_KEY_ID=old", "AWS_SECURITY_TOKEN=old", "HOME=/h"}
	env := childEnv(parent, []format.Var{{Name: "AWS_ACCESS_KEY_ID", Value: "new"}})
	joined := strings.Join(env, "\n")
	for _, gone := range []string{"AWS_PROFILE=", "AWS_ACCESS_KEY_ID=old", "AWS_SECURITY_TOKEN="} {
		if strings.Contains(joined, gone) {
			t.Errorf("child env still has %s", gone)
		}
	}
	for _, kept := range []string{"PATH=/bin", "HOME=/h", "AWS_ACCESS_KEY_ID=new"} {
		if !strings.Contains(joined, kept) {
			t.Errorf("child env lost %s", kept)
		}
	}
}

func TestEvalHintOnlyForATerminal(t *testing.T) {
	c := creds.Credentials{AccessKeyID: "ASIAEXAMPLEEXAMPLE01", SecretAccessKey: "s", SessionToken: "t", Expiration: time.Now().Add(time.Hour)}
	tests := []struct {
		name     string
		terminal bool
		format   format.Format
		wantHint bool
	}{
		{"terminal, shell format", true, format.Env, true},
		{"terminal, fish", true, format.Fish, true},
		{"pipe, shell format", false, format.Env, false},
		{"terminal, json", true, format.JSON, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, out, errOut := testIO(nil)
			io.OutIsTerminal = tt.terminal
			opts := &AssumeOptions{IO: io, CommandLine: "rolecall assume demo", ProfileName: "default"}
			if err := emit(opts, tt.format, c, ""); err != nil {
				t.Fatal(err)
			}
			if out.Len() == 0 {
				t.Error("nothing on stdout")
			}
			hint := strings.Contains(errOut.String(), "rolecall assume demo")
			if hint != tt.wantHint {
				t.Errorf("hint on stderr = %v, want %v (%q)", hint, tt.wantHint, errOut.String())
			}
			if strings.Contains(errOut.String(), "ASIAEXAMPLE") {
				t.Error("the hint leaked credentials")
			}
		})
	}
}
