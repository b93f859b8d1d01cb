package ststest_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// policyWithStatements builds a valid policy of n statements, indented the
// way people write them.
func policyWithStatements(n int) string {
	stmts := make([]string, n)
	for i := range stmts {
		stmts[i] = fmt.Sprintf(`
    {
      "Sid": "S%04d",
      "Effect": "Allow",
      "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::bucket-%04d/*"
    }`, i, i)
	}
	return "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [" + strings.Join(stmts, ",") + "\n  ]\n}"
}

// tags makes n distinct tags with keys and values of the given lengths,
// filled with varied characters as real tag values are.
func tags(n int, keyLen, valueLen int) []types.Tag {
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(n int) string {
		const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	out := make([]types.Tag, n)
	for i := range out {
		key := fmt.Sprintf("k%03d", i) + text(max(0, keyLen-4))
		out[i] = types.Tag{Key: aws.String(key), Value: aws.String(text(valueLen))}
	}
	return out
}

func policyARNs(n int) []types.PolicyDescriptorType {
	out := make([]types.PolicyDescriptorType, n)
	for i := range out {
		out[i] = types.PolicyDescriptorType{Arn: aws.String(fmt.Sprintf("arn:aws:iam::123456789012:policy/p%d", i))}
	}
	return out
}

func TestAssumeRoleValidation(t *testing.T) {
	s := newServer(t)
	c := alice(t, s)
	demo := ststest.DemoRoleARN("demo")
	longPolicy := policyWithStatements(30) // over 2048 characters even compacted
	spacedPolicy := strings.ReplaceAll(policyWithStatements(12), "\n", "\n        ")
	if len(spacedPolicy) <= 2048 || len(strings.Join(strings.Fields(spacedPolicy), "")) > 2048 {
		t.Fatalf("spaced policy is %d characters; the test needs over 2048 with whitespace and under without", len(spacedPolicy))
	}

	tests := []struct {
		name   string
		in     sts.AssumeRoleInput
		code   string
		status int
		msg    string // exact message, or a substring if it starts with "~"
		check  func(t *testing.T, out *sts.AssumeRoleOutput)
	}{
		{
			name: "session name too short",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("a")},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2",
		},
		{
			name: "session name too long",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String(strings.Repeat("s", 65))},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value '" + strings.Repeat("s", 65) + "' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64",
		},
		{
			name: "session name with a slash",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("PowerUser/alice")},
			code: "ValidationError", status: 400,
			msg: `1 validation error detected: Value 'PowerUser/alice' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`,
		},
		{
			name: "session name of 64 allowed characters",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("a_b+c=d,e.f@g-" + strings.Repeat("x", 50))},
		},
		{
			name: "role ARN too short",
			in:   sts.AssumeRoleInput{RoleArn: aws.String("bogus"), RoleSessionName: aws.String("s1")},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value 'bogus' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20",
		},
		{
			name: "role ARN that is no ARN",
			in:   sts.AssumeRoleInput{RoleArn: aws.String("nothing-valid-in-here"), RoleSessionName: aws.String("s1")},
			code: "ValidationError", status: 400, msg: "nothing-valid-in-here is invalid",
		},
		{
			name: "role ARN too long",
			in:   sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/" + strings.Repeat("r", 2048)), RoleSessionName: aws.String("s1")},
			code: "ValidationError", status: 400, msg: "~Member must have length less than or equal to 2048",
		},
		{
			name: "unknown role",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("nope")), RoleSessionName: aws.String("s1")},
			code: "AccessDenied", status: 403,
			msg: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/nope",
		},
		{
			name: "web identity role by AssumeRole",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("ci-deploy")), RoleSessionName: aws.String("s1")},
			code: "AccessDenied", status: 403, msg: "~is not authorized to perform: sts:AssumeRole on resource",
		},
		{
			name: "duration under 900",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(899)},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
		},
		{
			name: "duration over 43200",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43201)},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200",
		},
		{
			name: "duration of the role's 12 hour maximum",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43200)},
			check: func(t *testing.T, out *sts.AssumeRoleOutput) {
				checkCredentials(t, s, out.Credentials, 12*time.Hour)
			},
		},
		{
			name: "duration over the role's default maximum",
			in: sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("needs-external-id")), RoleSessionName: aws.String("s1"),
				ExternalId: aws.String("rolecall-example"), DurationSeconds: aws.Int32(3601)},
			code: "ValidationError", status: 400, msg: "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
		},
		{
			name: "two violations in one message",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("a"), DurationSeconds: aws.Int32(100)},
			code: "ValidationError", status: 400,
			msg: "2 validation errors detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; " +
				"Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
		},
		{
			name: "external ID required",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("needs-external-id")), RoleSessionName: aws.String("s1")},
			code: "AccessDenied", status: 403,
			msg: "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/needs-external-id",
		},
		{
			name: "external ID wrong",
			in: sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("needs-external-id")), RoleSessionName: aws.String("s1"),
				ExternalId: aws.String("rolecall-other")},
			code: "AccessDenied", status: 403, msg: "~not authorized to perform: sts:AssumeRole",
		},
		{
			name: "external ID right",
			in: sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("needs-external-id")), RoleSessionName: aws.String("s1"),
				ExternalId: aws.String("rolecall-example")},
		},
		{
			name: "external ID too short",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), ExternalId: aws.String("x")},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value 'x' at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2",
		},
		{
			name: "external ID with a space",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), ExternalId: aws.String("two words")},
			code: "ValidationError", status: 400,
			msg: `1 validation error detected: Value 'two words' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@:\/-]*`,
		},
		{
			name: "external ID too long",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), ExternalId: aws.String(strings.Repeat("e", 1225))},
			code: "ValidationError", status: 400, msg: "~at 'externalId' failed to satisfy constraint: Member must have length less than or equal to 1224",
		},
		{
			name: "policy that is not JSON",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Policy: aws.String("{not json")},
			code: "MalformedPolicyDocument", status: 400, msg: "~Unexpected character ('n' (code 110))",
		},
		{
			name: "policy without statements",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Policy: aws.String(`{"Version":"2012-10-17"}`)},
			code: "MalformedPolicyDocument", status: 400, msg: "Syntax errors in policy.",
		},
		{
			name: "policy over 2048 characters",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Policy: aws.String(longPolicy)},
			code: "ValidationError", status: 400, msg: "~at 'policy' failed to satisfy constraint: Member must have length less than or equal to 2048",
		},
		{
			name: "policy under 2048 characters without its whitespace",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Policy: aws.String(spacedPolicy)},
			check: func(t *testing.T, out *sts.AssumeRoleOutput) {
				if p := packedPolicySize(out); p == nil || *p <= 0 || *p > 100 {
					t.Errorf("PackedPolicySize = %v, want a percentage", p)
				}
				checkTokenSize(t, out.Credentials, out.SessionTokenSize, out.SessionTokenUtilization)
				if *out.SessionTokenSize <= 416 {
					t.Errorf("SessionTokenSize = %d, want the policy to make the token larger than a plain one", *out.SessionTokenSize)
				}
			},
		},
		{
			name: "ten policy ARNs",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), PolicyArns: policyARNs(10)},
			check: func(t *testing.T, out *sts.AssumeRoleOutput) {
				if packedPolicySize(out) == nil {
					t.Error("no PackedPolicySize with policy ARNs")
				}
			},
		},
		{
			name: "eleven policy ARNs",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), PolicyArns: policyARNs(11)},
			code: "ValidationError", status: 400, msg: "~at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10",
		},
		{
			name: "policy ARN too short",
			in: sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"),
				PolicyArns: []types.PolicyDescriptorType{{Arn: aws.String("arn:short")}}},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value 'arn:short' at 'policyArns.1.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 20",
		},
		{
			name: "fifty tags",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Tags: tags(50, 4, 2)},
		},
		{
			name: "fifty-one tags",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Tags: tags(51, 4, 2)},
			code: "ValidationError", status: 400, msg: "~at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
		},
		{
			name: "tag key too long",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Tags: tags(1, 129, 1)},
			code: "ValidationError", status: 400, msg: "~at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128",
		},
		{
			name: "tag value too long",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Tags: tags(1, 4, 257)},
			code: "ValidationError", status: 400, msg: "~at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256",
		},
		{
			name: "tag key with a forbidden character",
			in: sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"),
				Tags: []types.Tag{{Key: aws.String("team#1"), Value: aws.String("x")}}},
			code: "ValidationError", status: 400, msg: `~Value 'team#1' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`,
		},
		{
			name: "tag keys differing in case",
			in: sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"),
				Tags: []types.Tag{{Key: aws.String("Team"), Value: aws.String("a")}, {Key: aws.String("team"), Value: aws.String("b")}}},
			code: "InvalidParameterValue", status: 400, msg: "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
		},
		{
			name: "transitive key without its tag",
			in: sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"),
				Tags:              []types.Tag{{Key: aws.String("Team"), Value: aws.String("a")}},
				TransitiveTagKeys: []string{"Project"}},
			code: "InvalidParameterValue", status: 400, msg: "The specified transitive tag key must be included in the requested tags.",
		},
		{
			name: "transitive key naming a tag",
			in: sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"),
				Tags:              []types.Tag{{Key: aws.String("Project"), Value: aws.String("rolecall")}},
				TransitiveTagKeys: []string{"Project"}},
		},
		{
			name: "tags too large when packed",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), Tags: tags(50, 128, 256)},
			code: "PackedPolicyTooLarge", status: 400, msg: "~Packed policy consumes ",
		},
		{
			name: "minimum session token size",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), MinimumSessionTokenSize: aws.Int32(3000)},
			check: func(t *testing.T, out *sts.AssumeRoleOutput) {
				if n := len(aws.ToString(out.Credentials.SessionToken)); n < 3000 {
					t.Errorf("session token of %d bytes, want at least 3000", n)
				}
				checkTokenSize(t, out.Credentials, out.SessionTokenSize, out.SessionTokenUtilization)
			},
		},
		{
			name: "minimum session token size over the maximum",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), MinimumSessionTokenSize: aws.Int32(4097)},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value '4097' at 'minimumSessionTokenSize' failed to satisfy constraint: Member must have value less than or equal to 4096",
		},
		{
			name: "source identity too short",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String("a")},
			code: "ValidationError", status: 400,
			msg: "1 validation error detected: Value 'a' at 'sourceIdentity' failed to satisfy constraint: Member must have length greater than or equal to 2",
		},
		{
			name: "source identity too long",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String(strings.Repeat("i", 65))},
			code: "ValidationError", status: 400, msg: "~at 'sourceIdentity' failed to satisfy constraint: Member must have length less than or equal to 64",
		},
		{
			name: "source identity",
			in:   sts.AssumeRoleInput{RoleArn: aws.String(demo), RoleSessionName: aws.String("s1"), SourceIdentity: aws.String("alice@example.com")},
			check: func(t *testing.T, out *sts.AssumeRoleOutput) {
				if got := aws.ToString(out.SourceIdentity); got != "alice@example.com" {
					t.Errorf("SourceIdentity = %q", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			out, err := c.AssumeRole(context.Background(), &in)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("AssumeRole: %v", err)
				}
				if tt.check != nil {
					tt.check(t, out)
				}
				return
			}
			msg, exact := strings.CutPrefix(tt.msg, "~")
			wantAPIError(t, err, tt.code, tt.status, msg)
			if !exact {
				if got := apiMessage(err); got != msg {
					t.Errorf("message\n got %q\nwant %q", got, msg)
				}
			}
			if call := lastCall(t, s, "AssumeRole"); call.Error != tt.code || call.Caller != ststest.DemoUserARN {
				t.Errorf("logged error %q caller %q, want %s from alice", call.Error, call.Caller, tt.code)
			}
		})
	}
}

// TestAssumeRoleLogsEveryParameter checks that the call log keeps every
// parameter under its Query key, so tests can assert what a client sent.
func TestAssumeRoleLogsEveryParameter(t *testing.T) {
	s := newServer(t)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
	assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn:           aws.String(ststest.DemoRoleARN("needs-external-id")),
		RoleSessionName:   aws.String("logged"),
		DurationSeconds:   aws.Int32(900),
		ExternalId:        aws.String("rolecall-example"),
		Policy:            aws.String(policy),
		PolicyArns:        policyARNs(2),
		Tags:              []types.Tag{{Key: aws.String("Project"), Value: aws.String("rolecall")}},
		TransitiveTagKeys: []string{"Project"},
		SourceIdentity:    aws.String("alice"),
	})
	call := lastCall(t, s, "AssumeRole")
	want := map[string]string{
		"RoleArn":                    ststest.DemoRoleARN("needs-external-id"),
		"RoleSessionName":            "logged",
		"DurationSeconds":            "900",
		"ExternalId":                 "rolecall-example",
		"Policy":                     policy,
		"PolicyArns.member.1.arn":    "arn:aws:iam::123456789012:policy/p0",
		"PolicyArns.member.2.arn":    "arn:aws:iam::123456789012:policy/p1",
		"Tags.member.1.Key":          "Project",
		"Tags.member.1.Value":        "rolecall",
		"TransitiveTagKeys.member.1": "Project",
		"SourceIdentity":             "alice",
	}
	for k, v := range want {
		if call.Params[k] != v {
			t.Errorf("logged %s = %q, want %q", k, call.Params[k], v)
		}
	}
	for _, k := range []string{"Action", "Version"} {
		if _, ok := call.Params[k]; ok {
			t.Errorf("logged %s, which is not a parameter of the action", k)
		}
	}
}

// TestTransitiveTags checks that transitive tags pass to chained sessions,
// which may not set them again.
func TestTransitiveTags(t *testing.T) {
	s := newServer(t)
	first := assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("tagged"),
		Tags:              []types.Tag{{Key: aws.String("Project"), Value: aws.String("rolecall")}},
		TransitiveTagKeys: []string{"Project"},
	})
	_, err := with(t, s, first.Credentials).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("chained")), RoleSessionName: aws.String("retag"),
		Tags: []types.Tag{{Key: aws.String("project"), Value: aws.String("other")}},
	})
	wantAPIError(t, err, "InvalidParameterValue", http.StatusBadRequest,
		"One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.")
	out := assume(t, with(t, s, first.Credentials), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("chained")), RoleSessionName: aws.String("inherit"),
	})
	// The inherited transitive tag travels in the new session's token.
	if packedPolicySize(out) == nil {
		t.Error("no PackedPolicySize for a session with an inherited tag")
	}
}
