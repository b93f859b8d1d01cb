package eks

import (
	"context"
	"math"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
)

// TokenRefreshWindow is how much of a cached token's life must be left for
// it to be handed out again: kubectl uses a token until its
// expirationTimestamp, and a minute covers a command started just before.
const TokenRefreshWindow = time.Minute

// Get returns a token for cluster signed with the credentials req names.
//
// The token is cached like credentials, in the same store, under the same
// lock protocol (cache.Store.Fetch): keyed by the cluster, the region and
// endpoint, and the identity of the credentials that sign it (their cache
// key, assume.Prepared.CredentialsKey), and handed out while more than
// TokenRefreshWindow of its life is left. On a hit nothing but the request
// is resolved: no credentials are read and nothing is signed. On a miss,
// under the token's lock, the credentials come from assume (their own cache
// first, STS second) and the token is signed once; concurrent callers wait
// for the lock and find it. With req.Refresh both the credentials and the
// token are made anew; with req.NoCache neither is cached.
func Get(ctx context.Context, cluster string, req assume.Request, env assume.Env) (Token, error) {
	if err := ValidateCluster(cluster); err != nil {
		return Token{}, err
	}
	prep, err := assume.Prepare(ctx, req, env)
	if err != nil {
		return Token{}, err
	}
	plan := prep.Plan()
	sign := func(ctx context.Context) (cache.Entry, error) {
		res, err := prep.Obtain(ctx)
		if err != nil {
			return cache.Entry{}, err
		}
		tok, err := Presign(ctx, SignRequest{
			Cluster:     cluster,
			Region:      plan.Region,
			Endpoint:    plan.Endpoint,
			Credentials: res.Credentials,
			Now:         env.Now(),
		})
		if err != nil {
			return cache.Entry{}, err
		}
		return cache.Entry{
			Kind:        cache.KindEKSToken,
			Label:       label(plan),
			RoleARN:     roleARN(plan),
			Cluster:     cluster,
			Token:       tok.Value,
			Credentials: creds.Credentials{Expiration: tok.Expiration},
			CreatedAt:   tok.SignedAt,
		}, nil
	}
	store := prep.Cache()
	if store == nil {
		e, err := sign(ctx)
		return tokenOf(e), err
	}
	window := TokenRefreshWindow
	if req.Refresh {
		window = math.MaxInt64 // nothing is fresh enough: sign anew
	}
	key := cache.KeyInput{
		Kind:        cache.KindEKSToken,
		Source:      "credentials:" + prep.CredentialsKey(),
		SessionName: cluster,
		Region:      plan.Region,
		Endpoint:    plan.Endpoint,
	}.Key()
	e, outcome, err := store.Fetch(ctx, key, window, sign)
	if err != nil {
		return Token{}, err
	}
	if env.Trace != nil {
		env.Trace("eks token for %s: %s", cluster, outcome)
	}
	return tokenOf(e), nil
}

func tokenOf(e cache.Entry) Token {
	return Token{Value: e.Token, Expiration: e.Credentials.Expiration, SignedAt: e.CreatedAt}
}

// label names the signer in `rolecall cache list`: the role asked for, or
// the source's profile.
func label(p assume.Plan) string {
	if t := p.Target(); t != "" {
		return t
	}
	return "(" + string(p.Source.Kind) + " credentials)"
}

func roleARN(p assume.Plan) string {
	if len(p.Hops) == 0 {
		return ""
	}
	return p.Hops[len(p.Hops)-1].RoleARN
}
