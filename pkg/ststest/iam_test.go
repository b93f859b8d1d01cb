package ststest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// iamClient is the real SDK IAM client pointed at the emulator.
func iamClient(t *testing.T, s *ststest.Server, keyID, secret, token string) *iam.Client {
	t.Helper()
	return iam.NewFromConfig(sdkConfig(t, keyID, secret, token), func(o *iam.Options) {
		o.BaseEndpoint = aws.String(s.URL())
		o.HTTPClient = wholeAnswers{s: s, next: o.HTTPClient}
	})
}

// TestIAMAccessKeyLifecycle drives CreateAccessKey, ListAccessKeys,
// GetUser and DeleteAccessKey with the SDK's IAM client: the two-key
// limit, NoSuchEntity, the delay before STS accepts a new key, and that a
// deleted key no longer signs.
func TestIAMAccessKeyLifecycle(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	c := iamClient(t, s, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "")

	user, err := c.GetUser(ctx, &iam.GetUserInput{})
	if err != nil || aws.ToString(user.User.Arn) != ststest.DemoUserARN {
		t.Fatalf("GetUser = %+v, %v", user, err)
	}
	s.SetIAMKeyDelay(1 << 62) // never, until reset: the test observes the refusal, not a duration
	created, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	k := created.AccessKey
	if len(aws.ToString(k.SecretAccessKey)) != 40 || k.Status != "Active" {
		t.Fatalf("new key %+v", k)
	}
	fresh := client(t, s, aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey), "")
	_, err = fresh.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", http.StatusForbidden, "security token")
	s.SetIAMKeyDelay(0)
	// A key made before the delay was lifted keeps its own moment; make
	// the check with IAM, which knows it at once.
	if _, err := iamClient(t, s, aws.ToString(k.AccessKeyId), aws.ToString(k.SecretAccessKey), "").GetUser(ctx, &iam.GetUserInput{}); err != nil {
		t.Fatalf("IAM with the new key: %v", err)
	}

	list, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	if err != nil || len(list.AccessKeyMetadata) != 2 {
		t.Fatalf("ListAccessKeys = %+v, %v", list, err)
	}
	_, err = c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{})
	wantAPIError(t, err, "LimitExceeded", http.StatusConflict, "Cannot exceed quota for AccessKeysPerUser: 2")

	_, err = c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: aws.String("AKIAIOSFODNN7NOSUCH")})
	wantAPIError(t, err, "NoSuchEntity", http.StatusNotFound, "cannot be found")
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("nobody")})
	wantAPIError(t, err, "NoSuchEntity", http.StatusNotFound, "nobody cannot be found")

	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{AccessKeyId: k.AccessKeyId}); err != nil {
		t.Fatalf("DeleteAccessKey: %v", err)
	}
	_, err = fresh.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", http.StatusForbidden, "security token")
}

// TestIAMRefusesSessionsWithoutMFA: IAM takes a GetSessionToken session
// only when it was made with MFA, and checks the signature's scope.
func TestIAMRefusesSessionsWithoutMFA(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	sess, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	cr := sess.Credentials
	_, err = iamClient(t, s, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)).ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	wantAPIError(t, err, "InvalidClientTokenId", http.StatusForbidden, "security token")

	code := s.TOTP(ststest.DemoMFASerial)
	mfa, err := alice(t, s).GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(ststest.DemoMFASerial), TokenCode: aws.String(code)})
	if err != nil {
		t.Fatal(err)
	}
	cr = mfa.Credentials
	if _, err := iamClient(t, s, aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken)).ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); err != nil {
		t.Fatalf("ListAccessKeys with an MFA session: %v", err)
	}
}

// TestIAMFault: a fault named after an IAM action fails it.
func TestIAMFault(t *testing.T) {
	s := newServer(t)
	s.SetFaults(ststest.Fault{Kind: ststest.FaultInternal, Action: "ListAccessKeys", Count: 1})
	_, err := iamClient(t, s, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "").ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{})
	wantAPIError(t, err, "ServiceFailure", http.StatusInternalServerError, "")
}

// TestIAMThroughEndpointVariables: the SDK's IAM client finds the emulator
// the way a user points it there, by AWS_ENDPOINT_URL_IAM or the generic
// AWS_ENDPOINT_URL.
func TestIAMThroughEndpointVariables(t *testing.T) {
	s := newServer(t)
	for _, name := range []string{"AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(name, s.URL())
			cfg, err := config.LoadDefaultConfig(context.Background(),
				config.WithRegion("us-east-1"),
				config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "")),
				config.WithSharedConfigFiles([]string{}),
				config.WithSharedCredentialsFiles([]string{}),
			)
			if err != nil {
				t.Fatal(err)
			}
			out, err := iam.NewFromConfig(cfg).GetUser(context.Background(), &iam.GetUserInput{})
			if err != nil || aws.ToString(out.User.UserName) != "alice" {
				t.Fatalf("GetUser through %s = %+v, %v", name, out, err)
			}
		})
	}
}
