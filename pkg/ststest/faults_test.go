package ststest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/rolecall/rolecall/pkg/ststest"
)

func TestFaults(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	assumeDemo := func(c *sts.Client) error {
		_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("faulty")})
		return err
	}
	whoami := func(c *sts.Client) error {
		_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	// outcome names what a call got: "ok", an STS error code, or
	// "transport" for a failure below the protocol.
	outcome := func(err error) string {
		var apiErr smithy.APIError
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &apiErr):
			return apiErr.ErrorCode()
		default:
			return "transport"
		}
	}

	tests := []struct {
		name   string
		faults []ststest.Fault
		calls  []func(*sts.Client) error
		want   []string
		logged []string // Call.Fault per call
	}{
		{
			name:   "throttle every call",
			faults: []ststest.Fault{{Action: "AssumeRole", Kind: ststest.FaultThrottle}},
			calls:  []func(*sts.Client) error{assumeDemo, assumeDemo, whoami},
			want:   []string{"Throttling", "Throttling", "ok"},
			logged: []string{"throttle", "throttle", ""},
		},
		{
			name:   "internal failure on the second call",
			faults: []ststest.Fault{{Action: "AssumeRole", Kind: ststest.FaultInternal, Nth: 2}},
			calls:  []func(*sts.Client) error{assumeDemo, assumeDemo, assumeDemo},
			want:   []string{"ok", "InternalFailure", "ok"},
			logged: []string{"", "internal", ""},
		},
		{
			name:   "next two calls of any action",
			faults: []ststest.Fault{{Kind: ststest.FaultThrottle, Count: 2}},
			calls:  []func(*sts.Client) error{whoami, assumeDemo, whoami},
			want:   []string{"Throttling", "Throttling", "ok"},
			logged: []string{"throttle", "throttle", ""},
		},
		{
			name:   "two calls from the second",
			faults: []ststest.Fault{{Kind: ststest.FaultInternal, Nth: 2, Count: 2}},
			calls:  []func(*sts.Client) error{whoami, whoami, whoami, whoami},
			want:   []string{"ok", "InternalFailure", "InternalFailure", "ok"},
			logged: []string{"", "internal", "internal", ""},
		},
		{
			name:   "dropped connection",
			faults: []ststest.Fault{{Action: "GetCallerIdentity", Kind: ststest.FaultDrop, Count: 1}},
			calls:  []func(*sts.Client) error{whoami, whoami},
			want:   []string{"transport", "ok"},
			logged: []string{"drop", ""},
		},
		{
			name:   "truncated body",
			faults: []ststest.Fault{{Action: "AssumeRole", Kind: ststest.FaultTruncate, Count: 1}},
			calls:  []func(*sts.Client) error{assumeDemo, assumeDemo},
			want:   []string{"transport", "ok"},
			logged: []string{"truncate", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.ResetCalls()
			s.SetFaults(tt.faults...)
			defer s.SetFaults()
			c := alice(t, s)
			for i, call := range tt.calls {
				if got := outcome(call(c)); got != tt.want[i] {
					t.Errorf("call %d got %s, want %s", i+1, got, tt.want[i])
				}
			}
			calls := s.Calls()
			if len(calls) != len(tt.logged) {
				t.Fatalf("logged %d calls, want %d", len(calls), len(tt.logged))
			}
			for i, c := range calls {
				if c.Fault != tt.logged[i] {
					t.Errorf("call %d logged fault %q, want %q", i+1, c.Fault, tt.logged[i])
				}
			}
		})
	}

	t.Run("throttling as STS words it", func(t *testing.T) {
		s.SetFaults(ststest.Fault{Kind: ststest.FaultThrottle})
		defer s.SetFaults()
		wantAPIError(t, whoami(alice(t, s)), "Throttling", http.StatusBadRequest, "Rate exceeded")
		s.SetFaults(ststest.Fault{Kind: ststest.FaultInternal})
		wantAPIError(t, whoami(alice(t, s)), "InternalFailure", http.StatusInternalServerError, "")
	})

	t.Run("latency", func(t *testing.T) {
		const delay = 50 * time.Millisecond
		s.SetFaults(ststest.Fault{Action: "GetCallerIdentity", Kind: ststest.FaultLatency, Latency: delay})
		defer s.SetFaults()
		start := time.Now()
		if err := whoami(alice(t, s)); err != nil {
			t.Fatalf("slow call: %v", err)
		}
		if took := time.Since(start); took < delay {
			t.Errorf("call took %v, want at least %v", took, delay)
		}
		if c := lastCall(t, s, "GetCallerIdentity"); c.Fault != "latency" || c.Error != "" || c.Caller != ststest.DemoUserARN {
			t.Errorf("logged %+v, want a successful call with the latency fault", c)
		}
	})

	t.Run("hang until the client gives up", func(t *testing.T) {
		s.SetFaults(ststest.Fault{Kind: ststest.FaultHang})
		defer s.SetFaults()
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		_, err := alice(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the client's deadline", err)
		}
	})

	t.Run("retries get through", func(t *testing.T) {
		s.ResetCalls()
		s.SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultThrottle, Count: 2})
		defer s.SetFaults()
		c := client(t, s, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "", func(o *sts.Options) {
			o.RetryMaxAttempts = 3
			o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		})
		if err := assumeDemo(c); err != nil {
			t.Fatalf("AssumeRole with retries: %v", err)
		}
		if n := s.CallCount("AssumeRole"); n != 3 {
			t.Errorf("emulator got %d AssumeRole calls, want 3", n)
		}
	})
}

// TestHangEndsWithClose checks that Close does not wait for a hanging call.
func TestHangEndsWithClose(t *testing.T) {
	s := ststest.NewServer(ststest.DemoConfig())
	s.SetFaults(ststest.Fault{Kind: ststest.FaultHang})
	done := make(chan error, 1)
	go func() {
		_, err := alice(t, s).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		done <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitCalls(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("hanging call ended before Close: %v", err)
	default:
	}
	s.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("hanging call succeeded after Close")
		}
	case <-time.After(time.Minute):
		t.Fatal("hung: the hanging call still open a minute after Close")
	}
}

func TestFaultJSON(t *testing.T) {
	var faults []ststest.Fault
	in := `[{"action":"AssumeRole","kind":"latency","latency":"200ms","nth":2},{"kind":"drop","count":1}]`
	if err := json.Unmarshal([]byte(in), &faults); err != nil {
		t.Fatal(err)
	}
	want := []ststest.Fault{
		{Action: "AssumeRole", Kind: "latency", Latency: 200 * time.Millisecond, Nth: 2},
		{Kind: "drop", Count: 1},
	}
	if len(faults) != 2 || faults[0] != want[0] || faults[1] != want[1] {
		t.Fatalf("parsed %+v, want %+v", faults, want)
	}
	out, err := json.Marshal(faults)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("marshalled %s, want %s", out, in)
	}
	for _, bad := range []string{`{"kind":"explode"}`, `{"kind":"latency"}`, `{"kind":"latency","latency":"soon"}`, `{"kind":"drop","nth":-1}`} {
		var f ststest.Fault
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s parsed without error", bad)
		}
	}
}

// TestIDPCommunicationFault checks that the fault reaches the SDK as STS's
// IDPCommunicationError, typed, with its status, on the calls it names and
// no others, and that the SDK's own retryer treats it as retryable.
func TestIDPCommunicationFault(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	_, token := githubToken(t, s, ststest.DemoGitHubRequestToken, "sts.amazonaws.com")
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(ststest.DemoRoleARN("ci-deploy")), RoleSessionName: aws.String("run-1"), WebIdentityToken: aws.String(token),
	}

	// Every fault counts the calls it matches: nth 2 with count 1 is the
	// second call only; other actions are not counted.
	s.SetFaults(ststest.Fault{Kind: ststest.FaultIDPCommunication, Nth: 2, Count: 1})
	c := anonymous(t, s)
	if _, err := c.AssumeRoleWithWebIdentity(ctx, in); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if _, err := alice(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("another action under the fault: %v", err)
	}
	_, err := c.AssumeRoleWithWebIdentity(ctx, in)
	wantAPIError(t, err, "IDPCommunicationError", http.StatusBadRequest, "could not be reached")
	var typed *types.IDPCommunicationErrorException
	if !errors.As(err, &typed) {
		t.Errorf("error %T is not the SDK's IDPCommunicationErrorException", err)
	}
	if _, err := c.AssumeRoleWithWebIdentity(ctx, in); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if call := lastCall(t, s, "AssumeRoleWithWebIdentity"); call.Fault != "" {
		t.Errorf("third call logged fault %q", call.Fault)
	}
	calls := s.Calls()
	if c := calls[2]; c.Fault != ststest.FaultIDPCommunication || c.Error != "IDPCommunicationError" {
		t.Errorf("faulted call logged %+v", c)
	}

	// With retries on, the SDK retries it: STS's client lists the code as
	// retryable.
	s.SetFaults(ststest.Fault{Action: "AssumeRoleWithWebIdentity", Kind: ststest.FaultIDPCommunication, Count: 1})
	s.ResetCalls()
	retrying := client(t, s, "", "", "", func(o *sts.Options) {
		o.Credentials = aws.AnonymousCredentials{}
		o.RetryMaxAttempts = 2
		o.Retryer = retry.AddWithMaxBackoffDelay(retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = 2 }), time.Millisecond)
	})
	if _, err := retrying.AssumeRoleWithWebIdentity(ctx, in); err != nil {
		t.Errorf("retried call: %v", err)
	}
	if n := s.CallCount("AssumeRoleWithWebIdentity"); n != 2 {
		t.Errorf("%d calls, want the faulted one and its retry", n)
	}
}

func TestIDPCommunicationFaultAppliesToWebIdentityOnly(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("an idp-communication fault on AssumeRole was accepted")
		}
	}()
	newServer(t).SetFaults(ststest.Fault{Action: "AssumeRole", Kind: ststest.FaultIDPCommunication})
}
