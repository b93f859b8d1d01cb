// Package console turns any session rolecall can make into a sign-in link
// for the AWS Management Console: it gets the session exactly as `rolecall
// assume` would (assume.Obtain, from the cache when it can), exchanges it at
// the partition's federation endpoint for a sign-in token, and builds the
// link. It also starts a browser on the link without putting the link in
// the browser's command line (browser.go).
//
// The link is a credential: for 15 minutes anyone who has it can sign in
// once as the session. Link's String and Format redact it, traces never
// see it, and the caller prints it only when asked to.
//
// Like the other library packages it takes its HTTP client, clock and
// environment from the caller (assume.Env), and writes nothing to stdout or
// stderr.
package console

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/stshttp"
)

// EndpointEnv overrides the federation endpoint, as AWS_ENDPOINT_URL_STS does
// STS's (the AWS SDKs' AWS_ENDPOINT_URL_<SERVICE> convention; the AWS
// Sign-In service's identifier is "signin"). Tests point it at pkg/ststest.
const EndpointEnv = "AWS_ENDPOINT_URL_SIGNIN"

// Request is a console sign-in: which session (every assume flag), where the
// console lands, and where the federation endpoint is.
type Request struct {
	assume.Request

	// Service is the console page to land on (s3, ec2, cloudformation; a
	// path under the console host); empty for Console Home.
	Service string
	// Destination is the whole URL to land on instead.
	Destination string
	// FederationURL overrides the federation endpoint (--federation-url),
	// over EndpointEnv and the partition's own.
	FederationURL string
}

// Link is a console sign-in link and what it signs in to.
type Link struct {
	// URL is the link itself: a credential, usable once until Expires.
	URL string
	// Identity is the ARN the console signs in as (an assumed role or a
	// federated user), when known.
	Identity string
	// Destination is the console page the link lands on.
	Destination string
	// Expires is when the link stops working (15 minutes after it was made).
	Expires time.Time
	// CredentialsExpire is when the session's credentials expire, which ends
	// the console session unless a console duration was asked for.
	CredentialsExpire time.Time
}

// String is the link with its sign-in token redacted: a stray %v in a log
// line or an error cannot leak it.
func (l Link) String() string { return Redact(l.URL) }

// GoString makes %#v as safe as %v.
func (l Link) GoString() string { return l.String() }

// Format makes every fmt verb use String.
func (l Link) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, l.String()) }

// SignIn is the whole use case of `rolecall console`: the session the
// request names (as assume would make it, with assume.Request.ForConsole
// set, so that IAM user keys are federated), exchanged for a sign-in link.
// Every check of the console flags comes before any call; the federation
// call is bounded by req.Timeout like the STS calls.
func SignIn(ctx context.Context, req Request, env assume.Env) (Link, error) {
	endpoint, endpointSet, err := federationOverride(req, env.Getenv)
	if err != nil {
		return Link{}, err
	}
	if err := checkDestination(req); err != nil {
		return Link{}, err
	}
	req.ForConsole = true
	res, err := assume.Obtain(ctx, req.Request, env)
	if err != nil {
		return Link{}, err
	}
	plan := res.Plan
	region := ""
	if plan.RegionKnown {
		region = plan.Region
	}
	var roleARN string
	if len(plan.Hops) > 0 {
		roleARN = plan.Hops[len(plan.Hops)-1].RoleARN
	}
	part := PartitionOf(region, res.Credentials.AssumedRoleARN, roleARN)
	if !endpointSet {
		endpoint = FederationEndpoint(part, region)
	}
	destination := req.Destination
	if destination == "" {
		destination = Destination(part, region, req.Service)
	}

	client := env.HTTPClient
	if client == nil {
		hc, err := stshttp.NewClient(stshttp.Options{CABundle: plan.CABundle, Getenv: env.Getenv, MaxBodyBytes: maxAnswerBytes})
		if err != nil {
			return Link{}, &assume.ConfigError{Err: err, Hint: "point --ca-bundle, AWS_CA_BUNDLE or the profile's ca_bundle at a readable PEM file"}
		}
		client = hc
	}
	trace(env, "federation: getSigninToken for %s at %s%s", identityOr(res.Credentials.AssumedRoleARN, plan.Target()), endpoint, durationNote(req.ConsoleDuration))
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	token, err := getSigninToken(ctx, client, endpoint, res.Credentials, req.ConsoleDuration)
	if err != nil {
		return Link{}, err
	}
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	link := Link{
		URL:               loginURL(endpoint, destination, token),
		Identity:          res.Credentials.AssumedRoleARN,
		Destination:       destination,
		Expires:           now().Add(SigninTokenLifetime),
		CredentialsExpire: res.Credentials.Expiration,
	}
	trace(env, "sign-in link: %s", link)
	return link, nil
}

// federationOverride is --federation-url, else AWS_ENDPOINT_URL_SIGNIN
// (ignored with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true, as the STS
// variables are); a URL without a path gets /federation.
func federationOverride(req Request, getenv func(string) string) (string, bool, error) {
	v, from := req.FederationURL, "--federation-url"
	if v == "" && !strings.EqualFold(getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		v, from = getenv(EndpointEnv), EndpointEnv
	}
	if v == "" {
		return "", false, nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false, &assume.UsageError{
			Err:  fmt.Errorf("%s %q is not an http(s) URL without query", from, v),
			Hint: "pass the federation endpoint, such as https://signin.aws.amazon.com/federation",
		}
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/federation"
	}
	return u.String(), true, nil
}

// checkDestination checks --service and --destination before anything is
// called.
func checkDestination(req Request) error {
	switch {
	case req.Service != "" && req.Destination != "":
		return &assume.UsageError{Err: fmt.Errorf("--service and --destination both name the page to land on"), Hint: "pass one of them"}
	case req.Service != "" && !validService(req.Service):
		return &assume.UsageError{
			Err:  fmt.Errorf("--service %q is not a console path", req.Service),
			Hint: "pass the path of the service's console page, such as s3, ec2 or cloudformation (lower case), or a whole --destination URL",
		}
	case req.Destination != "":
		u, err := url.Parse(req.Destination)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return &assume.UsageError{
				Err:  fmt.Errorf("--destination %q is not an http(s) URL", req.Destination),
				Hint: "pass a console URL such as https://console.aws.amazon.com/s3/home",
			}
		}
	}
	return nil
}

func trace(env assume.Env, format string, args ...any) {
	if env.Trace != nil {
		env.Trace(format, args...)
	}
}

func identityOr(arn, label string) string {
	if arn != "" {
		return arn
	}
	return label
}

func durationNote(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf(" (SessionDuration %d)", int(d/time.Second))
}
