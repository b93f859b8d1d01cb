// Package stshttp builds the one HTTP client every STS call of rolecall goes
// through. Compared with the SDK's default client it
//
//   - trusts the CA bundle the caller names (--ca-bundle, AWS_CA_BUNDLE or a
//     profile's ca_bundle: the caller picks one) instead of the system roots,
//     as the AWS CLI and the Go SDK do;
//   - takes the proxy variables from the caller's environment function, not
//     from the process environment;
//   - bounds every response body (MaxBodyBytes), so a proxy or server that
//     answers with a huge body fails fast in bounded memory;
//
// and it offers a retry check (IsErrorRetryable, NoRetry) so that a
// certificate error or an oversized body is reported at once instead of
// being retried as a connection error.
//
// Everything else (dial, TLS handshake and idle timeouts, keep-alive, the
// connection pool, redirect handling) is the SDK's awshttp.BuildableClient
// as it comes.
package stshttp

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"golang.org/x/net/http/httpproxy"
)

// DefaultMaxBodyBytes is the response body limit when Options.MaxBodyBytes
// is not set. STS answers are a few KB: the largest part of the largest one
// (AssumeRole's) is the session token, at most 4,096 bytes ("Increases the
// maximum session token size to 4,096 bytes", aws-sdk-go-v2 service/sts
// v1.51.0 changelog); error answers are smaller still.
const DefaultMaxBodyBytes = 1 << 20

// Options configures NewClient.
type Options struct {
	// CABundle is the path of a PEM file whose certificates are the only
	// roots trusted for TLS; empty means the system's roots. The caller
	// decides where it comes from; the AWS CLI's order is --ca-bundle, then
	// AWS_CA_BUNDLE, then the profile's ca_bundle ("If defined, this option
	// overrides the value for the profile setting ca_bundle and the
	// AWS_CA_BUNDLE environment variable",
	// https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-options.html).
	// The path is used as given: neither botocore nor the Go SDK expands
	// "~" or variables in it.
	CABundle string

	// Getenv supplies the proxy variables: HTTPS_PROXY, HTTP_PROXY and
	// NO_PROXY, each also in lower case, and REQUEST_METHOD. nil means none
	// are set. The process environment is never read directly.
	Getenv func(string) string

	// MaxBodyBytes bounds every response body; reading past it fails with
	// *BodyTooLargeError. Zero or less means DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// Client is the HTTP client for STS calls; it implements aws.HTTPClient, so
// it goes in sts.Options.HTTPClient.
//
// It wraps an *awshttp.BuildableClient, so the SDK does not recognise it as
// one: the STS client uses it as it is (no defaults-mode timeouts applied on
// top), and config.LoadDefaultConfig refuses it whenever AWS_CA_BUNDLE or a
// profile's ca_bundle is set ("unable to add custom RootCAs HTTPClient").
// Give LoadDefaultConfig Buildable() instead.
type Client struct {
	buildable *awshttp.BuildableClient
	maxBody   int64
}

// NewClient builds the client. An unusable CA bundle is a *CABundleError; a
// proxy variable that is no URL is a *ProxyError.
func NewClient(o Options) (*Client, error) {
	maxBody := o.MaxBodyBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	proxy, err := proxyFunc(o.Getenv)
	if err != nil {
		return nil, err
	}
	var roots *x509.CertPool
	if o.CABundle != "" {
		if roots, err = loadCABundle(o.CABundle); err != nil {
			return nil, err
		}
	}
	b := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.Proxy = proxy
		if roots != nil {
			// The SDK's transport always has a TLS config (minimum version,
			// FIPS curves); GetTransport hands us a clone of it.
			tr.TLSClientConfig.RootCAs = roots
		}
	})
	return &Client{buildable: b, maxBody: maxBody}, nil
}

// Do sends the request through the SDK's client and bounds the response
// body. The limit is enforced as the body is read (by the SDK's
// deserializer, or by its drain before close), so the error surfaces as a
// deserialization error, which the SDK's standard retryer does not retry.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	req, err := detachBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.buildable.Do(req)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = newLimitedBody(resp.Body, resp.ContentLength, c.maxBody)
	return resp, nil
}

// maxDetachedBody bounds the request bodies Do copies. STS requests are
// form-encoded parameters, far smaller than this; anything larger (or of
// unknown length) is passed through as it is.
const maxDetachedBody = 1 << 20

// detachBody returns req with a copy of its body, read up front, so that
// nothing the caller does to its own body after Do returns reaches net/http.
//
// The SDK closes the body it built as soon as Do returns
// (smithyhttp.ClientHandler.Handle: "HTTP RoundTripper *should* close the
// request body. But this may not happen in a timely manner."), and reading
// it after that fails. net/http, once it has written ContentLength bytes,
// reads the body once more to check that it is at EOF. When the answer
// arrives first (a server on loopback, a loaded machine), that read fails,
// net/http tears the connection down under the response being read, and
// the SDK retries the resulting "use of closed network connection" as a
// connection error: STS gets the request twice, an MFA code included.
func detachBody(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength <= 0 || req.ContentLength > maxDetachedBody {
		return req, nil
	}
	data := make([]byte, req.ContentLength)
	_, err := io.ReadFull(req.Body, data)
	// Do's contract, like http.Client's: the body is closed, even on error.
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	detached := *req
	detached.Body = io.NopCloser(bytes.NewReader(data))
	detached.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return &detached, nil
}

// Buildable returns a copy of the underlying SDK client, with the CA bundle
// and proxy settings but without the body limit, for
// config.LoadDefaultConfig(config.WithHTTPClient(...)) when the SDK itself
// resolves base credentials (SSO, credential_process, container, IMDS).
//
// LoadDefaultConfig then applies AWS_CA_BUNDLE or the profile's ca_bundle
// itself, read from the process environment, adding those certificates to
// the copy's roots (config.resolveCustomCABundle); the copy has a pool of
// its own, so the Client is not changed by that.
func (c *Client) Buildable() *awshttp.BuildableClient {
	return c.buildable.WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig != nil && tr.TLSClientConfig.RootCAs != nil {
			tr.TLSClientConfig.RootCAs = tr.TLSClientConfig.RootCAs.Clone()
		}
	})
}

// ProxyError reports a proxy variable whose value is no proxy URL. It names
// the variable only: the value may hold a password.
type ProxyError struct {
	// Variable is the environment variable that was used, as spelled.
	Variable string
}

func (e *ProxyError) Error() string {
	return fmt.Sprintf("%s is not a valid proxy URL (want http://host:port)", e.Variable)
}

// proxyFunc returns the transport's proxy function for the variables getenv
// supplies, with the semantics of net/http's ProxyFromEnvironment (which is
// this same golang.org/x/net/http/httpproxy code, vendored in the standard
// library), except that the variables are read once, here, from getenv:
//
//   - https URLs use HTTPS_PROXY, http URLs HTTP_PROXY; an https URL does
//     not fall back to HTTP_PROXY.
//   - When both spellings of a variable are set and non-empty, the UPPER
//     case one wins (httpproxy.FromEnvironment's getEnvAny("HTTPS_PROXY",
//     "https_proxy")); the lower case one counts only when the upper case
//     one is unset or empty. Python's urllib, which the AWS CLI uses,
//     prefers the lower case one instead; the two differ only when both are
//     set to different values.
//   - NO_PROXY is a comma-separated list of host names (matching
//     subdomains too), ".domain" suffixes, IP addresses or CIDR ranges, with
//     optional ports, or "*" for everything.
//   - localhost and loopback addresses are never proxied.
//   - When REQUEST_METHOD is set (a CGI program), HTTP_PROXY is refused for
//     http URLs, against "httpoxy".
func proxyFunc(getenv func(string) string) (func(*http.Request) (*url.URL, error), error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	either := func(upper, lower string) (name, value string) {
		if v := getenv(upper); v != "" {
			return upper, v
		}
		return lower, getenv(lower)
	}
	httpName, httpValue := either("HTTP_PROXY", "http_proxy")
	httpsName, httpsValue := either("HTTPS_PROXY", "https_proxy")
	_, noProxy := either("NO_PROXY", "no_proxy")
	cfg := httpproxy.Config{
		HTTPProxy:  httpValue,
		HTTPSProxy: httpsValue,
		NoProxy:    noProxy,
		CGI:        getenv("REQUEST_METHOD") != "",
	}
	for _, v := range []struct{ name, value string }{{httpName, httpValue}, {httpsName, httpsValue}} {
		if v.value != "" && !validProxy(v.value) {
			return nil, &ProxyError{Variable: v.name}
		}
	}
	fn := cfg.ProxyFunc()
	return func(req *http.Request) (*url.URL, error) { return fn(req.URL) }, nil
}

// validProxy reports whether value is a proxy URL net/http can use.
// httpproxy parses a proxy URL only when a request asks for it, quotes the
// value (password and all) in its error, and is lenient: a value that does
// not parse is tried again with "http://" in front, so
// "http://user:pw@proxy:bad-port" becomes host "http:" with a path. The
// SDK would then retry the failing dial as a connection error. So the
// value is parsed here the same way and must give a scheme net/http
// dials, a host, a numeric port if any, and no path.
func validProxy(value string) bool {
	probe := &url.URL{Scheme: "https", Host: "sts.amazonaws.com"}
	u, err := (&httpproxy.Config{HTTPSProxy: value}).ProxyFunc()(probe)
	if err != nil || u == nil {
		return false
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return false
	}
	if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return false
		}
	}
	return true
}
