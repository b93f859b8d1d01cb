package assume

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/stshttp"
)

// Result is what Obtain got.
type Result struct {
	Credentials creds.Credentials
	Plan        Plan
}

// Obtain is the use case every command shares: resolve req, then return the
// credentials of the role it names last (of the source itself for a
// SourceOnly request without a role) from the cache on a hit (one file
// read, no SDK, no lock), else from STS under req.Timeout.
func Obtain(ctx context.Context, req Request, env Env) (Result, error) {
	p, err := Prepare(ctx, req, env)
	if err != nil {
		return Result{}, err
	}
	return p.Obtain(ctx)
}

// Prepared is a request resolved once whose credentials are fetched only
// when asked: what a command needs that caches something made from the
// credentials (an EKS token) under the identity they belong to, and calls
// Obtain only on its own cache miss. Resolving once matters: a request can
// read stdin (--policy -).
type Prepared struct {
	req  Request
	plan Plan
	env  Env

	storeOnce sync.Once
	store     *cache.Store
}

// Prepare resolves req (no STS call, no cache read) for a later Obtain.
func Prepare(ctx context.Context, req Request, env Env) (*Prepared, error) {
	plan, env, err := prepare(ctx, req, env)
	if err != nil {
		return nil, err
	}
	return &Prepared{req: req, plan: plan, env: env}, nil
}

// Plan is the resolved plan.
func (p *Prepared) Plan() Plan { return p.plan }

// Obtain returns the credentials, from the cache or STS, as Obtain does.
func (p *Prepared) Obtain(ctx context.Context) (Result, error) {
	return obtainWith(ctx, p.req, p.plan, p.env, p.Cache())
}

// CredentialsKey names the identity of the credentials Obtain returns
// without holding a secret: the cache key of the plan's last hop, or for a
// plan without hops a digest of the source's identity (its access key ID,
// its profile's definition, ...; see Source.cacheID). Two prepared requests
// with the same CredentialsKey get the same principal's credentials.
func (p *Prepared) CredentialsKey() string {
	if keys := p.plan.Keys(); len(keys) > 0 {
		return keys[len(keys)-1]
	}
	return cache.KeyInput{
		Kind:     "source",
		Source:   p.plan.Source.cacheID(p.plan.WebIdentity.Token),
		Region:   p.plan.Region,
		Endpoint: p.plan.Endpoint,
	}.Key()
}

// Cache is the credential cache the request uses, opened once, nil with
// --no-cache or when no cache directory can be found (reported once
// through Env.Warn).
func (p *Prepared) Cache() *cache.Store {
	p.storeOnce.Do(func() { p.store = requestCache(p.req, p.env) })
	return p.store
}

// obtainPlan gets a resolved plan's credentials.
func obtainPlan(ctx context.Context, req Request, plan Plan, env Env) (Result, error) {
	return obtainWith(ctx, req, plan, env, requestCache(req, env))
}

// obtainWith gets a resolved plan's credentials with the request's cache
// (nil for none).
func obtainWith(ctx context.Context, req Request, plan Plan, env Env, store *cache.Store) (_ Result, err error) {
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	defer func() { noteAutoLogin(err, plan, env) }()
	if len(plan.Hops) == 0 {
		c, err := sourceCredentials(ctx, plan, env)
		return Result{Credentials: c, Plan: plan}, err
	}
	if last := plan.Hops[len(plan.Hops)-1]; !req.NoCache {
		lasts := last.Duration
		if lasts == 0 {
			lasts = stsDefaultDuration(last.Kind)
		}
		if lasts > 0 && lasts <= req.RefreshWindow {
			env.warn("%s lasts %s, no more than the refresh window (%s): it will never be reused from the cache; pass a longer --duration or a shorter --refresh-window", last.Label, lasts, req.RefreshWindow)
		}
	}
	if plan.SSO != nil && plan.SSO.TokenErr != nil {
		if !plan.SSO.signInOnDemand(env) {
			return Result{Plan: plan}, plan.SSO.TokenErr
		}
		var err error
		if plan, err = signInSSO(ctx, plan, env); err != nil {
			return Result{Plan: plan}, err
		}
	}
	runner := runnerWith(req, env, store)
	if c, ok := runner.Cached(plan); ok {
		return Result{Credentials: c, Plan: plan}, nil
	}
	env.trace("cache miss for %s", plan.Target())
	if err := checkRecursion(env, plan); err != nil {
		return Result{}, err
	}
	plan, err = freshenSSO(ctx, plan, env)
	if err != nil {
		return Result{}, err
	}
	c, err := runner.Run(ctx, plan)
	return Result{Credentials: c, Plan: plan}, err
}

// prepare resolves req and gives env the HTTP client the plan's calls need
// (its CA bundle, the proxy variables, a cap on answers).
func prepare(ctx context.Context, req Request, env Env) (Plan, Env, error) {
	plan, err := Resolve(ctx, req, env)
	if err != nil {
		return Plan{}, env, err
	}
	env.trace("plan: %s", plan.describe())
	if env.HTTPClient == nil {
		env.HTTPClient = &lazyHTTPClient{options: stshttp.Options{CABundle: plan.CABundle, Getenv: env.Getenv}}
	}
	return plan, env, nil
}

// lazyHTTPClient builds the STS HTTP client on the first request: a cache
// hit makes none, and must not pay for reading and parsing a CA bundle
// (AWS_CA_BUNDLE is often the whole system bundle).
type lazyHTTPClient struct {
	options stshttp.Options
	once    sync.Once
	client  *stshttp.Client
	err     error
}

func (l *lazyHTTPClient) Do(req *http.Request) (*http.Response, error) {
	l.once.Do(func() {
		l.client, l.err = stshttp.NewClient(l.options)
		if l.err != nil {
			l.err = configError(l.err, "point --ca-bundle, AWS_CA_BUNDLE or the profile's ca_bundle at a readable PEM file")
		}
	})
	if l.err != nil {
		return nil, l.err
	}
	return l.client.Do(req)
}

// sourceCredentials loads the base credentials themselves.
func sourceCredentials(ctx context.Context, p Plan, env Env) (creds.Credentials, error) {
	provider, err := sourceProvider(p, env)
	if err != nil {
		return creds.Credentials{}, err
	}
	c, err := provider.Retrieve(ctx)
	if err != nil {
		return creds.Credentials{}, err
	}
	out := creds.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
	if c.CanExpire {
		out.Expiration = c.Expires.UTC()
	}
	return out, nil
}

// newRunner wires the cache and STS for one request. A cache that cannot be
// opened is reported once and the credentials are fetched uncached.
func newRunner(req Request, env Env) *Runner {
	return runnerWith(req, env, requestCache(req, env))
}

func runnerWith(req Request, env Env, store *cache.Store) *Runner {
	return &Runner{RefreshWindow: req.RefreshWindow, Refresh: req.Refresh, STS: &STS{Env: env}, Cache: store}
}

// requestCache opens the request's cache directory: nil with --no-cache,
// or when it cannot, which it reports.
func requestCache(req Request, env Env) *cache.Store {
	if req.NoCache {
		return nil
	}
	dir := req.CacheDir
	if dir == "" {
		var err error
		if dir, err = cache.DefaultDir(env.Getenv); err != nil {
			env.warn("no cache directory (%v): credentials will not be cached", err)
			return nil
		}
	}
	store, err := cache.Open(dir, cache.Options{Now: env.Now, LockTimeout: req.Timeout, Warn: env.Warn, Trace: env.Trace})
	if err != nil {
		env.warn("%v: credentials will not be cached", err)
		return nil
	}
	return store
}

// RecursionError is a credential_process that would run rolecall for the
// role it is already resolving.
type RecursionError struct{ Target string }

func (e *RecursionError) Error() string {
	return fmt.Sprintf("credential_process recursion: resolving %q runs rolecall for %q again", e.Target, e.Target)
}

// checkRecursion fails if a rolecall up the process tree is already
// resolving this plan's role.
func checkRecursion(env Env, p Plan) error {
	target := p.Target()
	for _, l := range strings.Split(env.Getenv(RecursionEnv), "\n") {
		if l == target {
			return &RecursionError{Target: target}
		}
	}
	return nil
}

// describe is the resolved plan for --debug: the source, each hop, where the
// calls go. It names no secret (an access key ID is not one).
func (p Plan) describe() string {
	var b strings.Builder
	b.WriteString(string(p.Source.Kind))
	switch {
	case p.Source.Profile != "":
		b.WriteString(" (profile " + p.Source.Profile + ")")
	case p.Source.StaticKeys != nil:
		b.WriteString(" (" + p.Source.StaticKeys.AccessKeyID + ")")
	}
	for i, h := range p.Hops {
		fmt.Fprintf(&b, " -> %s %s", h.Kind, h.Label)
		if h.Label != h.RoleARN && h.RoleARN != "" {
			fmt.Fprintf(&b, " (%s)", h.RoleARN)
		}
		if h.Kind == cache.KindSSORole && p.SSO != nil {
			fmt.Fprintf(&b, " (%s in %s)", p.SSO.RoleName, p.SSO.AccountID)
		}
		if p.chained(i) {
			b.WriteString(" [chained]")
		}
	}
	fmt.Fprintf(&b, "; region %s", p.Region)
	if p.Endpoint != "" {
		b.WriteString("; endpoint " + p.Endpoint)
	}
	return b.String()
}

// stsDefaultDuration is how long STS makes a session when DurationSeconds
// is not sent: an hour for a role (AssumeRole, AssumeRoleWithWebIdentity),
// 12 hours for GetSessionToken (API reference, DurationSeconds); unknown
// (0) for IAM Identity Center, whose permission set decides.
func stsDefaultDuration(kind string) time.Duration {
	switch kind {
	case cache.KindSessionToken:
		return 12 * time.Hour
	case cache.KindSSORole:
		return 0
	}
	return time.Hour
}
