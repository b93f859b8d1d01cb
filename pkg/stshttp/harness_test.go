package stshttp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// testHost is the made-up name the proxy tests give STS: net/http never
// proxies localhost or loopback addresses, and .test never resolves
// (RFC 6761).
const testHost = "sts.rolecall.test"

// testPKI is a CA of the test's own and server certificates it signed.
type testPKI struct {
	caPEM []byte
	// server covers testHost and 127.0.0.1 (not "localhost").
	server tls.Certificate
	// expired covers the same names but expired an hour ago.
	expired tls.Certificate
}

// newTestPKI makes a CA and its server certificates. httptest's own
// certificate covers only example.com and the loopback addresses, so the
// proxy tests need one for testHost.
func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rolecall test CA (like a TLS-inspecting proxy's)"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(serial int64, notAfter time.Time) tls.Certificate {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: testHost},
			DNSNames:     []string{testHost},
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
			NotBefore:    now.Add(-2 * time.Hour),
			NotAfter:     notAfter,
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	}
	return &testPKI{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server:  leaf(2, now.Add(24*time.Hour)),
		expired: leaf(3, now.Add(-time.Hour)),
	}
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeCA writes the CA certificate as a PEM bundle and returns its path.
func (p *testPKI) writeCA(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, p.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tlsEmulator is the STS emulator served over TLS with a certificate of the
// test CA.
type tlsEmulator struct {
	sts *ststest.Server
	srv *httptest.Server
	// handshakes counts TLS handshakes begun (ClientHellos), finished or
	// not: one per attempt the client makes.
	handshakes atomic.Int64
}

func startTLSEmulator(t *testing.T, cert tls.Certificate) *tlsEmulator {
	t.Helper()
	s, err := ststest.New(ststest.DemoConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &tlsEmulator{sts: s}
	e.srv = httptest.NewUnstartedServer(s.Handler())
	e.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			e.handshakes.Add(1)
			return nil, nil
		},
	}
	// The client's failed handshakes would be logged as noise.
	e.srv.Config.ErrorLog = discardLog()
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

// addr is the emulator's host:port on 127.0.0.1.
func (e *tlsEmulator) addr() string { return e.srv.Listener.Addr().String() }

// port is the emulator's port, for endpoints that name it by another host.
func (e *tlsEmulator) port() string {
	_, port, _ := net.SplitHostPort(e.addr())
	return port
}

// newSTS returns an STS client signing with the emulator's demo keys, going
// through hc to endpoint; a nil retryer means the SDK's default one.
func newSTS(hc aws.HTTPClient, endpoint string, r aws.Retryer) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey, ""),
		HTTPClient:   hc,
		Retryer:      r,
	})
}

func getCallerIdentity(t *testing.T, c *sts.Client) (*sts.GetCallerIdentityOutput, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	return c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// connectProxy is an HTTPS proxy of the kind corporate networks run: it
// answers CONNECT host:port and then relays bytes. Whatever host is asked
// for, it dials target, so that a made-up STS host name reaches the
// emulator.
type connectProxy struct {
	srv    *httptest.Server
	target string

	mu       sync.Mutex
	connects []string // the authority of each CONNECT
	conns    []net.Conn
}

func startConnectProxy(t *testing.T, target string) *connectProxy {
	t.Helper()
	p := &connectProxy{target: target}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.srv.Close()
		// Hijacked connections are no longer the server's to close.
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			_ = c.Close()
		}
	})
	return p
}

// URL is the proxy's URL, for HTTPS_PROXY.
func (p *connectProxy) URL() string { return p.srv.URL }

// Connects returns the authorities CONNECT asked for so far.
func (p *connectProxy) Connects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}

func (p *connectProxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "this proxy only tunnels", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.connects = append(p.connects, r.Host)
	p.mu.Unlock()
	upstream, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(r.Context(), "tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, client, upstream)
	p.mu.Unlock()
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	// rw.Reader may hold bytes the client sent right after its CONNECT.
	go relay(upstream, rw.Reader, client, upstream)
	go relay(client, upstream, client, upstream)
}

// relay copies src to dst, then closes both connections so that the other
// direction ends too.
func relay(dst io.Writer, src io.Reader, conns ...net.Conn) {
	_, _ = io.Copy(dst, src)
	for _, c := range conns {
		_ = c.Close()
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }
