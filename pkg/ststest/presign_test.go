package ststest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// presign makes a presigned GET GetCallerIdentity URL for the emulator
// with the SDK's v4 signer, x-k8s-aws-id signed, as an EKS token holds.
func presign(t *testing.T, s *ststest.Server, c aws.Credentials, at time.Time, expires string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet,
		s.URL()+"/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Expires="+expires, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-k8s-aws-id", "prod")
	empty := sha256.Sum256(nil)
	u, _, err := v4.NewSigner().PresignHTTP(context.Background(), c, req, hex.EncodeToString(empty[:]), "sts", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func credential(u string) string {
	p, _ := url.Parse(u)
	return p.Query().Get("X-Amz-Credential")
}

// getPresigned sends a presigned URL as the EKS authenticator does and returns the
// status and the error code (or the caller's ARN).
func getPresigned(t *testing.T, rawURL, cluster string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cluster != "" {
		req.Header.Set("x-k8s-aws-id", cluster)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	var out struct {
		Arn  string `xml:"GetCallerIdentityResult>Arn"`
		Code string `xml:"Error>Code"`
	}
	_ = xml.Unmarshal(body, &out)
	return resp.StatusCode, out.Arn + out.Code
}

// TestPresignedGetCallerIdentity: the emulator verifies a presigned URL's
// query signature (the cluster header included) with the keys of a user or
// of a session it issued, and refuses with STS's errors what STS refuses.
func TestPresignedGetCallerIdentity(t *testing.T) {
	s := newServer(t)
	user := aws.Credentials{AccessKeyID: ststest.DemoAccessKeyID, SecretAccessKey: ststest.DemoSecretAccessKey}
	out, err := alice(t, s).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("eks"),
	})
	if err != nil {
		t.Fatal(err)
	}
	role := aws.Credentials{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey, SessionToken: *out.Credentials.SessionToken}
	now := s.Now()
	tamper := func(u, key, value string) string {
		p, _ := url.Parse(u)
		q := p.Query()
		if value == "" {
			q.Del(key)
		} else {
			q.Set(key, value)
		}
		p.RawQuery = q.Encode()
		return p.String()
	}
	userURL := presign(t, s, user, now, "60")
	roleURL := presign(t, s, role, now, "60")
	for _, tt := range []struct {
		name, url, cluster string
		status             int
		want               string
	}{
		{"user", userURL, "prod", 200, ststest.DemoUserARN},
		{"role session", roleURL, "prod", 200, "arn:aws:sts::123456789012:assumed-role/demo/eks"},
		{"X-Amz-Expires is not the limit", presign(t, s, user, now.Add(-10*time.Minute), "60"), "prod", 200, ststest.DemoUserARN},
		{"another cluster", userURL, "staging", 403, "SignatureDoesNotMatch"},
		{"no cluster header", userURL, "", 403, "SignatureDoesNotMatch"},
		{"older than 15 minutes", presign(t, s, user, now.Add(-16*time.Minute), "60"), "prod", 403, "SignatureDoesNotMatch"},
		{"signed in the future", presign(t, s, user, now.Add(16*time.Minute), "60"), "prod", 403, "SignatureDoesNotMatch"},
		{"X-Amz-Expires over 900", presign(t, s, user, now, "901"), "prod", 400, "IncompleteSignature"},
		{"no X-Amz-Expires", tamper(userURL, "X-Amz-Expires", ""), "prod", 400, "IncompleteSignature"},
		{"no credential", tamper(userURL, "X-Amz-Credential", ""), "prod", 400, "IncompleteSignature"},
		{"no signature", tamper(userURL, "X-Amz-Signature", ""), "prod", 403, "MissingAuthenticationToken"},
		{"a parameter added", tamper(userURL, "DurationSeconds", "900"), "prod", 403, "SignatureDoesNotMatch"},
		{"another session token", tamper(roleURL, "X-Amz-Security-Token", "x"+role.SessionToken), "prod", 403, "InvalidClientTokenId"},
		{"unknown key", tamper(userURL, "X-Amz-Credential", strings.Replace(credential(userURL), ststest.DemoAccessKeyID, "AKIAUNKNOWN0000EXAMP", 1)), "prod", 403, "InvalidClientTokenId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, got := getPresigned(t, tt.url, tt.cluster)
			if status != tt.status || got != tt.want {
				t.Errorf("got %d %s, want %d %s", status, got, tt.status, tt.want)
			}
		})
	}
	t.Run("expired session", func(t *testing.T) {
		s.Advance(2 * time.Hour)
		fresh := presign(t, s, role, s.Now(), "60")
		if status, got := getPresigned(t, fresh, "prod"); status != 403 || got != "ExpiredToken" {
			t.Errorf("got %d %s, want 403 ExpiredToken", status, got)
		}
	})
}
