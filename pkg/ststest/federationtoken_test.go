package ststest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// federate calls GetFederationToken and fails the test on error.
func federate(t *testing.T, c *sts.Client, in *sts.GetFederationTokenInput) *sts.GetFederationTokenOutput {
	t.Helper()
	out, err := c.GetFederationToken(context.Background(), in)
	if err != nil {
		t.Fatalf("GetFederationToken %s: %v", aws.ToString(in.Name), err)
	}
	return out
}

const readOnlyPolicy = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`

func TestGetFederationToken(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	before := s.Now()
	out := federate(t, alice(t, s), &sts.GetFederationTokenInput{
		Name:       aws.String("bob@example.com"),
		Policy:     aws.String(readOnlyPolicy),
		PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")}},
	})
	if got := aws.ToString(out.FederatedUser.Arn); got != "arn:aws:sts::123456789012:federated-user/bob@example.com" {
		t.Errorf("FederatedUser.Arn = %s", got)
	}
	if got := aws.ToString(out.FederatedUser.FederatedUserId); got != "123456789012:bob@example.com" {
		t.Errorf("FederatedUserId = %s", got)
	}
	// 12 hours by default.
	if exp := aws.ToTime(out.Credentials.Expiration); exp.Sub(before) < 12*time.Hour-2*time.Second || exp.Sub(before) > 12*time.Hour+2*time.Second {
		t.Errorf("expiration %v, want 12h after %v", exp, before)
	}
	if p := out.PackedPolicySize; p == nil || *p <= 0 { //nolint:staticcheck // deprecated field under test
		t.Errorf("PackedPolicySize = %v, want a percentage with a session policy", p)
	}
	checkTokenSize(t, out.Credentials, out.SessionTokenSize, out.SessionTokenUtilization)

	call := lastCall(t, s, "GetFederationToken")
	if call.Caller != ststest.DemoUserARN || call.Params["Name"] != "bob@example.com" || call.Params["Policy"] != readOnlyPolicy ||
		call.Params["PolicyArns.member.1.arn"] != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("logged %+v", call)
	}

	fed := with(t, s, out.Credentials)
	id, err := fed.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity as the federated user: %v", err)
	}
	if aws.ToString(id.Arn) != aws.ToString(out.FederatedUser.Arn) || aws.ToString(id.UserId) != "123456789012:bob@example.com" {
		t.Errorf("identity %s %s", aws.ToString(id.Arn), aws.ToString(id.UserId))
	}
	// A federated user may call no STS action but GetCallerIdentity.
	_, err = fed.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("s1")})
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden, "User: arn:aws:sts::123456789012:federated-user/bob@example.com is not authorized to perform: sts:AssumeRole")
	_, err = fed.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String("carol")})
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden, "Cannot call GetFederationToken with session credentials")

	out = federate(t, alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("dave"), DurationSeconds: aws.Int32(129600)})
	if exp := aws.ToTime(out.Credentials.Expiration); exp.Sub(s.Now()) < 36*time.Hour-2*time.Second {
		t.Errorf("36-hour session expires at %v", exp)
	}
	if out.PackedPolicySize != nil { //nolint:staticcheck // deprecated field under test
		t.Errorf("PackedPolicySize %d without session policies", *out.PackedPolicySize) //nolint:staticcheck // deprecated field under test
	}
}

func TestGetFederationTokenRefusals(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	role := assumeRoleNamed(t, alice(t, s), "demo", "s1")
	session, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client *sts.Client
		in     *sts.GetFederationTokenInput
		code   string
		status int
		msg    string
	}{
		{"name too short", alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("b")}, "ValidationError", 400,
			"1 validation error detected: Value 'b' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"name too long", alice(t, s), &sts.GetFederationTokenInput{Name: aws.String(strings.Repeat("b", 33))}, "ValidationError", 400,
			"at 'name' failed to satisfy constraint: Member must have length less than or equal to 32"},
		{"name with a space", alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("bob smith")}, "ValidationError", 400,
			`Value 'bob smith' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"duration under 15 minutes", alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("bob"), DurationSeconds: aws.Int32(899)}, "ValidationError", 400,
			"Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"duration over 36 hours", alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("bob"), DurationSeconds: aws.Int32(129601)}, "ValidationError", 400,
			"Member must have value less than or equal to 129600"},
		{"policy that is no JSON", alice(t, s), &sts.GetFederationTokenInput{Name: aws.String("bob"), Policy: aws.String("{nope")}, "MalformedPolicyDocument", 400, ""},
		{"role session", with(t, s, role.Credentials), &sts.GetFederationTokenInput{Name: aws.String("bob")}, "AccessDenied", 403,
			"Cannot call GetFederationToken with session credentials"},
		{"GetSessionToken session", with(t, s, session.Credentials), &sts.GetFederationTokenInput{Name: aws.String("bob")}, "AccessDenied", 403,
			"Cannot call GetFederationToken with session credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.GetFederationToken(ctx, tt.in)
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
		})
	}
}

// TestRootUser covers an account's root user: GetCallerIdentity names it
// by the account, its sessions last at most an hour, and it may not assume
// roles.
func TestRootUser(t *testing.T) {
	const rootKey, rootSecret = "AKIAROOTEXAMPLE00001", "rootSecretExampleKey0000000000000000000"
	cfg := ststest.DemoConfig()
	cfg.Users = append(cfg.Users, ststest.User{ARN: "arn:aws:iam::123456789012:root",
		AccessKeys: []ststest.AccessKey{{AccessKeyID: rootKey, SecretAccessKey: rootSecret}}})
	cfg.Roles[0].Trust.Principals = append(cfg.Roles[0].Trust.Principals, ststest.DemoAccount)
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)
	ctx := context.Background()
	root := client(t, s, rootKey, rootSecret, "")

	id, err := root.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Arn) != "arn:aws:iam::123456789012:root" || aws.ToString(id.UserId) != ststest.DemoAccount {
		t.Errorf("root identity %s %s", aws.ToString(id.Arn), aws.ToString(id.UserId))
	}
	out := federate(t, root, &sts.GetFederationTokenInput{Name: aws.String("bob"), DurationSeconds: aws.Int32(7200)})
	if left := aws.ToTime(out.Credentials.Expiration).Sub(s.Now()); left > time.Hour+2*time.Second {
		t.Errorf("root's federated session lasts %v, want at most an hour", left)
	}
	st, err := root.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if left := aws.ToTime(st.Credentials.Expiration).Sub(s.Now()); left > time.Hour+2*time.Second {
		t.Errorf("root's session lasts %v, want at most an hour", left)
	}
	// The demo role trusts the whole account, yet root may not assume it.
	_, err = root.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("root-session")})
	wantAPIError(t, err, "AccessDenied", http.StatusForbidden, "Roles may not be assumed by root accounts.")
}
