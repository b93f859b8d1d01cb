package stshttp

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/rolecall/rolecall/pkg/ststest"
)

func TestCABundleTrustsTheEmulator(t *testing.T) {
	pki := newTestPKI(t)
	e := startTLSEmulator(t, pki.server)
	c, err := NewClient(Options{CABundle: pki.writeCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := getCallerIdentity(t, newSTS(c, e.srv.URL, nil))
	if err != nil {
		t.Fatalf("GetCallerIdentity with the bundle: %v", err)
	}
	if got := aws.ToString(out.Arn); got != ststest.DemoUserARN {
		t.Errorf("Arn = %q, want %q", got, ststest.DemoUserARN)
	}
	if n := e.sts.CallCount("GetCallerIdentity"); n != 1 {
		t.Errorf("emulator got %d GetCallerIdentity calls, want 1", n)
	}
}

// TestCABundleReplacesSystemRoots checks the pool the transport verifies
// with: the bundle's certificates and nothing else, as botocore and the Go
// SDK do (see loadCABundle).
func TestCABundleReplacesSystemRoots(t *testing.T) {
	pki := newTestPKI(t)
	c, err := NewClient(Options{CABundle: pki.writeCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := x509.NewCertPool()
	want.AppendCertsFromPEM(pki.caPEM)
	got := c.buildable.GetTransport().TLSClientConfig.RootCAs
	if got == nil || !got.Equal(want) {
		t.Fatal("RootCAs is not exactly the bundle's certificates")
	}
	if sys, err := x509.SystemCertPool(); err == nil && got.Equal(sys) {
		t.Error("RootCAs equals the system pool")
	}

	without, err := NewClient(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if without.buildable.GetTransport().TLSClientConfig.RootCAs != nil {
		t.Error("without a bundle RootCAs should be nil (the system roots)")
	}
}

// TestBuildableIsACopy: LoadDefaultConfig adds AWS_CA_BUNDLE's certificates
// to the pool of the client it is given; that must not reach the Client.
func TestBuildableIsACopy(t *testing.T) {
	pki := newTestPKI(t)
	c, err := NewClient(Options{CABundle: pki.writeCA(t)})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Buildable()
	other := newTestPKI(t)
	b.GetTransport().TLSClientConfig.RootCAs.AppendCertsFromPEM(other.caPEM)
	want := x509.NewCertPool()
	want.AppendCertsFromPEM(pki.caPEM)
	if !c.buildable.GetTransport().TLSClientConfig.RootCAs.Equal(want) {
		t.Error("changing Buildable()'s roots changed the Client's")
	}
	if b.GetTransport().Proxy == nil {
		t.Error("Buildable() lost the proxy function")
	}
}

// TestCertificateErrorsAreNotRetried makes real calls that fail TLS
// verification and counts the handshakes the server saw: one per attempt.
func TestCertificateErrorsAreNotRetried(t *testing.T) {
	pki := newTestPKI(t)
	bundle := pki.writeCA(t)
	good := startTLSEmulator(t, pki.server)
	expired := startTLSEmulator(t, pki.expired)
	tests := []struct {
		name     string
		srv      *tlsEmulator
		bundle   string
		endpoint string
		// want is the x509 error inside the TLS one.
		want any
	}{
		{"no bundle: unknown authority", good, "", good.srv.URL, &x509.UnknownAuthorityError{}},
		{"name not in the certificate", good, bundle, "https://localhost:" + good.port(), &x509.HostnameError{}},
		{"expired", expired, bundle, expired.srv.URL, &x509.CertificateInvalidError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := tt.srv
			c, err := NewClient(Options{CABundle: tt.bundle})
			if err != nil {
				t.Fatal(err)
			}
			// rolecall's retryer allows six attempts.
			r := retry.NewStandard(NoRetry, func(o *retry.StandardOptions) { o.MaxAttempts = 6 })
			before := srv.handshakes.Load()
			_, err = getCallerIdentity(t, newSTS(c, tt.endpoint, r))
			if err == nil {
				t.Fatal("call succeeded")
			}
			if !IsCertificateError(err) {
				t.Errorf("IsCertificateError(%v) = false", err)
			}
			if !errors.As(err, tt.want) {
				t.Errorf("error %v is no %T", err, tt.want)
			}
			if got := IsErrorRetryable(err); got != aws.FalseTernary {
				t.Errorf("IsErrorRetryable = %v, want false", got)
			}
			if n := srv.handshakes.Load() - before; n != 1 {
				t.Errorf("%d handshakes, want 1 (no retries)", n)
			}
			if n := srv.sts.CallCount("GetCallerIdentity"); n != 0 {
				t.Errorf("emulator got %d calls", n)
			}
		})
	}

	// Why NoRetry is needed: the SDK's own checks call a failed handshake
	// a connection error and retry it.
	t.Run("SDK default retries it", func(t *testing.T) {
		c, err := NewClient(Options{})
		if err != nil {
			t.Fatal(err)
		}
		r := retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 3 })
		before := good.handshakes.Load()
		if _, err := getCallerIdentity(t, newSTS(c, good.srv.URL, r)); err == nil {
			t.Fatal("call succeeded")
		}
		if n := good.handshakes.Load() - before; n != 3 {
			t.Errorf("%d handshakes, want 3: has the SDK stopped retrying certificate errors?", n)
		}
	})
}

func TestIsErrorRetryableLeavesOthersUnknown(t *testing.T) {
	for _, err := range []error{nil, errors.New("connection reset by peer"), os.ErrDeadlineExceeded} {
		if got := IsErrorRetryable(err); got != aws.UnknownTernary {
			t.Errorf("IsErrorRetryable(%v) = %v, want unknown", err, got)
		}
		if IsCertificateError(err) {
			t.Errorf("IsCertificateError(%v) = true", err)
		}
	}
	if got := IsErrorRetryable(&BodyTooLargeError{Limit: 1}); got != aws.FalseTernary {
		t.Errorf("IsErrorRetryable(BodyTooLarge) = %v, want false", got)
	}
	if !IsCertificateError(x509.SystemRootsError{}) {
		t.Error("IsCertificateError(SystemRootsError) = false")
	}
}

func TestNoRetryGoesFirst(t *testing.T) {
	var o retry.StandardOptions
	o.Retryables = append([]retry.IsErrorRetryable{}, retry.DefaultRetryables...)
	NoRetry(&o)
	if len(o.Retryables) != len(retry.DefaultRetryables)+1 {
		t.Fatalf("%d checks, want %d", len(o.Retryables), len(retry.DefaultRetryables)+1)
	}
	if got := o.Retryables[0].IsErrorRetryable(&BodyTooLargeError{}); got != aws.FalseTernary {
		t.Errorf("first check says %v for BodyTooLargeError, want false", got)
	}
}

// TestDetachBodyCopiesUpToTheLimit: a body of up to maxDetachedBody bytes
// is copied (the caller's body then closed), one byte more is passed
// through untouched.
func TestDetachBodyCopiesUpToTheLimit(t *testing.T) {
	for _, tt := range []struct {
		name   string
		size   int64
		copied bool
	}{
		{"empty", 0, false},
		{"one byte", 1, true},
		{"the limit", maxDetachedBody, true},
		{"over the limit", maxDetachedBody + 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := &closeCounter{Reader: bytes.NewReader(make([]byte, tt.size))}
			req, err := http.NewRequest(http.MethodPost, "http://sts.invalid/", body)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.size
			got, err := detachBody(req)
			if err != nil {
				t.Fatal(err)
			}
			if copied := got != req; copied != tt.copied {
				t.Fatalf("copied = %v, want %v", copied, tt.copied)
			}
			if tt.copied && body.closed != 1 {
				t.Errorf("the caller's body was closed %d times, want once", body.closed)
			}
			if !tt.copied && body.closed != 0 {
				t.Errorf("a body passed through was closed %d times, want 0", body.closed)
			}
		})
	}
}

type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error {
	c.closed++
	return nil
}
