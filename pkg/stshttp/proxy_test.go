package stshttp

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestProxyCONNECT makes a real call to a made-up STS host through a CONNECT
// proxy on loopback, the way a corporate proxy is used, and checks that
// NO_PROXY keeps the call away from it.
func TestProxyCONNECT(t *testing.T) {
	pki := newTestPKI(t)
	bundle := pki.writeCA(t)
	e := startTLSEmulator(t, pki.server)
	endpoint := "https://" + testHost

	t.Run("HTTPS_PROXY", func(t *testing.T) {
		proxy := startConnectProxy(t, e.addr())
		c, err := NewClient(Options{CABundle: bundle, Getenv: env(map[string]string{"HTTPS_PROXY": proxy.URL()})})
		if err != nil {
			t.Fatal(err)
		}
		before := e.sts.CallCount("GetCallerIdentity")
		if _, err := getCallerIdentity(t, newSTS(c, endpoint, nil)); err != nil {
			t.Fatalf("GetCallerIdentity through the proxy: %v", err)
		}
		if got, want := proxy.Connects(), []string{testHost + ":443"}; !slices.Equal(got, want) {
			t.Errorf("proxy saw CONNECT %v, want %v", got, want)
		}
		if n := e.sts.CallCount("GetCallerIdentity") - before; n != 1 {
			t.Errorf("emulator got %d calls, want 1", n)
		}
	})

	t.Run("NO_PROXY", func(t *testing.T) {
		proxy := startConnectProxy(t, e.addr())
		c, err := NewClient(Options{CABundle: bundle, Getenv: env(map[string]string{
			"HTTPS_PROXY": proxy.URL(),
			"NO_PROXY":    "example.com, " + testHost,
		})})
		if err != nil {
			t.Fatal(err)
		}
		// Without the proxy the made-up name has to be resolved, and .test
		// names never are: the call fails. One attempt is enough.
		_, err = getCallerIdentity(t, newSTS(c, endpoint, aws.NopRetryer{}))
		if err == nil {
			t.Fatal("call to an unresolvable host succeeded: did it go through the proxy?")
		}
		if got := proxy.Connects(); len(got) != 0 {
			t.Errorf("proxy saw CONNECT %v despite NO_PROXY", got)
		}
		t.Logf("direct call failed as expected: %v", err)
	})
}

// TestProxyChoice checks which proxy each request URL gets for each set of
// variables, without a network.
func TestProxyChoice(t *testing.T) {
	const (
		sts   = "https://sts.us-east-1.amazonaws.com/"
		plain = "http://sts.us-east-1.amazonaws.com/"
		upper = "http://upper:3128"
		lower = "http://lower:3128"
	)
	tests := []struct {
		name string
		env  map[string]string
		url  string
		want string // "" for a direct connection
	}{
		{"nothing set", nil, sts, ""},
		{"HTTPS_PROXY", map[string]string{"HTTPS_PROXY": upper}, sts, upper},
		{"https_proxy", map[string]string{"https_proxy": lower}, sts, lower},
		{"both: upper case wins, as in net/http", map[string]string{"HTTPS_PROXY": upper, "https_proxy": lower}, sts, upper},
		{"empty upper case falls to lower case", map[string]string{"HTTPS_PROXY": "", "https_proxy": lower}, sts, lower},
		{"host:port without scheme", map[string]string{"HTTPS_PROXY": "upper:3128"}, sts, upper},
		{"https does not fall back to HTTP_PROXY", map[string]string{"HTTP_PROXY": upper}, sts, ""},
		{"http uses HTTP_PROXY", map[string]string{"HTTP_PROXY": upper, "HTTPS_PROXY": lower}, plain, upper},
		{"NO_PROXY domain covers subdomains", map[string]string{"HTTPS_PROXY": upper, "NO_PROXY": "amazonaws.com"}, sts, ""},
		{"no_proxy", map[string]string{"HTTPS_PROXY": upper, "no_proxy": ".amazonaws.com"}, sts, ""},
		{"NO_PROXY elsewhere", map[string]string{"HTTPS_PROXY": upper, "NO_PROXY": "example.com,10.0.0.0/8"}, sts, upper},
		{"NO_PROXY *", map[string]string{"HTTPS_PROXY": upper, "NO_PROXY": "*"}, sts, ""},
		{"loopback never proxied", map[string]string{"HTTPS_PROXY": upper}, "https://127.0.0.1:4566/", ""},
		{"localhost never proxied", map[string]string{"HTTPS_PROXY": upper}, "https://localhost:4566/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(Options{Getenv: env(tt.env)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := proxyFor(t, c, tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("proxy for %s = %q, want %q", tt.url, got, tt.want)
			}
		})
	}

	t.Run("CGI refuses HTTP_PROXY", func(t *testing.T) {
		c, err := NewClient(Options{Getenv: env(map[string]string{"HTTP_PROXY": upper, "REQUEST_METHOD": "GET"})})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := proxyFor(t, c, plain); err == nil {
			t.Error("HTTP_PROXY used in a CGI environment")
		}
	})
}

func proxyFor(t *testing.T, c *Client, rawURL string) (string, error) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.buildable.GetTransport().Proxy(&http.Request{URL: u})
	if p == nil || err != nil {
		return "", err
	}
	return p.String(), nil
}

func TestBadProxyVariable(t *testing.T) {
	const secret = "s3cret"
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"HTTPS_PROXY": "http://user:" + secret + "@proxy:bad-port"}, "HTTPS_PROXY"},
		{map[string]string{"https_proxy": "http://user:" + secret + "@proxy:bad-port"}, "https_proxy"},
		{map[string]string{"HTTP_PROXY": "http://proxy:%zz"}, "HTTP_PROXY"},
		// Ports outside 1..65535 (mutants of the bounds survived without these).
		{map[string]string{"HTTPS_PROXY": "http://proxy:0"}, "HTTPS_PROXY"},
		{map[string]string{"HTTPS_PROXY": "http://proxy:65536"}, "HTTPS_PROXY"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := NewClient(Options{Getenv: env(tt.env)})
			var pe *ProxyError
			if !errors.As(err, &pe) {
				t.Fatalf("NewClient error = %v, want *ProxyError", err)
			}
			if pe.Variable != tt.want {
				t.Errorf("Variable = %q, want %q", pe.Variable, tt.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q shows the proxy password", err)
			}
		})
	}
}

func TestGoodProxyVariables(t *testing.T) {
	for _, v := range []string{"proxy", "proxy:3128", "http://proxy:3128/", "https://user:p%40ss@proxy.corp:8443", "socks5://127.0.0.1:1080", "http://[::1]:3128",
		"http://proxy:1", "http://proxy:65535"} {
		if _, err := NewClient(Options{Getenv: env(map[string]string{"HTTPS_PROXY": v})}); err != nil {
			t.Errorf("HTTPS_PROXY=%s: %v", v, err)
		}
	}
}
