package ststest_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolecall/rolecall/pkg/ststest"
)

var (
	reTempKeyID  = regexp.MustCompile(`^ASIA[A-Z0-9]{16}$`)
	reSecret     = regexp.MustCompile(`^[A-Za-z0-9/+]{40}$`)
	reRoleUserID = regexp.MustCompile(`^AROA[A-Z0-9]{17}:`)
)

// checkCredentials asserts that issued credentials look like STS's.
func checkCredentials(t *testing.T, s *ststest.Server, c *types.Credentials, lifetime time.Duration) {
	t.Helper()
	if !reTempKeyID.MatchString(aws.ToString(c.AccessKeyId)) {
		t.Errorf("access key %q is not ASIA plus 16 characters", aws.ToString(c.AccessKeyId))
	}
	if !reSecret.MatchString(aws.ToString(c.SecretAccessKey)) {
		t.Errorf("secret access key is not 40 base64 characters (length %d)", len(aws.ToString(c.SecretAccessKey)))
	}
	token := aws.ToString(c.SessionToken)
	if len(token) < 300 || !strings.ContainsAny(token, "/+=") {
		t.Errorf("session token has %d characters, want a long base64 token", len(token))
	}
	// Bracketed by the call's arrival and now on the emulator's clock, to
	// the second STS reports: a tolerance on one clock reading would fail
	// when load stretches the time between the call and this check.
	calls := s.Calls()
	earliest := calls[len(calls)-1].Time.Add(lifetime).Truncate(time.Second)
	latest := s.Now().Add(lifetime)
	if got := aws.ToTime(c.Expiration); got.Before(earliest) || got.After(latest) {
		t.Errorf("expiration %v, want %s after the call: between %v and %v", got, lifetime, earliest, latest)
	}
}

func TestAssumeRole(t *testing.T) {
	s := newServer(t)
	out := assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn:         aws.String(ststest.DemoRoleARN("demo")),
		RoleSessionName: aws.String("alice-session"),
		DurationSeconds: aws.Int32(7200),
	})
	checkCredentials(t, s, out.Credentials, 2*time.Hour)
	if got, want := aws.ToString(out.AssumedRoleUser.Arn), "arn:aws:sts::123456789012:assumed-role/demo/alice-session"; got != want {
		t.Errorf("AssumedRoleUser.Arn = %s, want %s", got, want)
	}
	if got := aws.ToString(out.AssumedRoleUser.AssumedRoleId); !reRoleUserID.MatchString(got) || !strings.HasSuffix(got, ":alice-session") {
		t.Errorf("AssumedRoleId = %s, want AROA…:alice-session", got)
	}
	if p := packedPolicySize(out); p != nil {
		t.Errorf("PackedPolicySize = %d without a policy, want none", *p)
	}
	checkTokenSize(t, out.Credentials, out.SessionTokenSize, out.SessionTokenUtilization)

	call := lastCall(t, s, "AssumeRole")
	if call.Caller != ststest.DemoUserARN || call.Error != "" {
		t.Errorf("logged caller %q error %q, want %s and no error", call.Caller, call.Error, ststest.DemoUserARN)
	}
	for k, want := range map[string]string{
		"RoleArn":         ststest.DemoRoleARN("demo"),
		"RoleSessionName": "alice-session",
		"DurationSeconds": "7200",
	} {
		if got := call.Params[k]; got != want {
			t.Errorf("logged %s = %q, want %q", k, got, want)
		}
	}
}

func TestGetCallerIdentity(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()

	id, err := alice(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with user keys: %v", err)
	}
	if aws.ToString(id.Arn) != ststest.DemoUserARN || aws.ToString(id.Account) != ststest.DemoAccount ||
		!regexp.MustCompile(`^AIDA[A-Z0-9]{17}$`).MatchString(aws.ToString(id.UserId)) {
		t.Errorf("user identity = %s %s %s, want %s, AIDA…, %s", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account), ststest.DemoUserARN, ststest.DemoAccount)
	}

	role := assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn:         aws.String(ststest.DemoRoleARN("demo")),
		RoleSessionName: aws.String("who"),
	})
	id, err = with(t, s, role.Credentials).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with role credentials: %v", err)
	}
	if aws.ToString(id.Arn) != aws.ToString(role.AssumedRoleUser.Arn) || aws.ToString(id.UserId) != aws.ToString(role.AssumedRoleUser.AssumedRoleId) {
		t.Errorf("role identity = %s %s, want %s %s", aws.ToString(id.Arn), aws.ToString(id.UserId),
			aws.ToString(role.AssumedRoleUser.Arn), aws.ToString(role.AssumedRoleUser.AssumedRoleId))
	}
	if c := lastCall(t, s, "GetCallerIdentity"); c.Caller != aws.ToString(role.AssumedRoleUser.Arn) {
		t.Errorf("logged caller %q, want the assumed-role ARN", c.Caller)
	}
	if got := s.CallCount(""); got != 3 {
		t.Errorf("CallCount(\"\") = %d, want 3", got)
	}
	if got := s.CallCount("GetCallerIdentity"); got != 2 {
		t.Errorf("CallCount(GetCallerIdentity) = %d, want 2", got)
	}
}

func TestRoleChaining(t *testing.T) {
	s := newServer(t)
	demo := assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("first"),
	})
	ctx := context.Background()
	tests := []struct {
		name     string
		duration *int32
		code     string
		msg      string
	}{
		{"default hour", nil, "", ""},
		{"exactly one hour", aws.Int32(3600), "", ""},
		{"over one hour", aws.Int32(3601), "ValidationError",
			"The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := with(t, s, demo.Credentials).AssumeRole(ctx, &sts.AssumeRoleInput{
				RoleArn: aws.String(ststest.DemoRoleARN("chained")), RoleSessionName: aws.String("second"),
				DurationSeconds: tt.duration,
			})
			if tt.code != "" {
				wantAPIError(t, err, tt.code, http.StatusBadRequest, tt.msg)
				return
			}
			if err != nil {
				t.Fatalf("chained AssumeRole: %v", err)
			}
			checkCredentials(t, s, out.Credentials, time.Hour)
			if got := aws.ToString(out.AssumedRoleUser.Arn); got != "arn:aws:sts::123456789012:assumed-role/chained/second" {
				t.Errorf("chained ARN = %s", got)
			}
			if c := lastCall(t, s, "AssumeRole"); c.Caller != "arn:aws:sts::123456789012:assumed-role/demo/first" {
				t.Errorf("logged caller %q, want the demo session", c.Caller)
			}
		})
	}

	// alice herself is not trusted by chained: only the demo role is.
	_, err := alice(t, s).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("chained")), RoleSessionName: aws.String("direct"),
	})
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden,
		"User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/chained")
}
