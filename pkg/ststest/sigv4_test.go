package ststest_test

import (
	"bytes"
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
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// tamperTransport changes a request after the SDK signed it.
type tamperTransport func(r *http.Request, body []byte) []byte

func (f tamperTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		_ = r.Body.Close()
	}
	body = f(r, body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return http.DefaultTransport.RoundTrip(r)
}

func tampered(f tamperTransport) func(*sts.Options) {
	return func(o *sts.Options) { o.HTTPClient = &http.Client{Transport: f} }
}

func TestSignatureVerification(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	role := assume(t, alice(t, s), &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("signer")})
	roleKey, roleSecret, roleToken := aws.ToString(role.Credentials.AccessKeyId), aws.ToString(role.Credentials.SecretAccessKey), aws.ToString(role.Credentials.SessionToken)
	const mismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

	tests := []struct {
		name          string
		key, secret   string
		token         string
		opts          []func(*sts.Options)
		code          string
		status        int
		msg           string
		wantCallerARN string
	}{
		{name: "user keys", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey, wantCallerARN: ststest.DemoUserARN},
		{name: "role credentials", key: roleKey, secret: roleSecret, token: roleToken, wantCallerARN: aws.ToString(role.AssumedRoleUser.Arn)},
		{
			name: "any region", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){func(o *sts.Options) { o.Region = "eu-west-3" }}, wantCallerARN: ststest.DemoUserARN,
		},
		{
			name: "unsigned extra header", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				r.Header.Set("X-Unsigned-Extra", "1")
				return b
			})},
			wantCallerARN: ststest.DemoUserARN,
		},
		{
			name: "wrong secret", key: ststest.DemoAccessKeyID, secret: strings.Repeat("x", 40),
			code: "SignatureDoesNotMatch", status: 403, msg: mismatch,
		},
		{
			name: "unknown access key", key: "AKIAUNKNOWNKEY000000", secret: ststest.DemoSecretAccessKey,
			code: "InvalidClientTokenId", status: 403, msg: "The security token included in the request is invalid.",
		},
		{
			name: "body changed after signing", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(_ *http.Request, b []byte) []byte {
				return bytes.Replace(b, []byte("Version=2011-06-15"), []byte("Version=2011-06-15&X=1"), 1)
			})},
			code: "SignatureDoesNotMatch", status: 403, msg: mismatch,
		},
		{
			name: "signed header changed", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				r.Header.Set("Content-Type", "text/plain")
				return b
			})},
			code: "SignatureDoesNotMatch", status: 403, msg: mismatch,
		},
		{
			name: "signing time moved", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				d, _ := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
				r.Header.Set("X-Amz-Date", d.Add(time.Second).Format("20060102T150405Z"))
				return b
			})},
			code: "SignatureDoesNotMatch", status: 403, msg: mismatch,
		},
		{
			name: "signature changed", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				auth := r.Header.Get("Authorization")
				last := auth[len(auth)-1]
				flip := byte('0')
				if last == '0' {
					flip = '1'
				}
				r.Header.Set("Authorization", auth[:len(auth)-1]+string(flip))
				return b
			})},
			code: "SignatureDoesNotMatch", status: 403, msg: mismatch,
		},
		{
			name: "scoped to another service", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/sts/", "/iam/", 1))
				return b
			})},
			code: "SignatureDoesNotMatch", status: 403, msg: "Credential should be scoped to correct service: 'sts'. ",
		},
		{
			name: "no Authorization header", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				r.Header.Del("Authorization")
				return b
			})},
			code: "MissingAuthenticationToken", status: 403, msg: "Request is missing Authentication Token",
		},
		{
			name: "anonymous client", key: "", secret: "",
			opts: []func(*sts.Options){func(o *sts.Options) { o.Credentials = aws.AnonymousCredentials{} }},
			code: "MissingAuthenticationToken", status: 403, msg: "Request is missing Authentication Token",
		},
		{
			name: "session token left out", key: roleKey, secret: roleSecret, token: roleToken,
			opts: []func(*sts.Options){tampered(func(r *http.Request, b []byte) []byte {
				r.Header.Del("X-Amz-Security-Token")
				return b
			})},
			code: "InvalidClientTokenId", status: 403, msg: "The security token included in the request is invalid.",
		},
		{
			name: "session token of another session", key: roleKey, secret: roleSecret, token: roleToken[:len(roleToken)-8] + "AAAAAAA=",
			code: "InvalidClientTokenId", status: 403, msg: "The security token included in the request is invalid.",
		},
		{
			name: "session token with long-term keys", key: ststest.DemoAccessKeyID, secret: ststest.DemoSecretAccessKey, token: roleToken,
			code: "InvalidClientTokenId", status: 403, msg: "The security token included in the request is invalid.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t, s, tt.key, tt.secret, tt.token, tt.opts...)
			id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			call := lastCall(t, s, "GetCallerIdentity")
			if tt.code == "" {
				if err != nil {
					t.Fatalf("GetCallerIdentity: %v", err)
				}
				if aws.ToString(id.Arn) != tt.wantCallerARN || call.Caller != tt.wantCallerARN {
					t.Errorf("identity %s, logged caller %s, want %s", aws.ToString(id.Arn), call.Caller, tt.wantCallerARN)
				}
				return
			}
			wantAPIError(t, err, tt.code, tt.status, tt.msg)
			if got := apiMessage(err); got != tt.msg {
				t.Errorf("message %q, want %q", got, tt.msg)
			}
			if call.Error != tt.code || call.Caller != "" {
				t.Errorf("logged error %q caller %q, want %s and no caller", call.Error, call.Caller, tt.code)
			}
		})
	}
}

func TestExpiryFollowsTheEmulatorClock(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	role := assume(t, alice(t, s), &sts.AssumeRoleInput{
		RoleArn: aws.String(ststest.DemoRoleARN("demo")), RoleSessionName: aws.String("short"), DurationSeconds: aws.Int32(900),
	})
	expires := aws.ToTime(role.Credentials.Expiration)
	c := with(t, s, role.Credentials)
	if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("fresh credentials: %v", err)
	}
	s.Advance(expires.Sub(s.Now()) - time.Second)
	if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("credentials a second before expiry: %v", err)
	}
	s.Advance(time.Second)
	_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "ExpiredToken", http.StatusForbidden, "The security token included in the request is expired")
	_, err = c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(ststest.DemoRoleARN("chained")), RoleSessionName: aws.String("late")})
	wantAPIError(t, err, "ExpiredToken", http.StatusForbidden, "The security token included in the request is expired")

	// Long-term keys do not expire, and signing times are not judged by
	// the moved clock.
	s.Advance(48 * time.Hour)
	if _, err := alice(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("user keys two days later: %v", err)
	}
	s.Advance(-48 * time.Hour)
	_, err = c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "ExpiredToken", http.StatusForbidden, "")
	s.Advance(-time.Second)
	if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("clock moved back before expiry: %v", err)
	}
}

func TestRequestClockSkew(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		skew  time.Duration
		error string
	}{
		{"within fifteen minutes", 14 * time.Minute, ""},
		{"server ahead", 20 * time.Minute, "Signature expired: "},
		{"server behind", -20 * time.Minute, "Signature not yet current: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetRequestClockSkew(tt.skew)
			defer s.SetRequestClockSkew(0)
			_, err := alice(t, s).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if tt.error == "" {
				if err != nil {
					t.Fatalf("GetCallerIdentity: %v", err)
				}
				return
			}
			wantAPIError(t, err, "SignatureDoesNotMatch", http.StatusForbidden, tt.error)
			if !strings.HasSuffix(apiMessage(err), " min.)") {
				t.Errorf("message %q lacks STS's window", apiMessage(err))
			}
		})
	}

	t.Run("SDK corrects its clock from the Date header", func(t *testing.T) {
		s.SetRequestClockSkew(30 * time.Minute)
		defer s.SetRequestClockSkew(0)
		s.ResetCalls()
		c := client(t, s, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, "", func(o *sts.Options) {
			o.RetryMaxAttempts = 3
			o.Retryer = retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		})
		if _, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("GetCallerIdentity with retries: %v", err)
		}
		calls := s.Calls()
		if len(calls) != 2 || calls[0].Error != "SignatureDoesNotMatch" || calls[1].Error != "" {
			t.Errorf("calls %+v, want a skewed attempt then a corrected one", calls)
		}
	})
}

// signedPost sends a form to the emulator signed with the demo keys by the
// SDK's signer, for requests the SDK's STS client cannot make. It returns the
// status, the headers and the body.
func signedPost(t *testing.T, s *ststest.Server, form url.Values) (int, http.Header, string) {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, s.URL()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: ststest.DemoAccessKeyID, SecretAccessKey: ststest.DemoSecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(out)
}

func TestWireFormat(t *testing.T) {
	s := newServer(t)
	type errorResponse struct {
		XMLName   xml.Name
		Error     struct{ Type, Code, Message string }
		RequestID string `xml:"RequestId"`
	}
	tests := []struct {
		name    string
		form    url.Values
		status  int
		code    string
		message string
	}{
		{"unknown action", url.Values{"Action": {"Frobnicate"}, "Version": {"2011-06-15"}}, 400, "InvalidAction",
			"Could not find operation Frobnicate for version 2011-06-15"},
		{"STS action the emulator lacks", url.Values{"Action": {"AssumeRoleWithSAML"}, "Version": {"2011-06-15"}}, 400, "InvalidAction",
			"Could not find operation AssumeRoleWithSAML for version 2011-06-15"},
		{"wrong version", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2010-01-01"}}, 400, "InvalidAction",
			"Could not find operation GetCallerIdentity for version 2010-01-01"},
		{"missing session name", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {ststest.DemoRoleARN("demo")}}, 400, "ValidationError",
			"1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null"},
		{"duration that is no number", url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {ststest.DemoRoleARN("demo")},
			"RoleSessionName": {"s1"}, "DurationSeconds": {"soon"}}, 400, "ValidationError", ""},
		{"caller identity", url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := signedPost(t, s, tt.form)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, body)
			}
			requestID := header.Get("X-Amzn-Requestid")
			if header.Get("Date") == "" || requestID == "" || !strings.HasPrefix(header.Get("Content-Type"), "text/xml") {
				t.Errorf("headers %v, want Date, x-amzn-RequestId and text/xml", header)
			}
			if tt.code == "" {
				if !strings.Contains(body, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`) ||
					!strings.Contains(body, "<ResponseMetadata><RequestId>"+requestID+"</RequestId></ResponseMetadata>") {
					t.Errorf("body %s lacks STS's namespace or request ID", body)
				}
				return
			}
			var e errorResponse
			if err := xml.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("error body %s: %v", body, err)
			}
			if e.XMLName.Local != "ErrorResponse" || e.XMLName.Space != "https://sts.amazonaws.com/doc/2011-06-15/" ||
				e.Error.Type != "Sender" || e.Error.Code != tt.code || e.RequestID != requestID {
				t.Errorf("error body %s, want a Sender %s ErrorResponse", body, tt.code)
			}
			if tt.message != "" && e.Error.Message != tt.message {
				t.Errorf("message %q, want %q", e.Error.Message, tt.message)
			}
		})
	}
}
