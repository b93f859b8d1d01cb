package ststest_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// newServer starts the demo emulator for one test.
func newServer(t *testing.T) *ststest.Server {
	t.Helper()
	s := ststest.NewServer(ststest.DemoConfig())
	t.Cleanup(s.Close)
	// Expiries and TOTP steps are checked to the second: only Advance
	// moves the credential clock, however slowly the machine runs.
	s.StopClock()
	return s
}

// sdkConfig is the SDK's configuration for a client of the emulator:
// these keys, us-east-1, no retries, and none of the machine's files.
func sdkConfig(t *testing.T, keyID, secret, token string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, secret, token)),
		config.WithRetryMaxAttempts(1),
		// Keep the machine's files and environment out of the test.
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return cfg
}

// client is the real SDK STS client pointed at the emulator, signing with
// the given keys, with retries off so tests see each raw answer, read whole
// (wholeAnswers).
func client(t *testing.T, s *ststest.Server, keyID, secret, token string, opts ...func(*sts.Options)) *sts.Client {
	t.Helper()
	cfg := sdkConfig(t, keyID, secret, token)
	opts = append([]func(*sts.Options){func(o *sts.Options) {
		o.BaseEndpoint = aws.String(s.URL())
		o.HTTPClient = wholeAnswers{s: s, next: o.HTTPClient}
		// Truncated answers make the SDK warn on stderr; the tests check
		// the outcome instead.
		o.Logger = logging.Nop{}
	}}, opts...)
	return sts.NewFromConfig(cfg, opts...)
}

// alice is a client signing with the demo user's long-term keys.
func alice(t *testing.T, s *ststest.Server) *sts.Client {
	t.Helper()
	return client(t, s, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "")
}

// with is a client signing with temporary credentials.
func with(t *testing.T, s *ststest.Server, c *types.Credentials) *sts.Client {
	t.Helper()
	return client(t, s, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
}

// assume calls AssumeRole and fails the test on error.
func assume(t *testing.T, c *sts.Client, in *sts.AssumeRoleInput) *sts.AssumeRoleOutput {
	t.Helper()
	out, err := c.AssumeRole(context.Background(), in)
	if err != nil {
		t.Fatalf("AssumeRole %s: %v", aws.ToString(in.RoleArn), err)
	}
	return out
}

// wantAPIError checks that err is the STS error code with the HTTP status,
// and that the message contains msg.
func wantAPIError(t *testing.T, err error, code string, status int, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want %s", code)
	}
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("got %v, want API error %s", err, code)
	}
	if apiErr.ErrorCode() != code {
		t.Fatalf("got error code %s (%s), want %s", apiErr.ErrorCode(), apiErr.ErrorMessage(), code)
	}
	var respErr *smithyhttp.ResponseError
	if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != status {
		t.Fatalf("got status %v for %s, want %d", err, code, status)
	}
	if msg != "" && !strings.Contains(apiErr.ErrorMessage(), msg) {
		t.Fatalf("got message %q, want it to contain %q", apiErr.ErrorMessage(), msg)
	}
}

// lastCall returns the last logged call of an action.
func lastCall(t *testing.T, s *ststest.Server, action string) ststest.Call {
	t.Helper()
	calls := s.Calls()
	for i := len(calls) - 1; i >= 0; i-- {
		if calls[i].Action == action {
			return calls[i]
		}
	}
	t.Fatalf("no %s call in the log", action)
	return ststest.Call{}
}

// apiMessage is the STS error message of err, or "".
func apiMessage(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorMessage()
	}
	return ""
}

// assumeRoleNamed assumes a demo-account role by name.
func assumeRoleNamed(t *testing.T, c *sts.Client, role, session string) *sts.AssumeRoleOutput {
	t.Helper()
	return assume(t, c, &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN(role)), RoleSessionName: aws.String(session)})
}

// packedPolicySize reads the deprecated PackedPolicySize, which STS replaced
// by SessionTokenUtilization in 2026-09 and the emulator still sends with
// session policies and tags.
func packedPolicySize(out *sts.AssumeRoleOutput) *int32 {
	return out.PackedPolicySize //nolint:staticcheck // deprecated field under test
}

// checkTokenSize asserts SessionTokenSize and SessionTokenUtilization
// describe the token: its length in bytes, and that as a percentage of
// STS's 4096-byte maximum, rounded up.
func checkTokenSize(t *testing.T, c *types.Credentials, size, utilization *int32) {
	t.Helper()
	n := len(aws.ToString(c.SessionToken))
	if size == nil || int(*size) != n {
		t.Errorf("SessionTokenSize = %v, want %d", size, n)
	}
	if want := (n*100 + 4095) / 4096; utilization == nil || int(*utilization) != want {
		t.Errorf("SessionTokenUtilization = %v, want %d", utilization, want)
	}
}
