package eks_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/eks"
	"github.com/rolecall/rolecall/pkg/ststest"
)

func newServer(t *testing.T) *ststest.Server {
	t.Helper()
	s := ststest.NewServer(ststest.DemoConfig())
	t.Cleanup(s.Close)
	return s
}

func alice() creds.Credentials {
	return creds.Credentials{AccessKeyID: ststest.DemoAccessKeyID, SecretAccessKey: ststest.DemoSecretAccessKey}
}

func sign(t *testing.T, s *ststest.Server, cluster string) eks.Token {
	t.Helper()
	tok, err := eks.Presign(context.Background(), eks.SignRequest{
		Cluster: cluster, Region: "eu-west-1", Endpoint: s.URL(), Credentials: alice(), Now: s.Now(),
	})
	if err != nil {
		t.Fatalf("Presign: %v", err)
	}
	return tok
}

// TestPresignFormat holds the token to the format aws-iam-authenticator and
// the AWS CLI make.
func TestPresignFormat(t *testing.T) {
	s := newServer(t)
	now := s.Now()
	tok := sign(t, s, "prod")
	if !strings.HasPrefix(tok.Value, eks.TokenPrefix) || strings.HasSuffix(tok.Value, "=") {
		t.Fatalf("token does not start with %s or is padded", eks.TokenPrefix)
	}
	u, err := eks.DecodeToken(tok.Value)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, want := range map[string]string{
		"Action": "GetCallerIdentity", "Version": "2011-06-15", "X-Amz-Expires": "60",
		"X-Amz-SignedHeaders": "host;x-k8s-aws-id", "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Expiration.Sub(signed); got != 14*time.Minute {
		t.Errorf("token lives %s after X-Amz-Date, want 14m", got)
	}
	if signed.Before(now.Truncate(time.Second)) {
		t.Errorf("signed at %s, before the call (%s)", signed, now)
	}
}

// TestPresignRegionalEndpoint: without an endpoint the SDK picks the
// regional STS endpoint of the region in effect.
func TestPresignRegionalEndpoint(t *testing.T) {
	for _, tt := range []struct{ region, host string }{
		{"eu-west-1", "sts.eu-west-1.amazonaws.com"},
		{"us-east-1", "sts.us-east-1.amazonaws.com"},
		{"cn-north-1", "sts.cn-north-1.amazonaws.com.cn"},
	} {
		t.Run(tt.region, func(t *testing.T) {
			tok, err := eks.Presign(context.Background(), eks.SignRequest{Cluster: "c", Region: tt.region, Credentials: alice(), Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			u, err := eks.DecodeToken(tok.Value)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme != "https" || u.Host != tt.host || u.Path != "/" {
				t.Errorf("URL is %s://%s%s, want https://%s/", u.Scheme, u.Host, u.Path, tt.host)
			}
		})
	}
}

// TestPresignVerified: the emulator accepts the token for its cluster and
// refuses it for another, tampered, or after 15 minutes.
func TestPresignVerified(t *testing.T) {
	ctx := context.Background()
	s := newServer(t)
	tok := sign(t, s, "prod")
	arn, err := s.VerifyEKSToken(ctx, tok.Value, "prod")
	if err != nil || arn != ststest.DemoUserARN {
		t.Fatalf("VerifyEKSToken = %q, %v; want %s", arn, err, ststest.DemoUserARN)
	}
	if got := s.Calls(); got[len(got)-1].Params["x-k8s-aws-id"] != "prod" {
		t.Errorf("call log params %v, want x-k8s-aws-id=prod", got[len(got)-1].Params)
	}
	wantCode := func(t *testing.T, token, cluster, code string) {
		t.Helper()
		_, err := s.VerifyEKSToken(ctx, token, cluster)
		var te *ststest.EKSTokenError
		if !errors.As(err, &te) || te.Code != code {
			t.Fatalf("VerifyEKSToken = %v, want %s", err, code)
		}
	}
	t.Run("other cluster", func(t *testing.T) { wantCode(t, tok.Value, "staging", "SignatureDoesNotMatch") })
	t.Run("tampered", func(t *testing.T) {
		u, _ := eks.DecodeToken(tok.Value)
		q := u.Query()
		date := q.Get("X-Amz-Date") // 20261206T221451Z: change the last digit of the seconds
		digit := "0"
		if date[14] == '0' {
			digit = "1"
		}
		q.Set("X-Amz-Date", date[:14]+digit+"Z")
		u.RawQuery = q.Encode()
		wantCode(t, eks.TokenPrefix+base64.RawURLEncoding.EncodeToString([]byte(u.String())), "prod", "SignatureDoesNotMatch")
	})
	t.Run("expires ignored up to 900", func(t *testing.T) {
		u, _ := eks.DecodeToken(tok.Value)
		q := u.Query()
		q.Set("X-Amz-Expires", "901")
		u.RawQuery = q.Encode()
		wantCode(t, eks.TokenPrefix+base64.RawURLEncoding.EncodeToString([]byte(u.String())), "prod", "IncompleteSignature")
	})
	t.Run("not yet current", func(t *testing.T) {
		future, err := eks.Presign(ctx, eks.SignRequest{Cluster: "prod", Region: "eu-west-1", Endpoint: s.URL(), Credentials: alice(), Now: s.Now().Add(16 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, future.Value, "prod", "SignatureDoesNotMatch")
	})
	t.Run("after 14 minutes", func(t *testing.T) {
		s.Advance(14 * time.Minute)
		if _, err := s.VerifyEKSToken(ctx, tok.Value, "prod"); err != nil {
			t.Fatalf("a token 14 minutes old (X-Amz-Expires is ignored): %v", err)
		}
	})
	t.Run("after 15 minutes", func(t *testing.T) {
		s.Advance(90 * time.Second)
		wantCode(t, tok.Value, "prod", "SignatureDoesNotMatch")
	})
}

func TestValidateCluster(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"prod", true}, {"0-a_b", true}, {strings.Repeat("a", 100), true},
		{"", false}, {"-prod", false}, {"_p", false}, {"a.b", false}, {"a b", false},
		{strings.Repeat("a", 101), false}, {"pröd", false}, {"a\n", false},
	} {
		if err := eks.ValidateCluster(tt.name); (err == nil) != tt.ok {
			t.Errorf("ValidateCluster(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParseExecInfo(t *testing.T) {
	for _, tt := range []struct {
		info     string
		want     string
		noPrompt bool
	}{
		{"", eks.APIVersionV1Beta1, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":true}}`, eks.APIVersionV1, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}}`, eks.APIVersionV1, true},
		{`{"apiVersion":"client.authentication.k8s.io/v1beta1"}`, eks.APIVersionV1Beta1, false},
		{`{"apiVersion":"client.authentication.k8s.io/v1alpha1"}`, "", false},
		{`{"kind":"ExecCredential"}`, "", false},
		{`not json`, "", false},
	} {
		got, err := eks.ParseExecInfo(tt.info)
		if got.APIVersion != tt.want || got.NoPrompt != tt.noPrompt || (err == nil) != (tt.want != "") {
			t.Errorf("ParseExecInfo(%q) = %+v, %v; want %q, no prompt %v", tt.info, got, err, tt.want, tt.noPrompt)
		}
	}
}
