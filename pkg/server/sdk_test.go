package server

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
)

// serving runs f's server on a loopback listener until the test ends and
// returns its URL.
func (f *fixture) serving() string {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	f.srv.opt.Addr = ln.Addr().(*net.TCPAddr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	f.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			f.t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

// goSDK is aws-sdk-go-v2's endpoint provider as its default chain builds
// it for AWS_CONTAINER_CREDENTIALS_FULL_URI, with one attempt a fetch.
func goSDK(uri string, token string) *endpointcreds.Provider {
	return endpointcreds.New(uri, func(o *endpointcreds.Options) {
		o.AuthorizationToken = token
		o.Retryer = retry.AddWithMaxAttempts(retry.NewStandard(), 1)
	})
}

// TestGoSDKReadsTheEndpoint: aws-sdk-go-v2's endpoint provider gets the
// credentials, with their expiry and account; and its default chain finds
// the endpoint through the environment, the token in a file.
func TestGoSDKReadsTheEndpoint(t *testing.T) {
	f := newFixture(t, nil)
	uri := f.serving()
	c, err := goSDK(uri, testToken).Retrieve(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if c.AccessKeyID != "ASIATEST000000000001" || !c.CanExpire || !c.Expires.Equal(f.clock.Now().Add(time.Hour)) || c.AccountID != "123456789012" {
		t.Errorf("the Go SDK read %+v", c)
	}

	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri+"role-arn/"+otherRole)
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile)
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_CONTAINER_AUTHORIZATION_TOKEN"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	c, err = cfg.Credentials.Retrieve(t.Context())
	if err != nil {
		t.Fatalf("the default chain: %v", err)
	}
	if c.Source != endpointcreds.ProviderName || c.AccessKeyID != "ASIATEST000000000002" {
		t.Errorf("the default chain read %+v", c)
	}
}

// TestGoSDKErrors: what an SDK user sees when the token is wrong, the
// endpoint has stopped, STS hangs, and STS refuses.
func TestGoSDKErrors(t *testing.T) {
	t.Run("wrong token", func(t *testing.T) {
		f := newFixture(t, nil)
		_, err := goSDK(f.serving(), "not-the-token").Retrieve(t.Context())
		wantErr(t, err, "InvalidAuthorization: wrong authorization token")
	})
	t.Run("stopped endpoint", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		uri := "http://" + ln.Addr().String() + "/"
		_ = ln.Close()
		_, err = goSDK(uri, testToken).Retrieve(t.Context())
		wantErr(t, err, "connection refused")
	})
	t.Run("hung STS", func(t *testing.T) {
		f := newFixture(t, func(o *Options) { o.MaxWait = 100 * time.Millisecond })
		hold := make(chan struct{})
		defer close(hold)
		f.sts.setHold(hold)
		_, err := goSDK(f.serving(), testToken).Retrieve(t.Context())
		wantErr(t, err, "CredentialsPending: rolecall is still getting credentials for "+testRole)
	})
	t.Run("STS refuses", func(t *testing.T) {
		f := newFixture(t, func(o *Options) {
			o.Describe = func(err error) Failure {
				return Failure{Status: 403, Code: "CredentialsRefused", Message: "rolecall: AssumeRole: AccessDenied"}
			}
		})
		e := errors.New("AccessDenied")
		f.sts.fail.Store(&e)
		_, err := goSDK(f.serving(), testToken).Retrieve(t.Context())
		wantErr(t, err, "CredentialsRefused: rolecall: AssumeRole: AccessDenied")
	})
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one with %q", err, want)
	}
}
