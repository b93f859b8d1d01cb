package sso

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/smithy-go/logging"

	"github.com/rolecall/rolecall/pkg/stshttp"
)

// Env is the world the package works in; nothing here reads it another
// way.
type Env struct {
	HomeDir string
	Getenv  func(string) string
	// HTTPClient carries every call; nil means rolecall's client for the
	// environment (proxies, AWS_CA_BUNDLE).
	HTTPClient aws.HTTPClient
	Now        func() time.Time
	// Trace reports each step for --debug; it never receives a secret.
	Trace func(format string, args ...any)
}

func (e Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e Env) trace(format string, args ...any) {
	if e.Trace != nil {
		e.Trace(format, args...)
	}
}

// Endpoints are where the calls go; empty means the SDK's endpoint for the
// session's region (oidc.REGION.amazonaws.com, portal.sso.REGION.amazonaws.com).
type Endpoints struct {
	OIDC   string
	Portal string
}

// EndpointsFrom reads the endpoint variables the SDKs read for these two
// services: AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO, else
// AWS_ENDPOINT_URL, none of them with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true
// ("Service-specific endpoints", AWS SDKs and Tools Reference Guide; the
// service IDs are "SSO OIDC" and "SSO").
func EndpointsFrom(getenv func(string) string) (Endpoints, error) {
	if strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return Endpoints{}, nil
	}
	pick := func(name string) (string, error) {
		v, from := getenv(name), name
		if v == "" {
			v, from = getenv("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"
		}
		if v == "" {
			return "", nil
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return "", &ConfigError{Err: fmt.Errorf("%s %q is not an http(s) URL", from, v), Hint: "unset it, or set it to a URL such as https://oidc.us-east-1.amazonaws.com", Usage: true}
		}
		return strings.TrimSuffix(v, "/"), nil
	}
	var e Endpoints
	var err error
	if e.OIDC, err = pick("AWS_ENDPOINT_URL_SSO_OIDC"); err != nil {
		return e, err
	}
	e.Portal, err = pick("AWS_ENDPOINT_URL_SSO")
	return e, err
}

// Client makes the OIDC and portal calls of one command.
type Client struct {
	Env       Env
	Endpoints Endpoints
}

// NewClient is a client for env: its endpoints from the environment, and
// rolecall's HTTP client when env has none.
func NewClient(env Env) (*Client, error) {
	ep, err := EndpointsFrom(env.Getenv)
	if err != nil {
		return nil, err
	}
	if env.HTTPClient == nil {
		hc, err := stshttp.NewClient(stshttp.Options{CABundle: env.Getenv("AWS_CA_BUNDLE"), Getenv: env.Getenv})
		if err != nil {
			return nil, &ConfigError{Err: err, Hint: "point AWS_CA_BUNDLE at a readable PEM file, or fix the proxy variables"}
		}
		env.HTTPClient = hc
	}
	return &Client{Env: env, Endpoints: ep}, nil
}

// maxAttempts bounds the SDK's retries of throttling, 5xx and dropped
// connections; the caller's context bounds their time.
const maxAttempts = 4

func retryer() aws.Retryer {
	return retry.NewStandard(stshttp.NoRetry, func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = 2 * time.Second
		o.RateLimiter = ratelimit.None
	})
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// oidc is the SSO OIDC client for a region. Its calls are unsigned.
func (c *Client) oidc(region string) *ssooidc.Client {
	return ssooidc.New(ssooidc.Options{
		Region:       region,
		HTTPClient:   c.Env.HTTPClient,
		BaseEndpoint: optional(c.Endpoints.OIDC),
		Retryer:      retryer(),
		Logger:       logging.Nop{},
	})
}

// portal is the IAM Identity Center portal client for a region; the access
// token goes in a header, not a signature.
func (c *Client) portal(region string) *sso.Client {
	return sso.New(sso.Options{
		Region:       region,
		HTTPClient:   c.Env.HTTPClient,
		BaseEndpoint: optional(c.Endpoints.Portal),
		Retryer:      retryer(),
		Logger:       logging.Nop{},
	})
}

// oidcBase is the OIDC service's base URL for a region: the endpoint
// override, else the SDK's resolved endpoint. The authorize page of the
// authorization code grant hangs off it; it is no SDK operation (the AWS
// CLI resolves it the same way, _get_base_authorization_uri).
func (c *Client) oidcBase(ctx context.Context, region string) (string, error) {
	if c.Endpoints.OIDC != "" {
		return c.Endpoints.OIDC, nil
	}
	ep, err := ssooidc.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, ssooidc.EndpointParameters{Region: aws.String(region)})
	if err != nil {
		return "", fmt.Errorf("resolve the SSO OIDC endpoint for %s: %w", region, err)
	}
	return strings.TrimSuffix(ep.URI.String(), "/"), nil
}
