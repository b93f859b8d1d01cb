package assume

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
)

// Runner executes plans: the cache first, STS second.
type Runner struct {
	// Cache stores every hop's credentials; nil disables caching.
	Cache *cache.Store
	// RefreshWindow is how much validity a cached entry must have left to
	// be used.
	RefreshWindow time.Duration
	// Refresh forces a new STS call for the last hop (the hops before it
	// are still taken from the cache).
	Refresh bool
	// STS makes the calls; its Env asks for MFA codes and reports.
	STS *STS

	usedCodes  map[string]string // serial -> last code sent: STS rejects reuse
	skewWarned bool
}

// Cached returns the last hop's credentials when the cache holds them with
// more than the refresh window left. It is the whole of a cache hit: no SDK,
// no lock, one file read.
func (r *Runner) Cached(p Plan) (creds.Credentials, bool) {
	if r.Cache == nil || r.Refresh || len(p.Hops) == 0 {
		return creds.Credentials{}, false
	}
	keys := p.Keys()
	e, ok := r.Cache.Lookup(keys[len(keys)-1], r.RefreshWindow)
	if ok {
		r.trace("cache hit for %s (expires %s)", p.Hops[len(p.Hops)-1].Label, e.Credentials.Expiration.Format(time.RFC3339))
		r.noteSkew(e.ClockSkew)
	}
	return e.Credentials, ok
}

// Run returns the last hop's credentials, from the cache where it can and
// from STS where it must.
func (r *Runner) Run(ctx context.Context, p Plan) (creds.Credentials, error) {
	if len(p.Hops) == 0 {
		return creds.Credentials{}, fmt.Errorf("nothing to assume")
	}
	p = r.clampChained(p)
	keys := p.Keys()
	return r.hop(ctx, p, keys, len(p.Hops)-1)
}

// hop returns the credentials of hop i, fetching the hops before it only
// when hop i itself must be fetched.
func (r *Runner) hop(ctx context.Context, p Plan, keys []string, i int) (creds.Credentials, error) {
	h := p.Hops[i]
	fetch := func(ctx context.Context) (cache.Entry, error) {
		var base creds.Credentials
		if i > 0 {
			var err error
			if base, err = r.hop(ctx, p, keys, i-1); err != nil {
				return cache.Entry{}, err
			}
		}
		c, skew, err := r.call(ctx, p, h, i, base)
		var callErr *CallError
		if i == 0 && p.Source.Kind == awsconfig.SourceEnvironment && errors.As(err, &callErr) {
			callErr.BaseFromEnvironment = true
		}
		if err != nil {
			return cache.Entry{}, err
		}
		return cache.Entry{
			Version:     cache.CurrentVersion,
			Kind:        h.Kind,
			Label:       h.Label,
			RoleARN:     h.RoleARN,
			SessionName: h.SessionName,
			Credentials: c,
			ClockSkew:   skew,
			Request:     p.keyInputs()[i].Fields(p.sourceLabel(i)),
		}, nil
	}
	if r.Cache == nil {
		e, err := fetch(ctx)
		r.noteSkew(e.ClockSkew)
		return e.Credentials, err
	}
	window := r.RefreshWindow
	if r.Refresh && i == len(p.Hops)-1 {
		window = math.MaxInt64 // nothing is fresh enough: fetch anew
	}
	e, outcome, err := r.Cache.Fetch(ctx, keys[i], window, fetch)
	if err != nil {
		return creds.Credentials{}, err
	}
	r.trace("%s: %s", h.Label, outcome)
	r.noteSkew(e.ClockSkew)
	return e.Credentials, nil
}

// maxQuietSkew is how far this machine's clock may be from STS's before
// rolecall says so: the SDKs correct SigV4 signing from 5 minutes on.
const maxQuietSkew = 5 * time.Minute

// noteSkew warns, once a command, when STS's clock (measured when the
// credentials were fetched) is far from this machine's. Credentials are
// timed by STS's clock either way.
func (r *Runner) noteSkew(skew time.Duration) {
	if r.skewWarned || (skew <= maxQuietSkew && skew >= -maxQuietSkew) {
		return
	}
	r.skewWarned = true
	way := "behind"
	if skew < 0 {
		way, skew = "ahead of", -skew
	}
	r.warn(fmt.Sprintf("this machine's clock is %s %s STS's: credentials are timed by STS's clock, but set the clock right (NTP) for every other tool", skew.Round(time.Minute), way))
}

// call makes hop i's STS call with the credentials of the hop before it
// (zero for the first hop, which uses the plan's source).
func (r *Runner) call(ctx context.Context, p Plan, h Hop, i int, base creds.Credentials) (creds.Credentials, time.Duration, error) {
	if h.Kind == cache.KindSSORole {
		c, err := ssoRoleCredentials(ctx, p, r.STS.Env)
		return c, 0, err
	}
	code := h.TokenCode
	if h.MFASerial != "" && code == "" && h.Kind != cache.KindWebIdentity {
		if r.STS.Env.MFACode == nil {
			return creds.Credentials{}, 0, &NeedsPersonError{Serial: h.MFASerial}
		}
		var err error
		if code, err = r.STS.Env.MFACode(ctx, h.MFASerial); err != nil {
			return creds.Credentials{}, 0, err
		}
		if err := ValidateTokenCode(code); err != nil {
			return creds.Credentials{}, 0, err
		}
	}
	if code != "" {
		if r.usedCodes[h.MFASerial] == code {
			return creds.Credentials{}, 0, &InputError{Param: "MFA code", Msg: "was already used in this command; STS refuses a code twice: wait for the next code"}
		}
		if r.usedCodes == nil {
			r.usedCodes = map[string]string{}
		}
		r.usedCodes[h.MFASerial] = code
	}
	if i == 0 && p.Source.Kind == awsconfig.SourceKeychain {
		// Read the key here, under the call's context, rather than from
		// inside the SDK's credential cache, whose own error on a timeout
		// would hide the store's ("did not answer").
		c, err := keychainProvider{src: p.Source, env: r.STS.Env}.Retrieve(ctx)
		if err != nil {
			return creds.Credentials{}, 0, &SourceError{Source: p.Source, Err: err}
		}
		p.Source.StaticKeys = &creds.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	}
	client, err := r.STS.client(p, i, base, code != "")
	if err != nil {
		return creds.Credentials{}, 0, err
	}
	var c creds.Credentials
	switch h.Kind {
	case cache.KindSessionToken:
		c, err = r.STS.getSessionToken(ctx, client, h, code)
	case cache.KindWebIdentity:
		r.trace("web identity token from %s", p.WebIdentity.Origin)
		c, err = r.STS.assumeRoleWithWebIdentity(ctx, client, h, p.WebIdentity.Token)
	case cache.KindFederationToken:
		c, err = r.STS.getFederationToken(ctx, client, h)
	default:
		c, err = r.STS.assumeRole(ctx, client, h, code)
	}
	return c, client.skew, err
}

// clampChained caps the duration of chained hops at STS's one hour,
// with a warning, instead of letting STS refuse the call.
func (r *Runner) clampChained(p Plan) Plan {
	hops := append([]Hop(nil), p.Hops...)
	for i := range hops {
		if p.chained(i) && hops[i].Duration > MaxChainedDuration {
			r.warn(fmt.Sprintf("%s is assumed by role chaining, which STS limits to 1h: using 1h instead of %s", hops[i].Label, hops[i].Duration))
			hops[i].Duration = MaxChainedDuration
		}
	}
	p.Hops = hops
	return p
}

func (r *Runner) trace(format string, args ...any) { r.STS.Env.trace(format, args...) }

func (r *Runner) warn(msg string) { r.STS.Env.warn("%s", msg) }

// NeedsPersonError is returned when an MFA code is needed and nobody can be
// asked: no terminal, --no-prompt, or CI.
type NeedsPersonError struct {
	Serial string
	// Reason says why nobody could be asked ("CI", "--no-prompt"), or ""
	// when there is no terminal.
	Reason string
}

func (e *NeedsPersonError) Error() string {
	return fmt.Sprintf("an MFA code for %s is needed and there is no one to ask", e.Serial)
}
