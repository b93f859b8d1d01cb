package assume

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/stshttp"
)

// This file is the keychain source: an IAM user's long-term key that
// rolecall keeps in a secret store (docs/keys.md). The profile names the
// store and the key's ID; the secret is read from the store only when a
// call must be signed with it, so a cache hit never opens the store. What
// rolecall hands out from such a profile is always temporary: a role's
// session, or, for a profile without a role, a GetSessionToken session
// (with MFA where mfa_serial is set), cached like the MFA session.

// OpenKeyring opens the store that holds a keychain profile's key.
func OpenKeyring(kc awsconfig.Keychain, env Env) (keyring.Store, error) {
	if !keyring.ValidBackend(kc.Backend) {
		return nil, configErrorf("set "+awsconfig.KeyringBackendKey+" to secret-service, keychain, wincred or file (rolecall keys add writes it)",
			"%s = %q names no keyring backend rolecall knows", awsconfig.KeyringBackendKey, kc.Backend)
	}
	return keyring.Open(kc.Backend, keyring.Options{
		Getenv:            env.Getenv,
		HomeDir:           env.HomeDir,
		Passphrase:        env.KeyringPassphrase,
		PassphraseCommand: kc.PassphraseCommand,
	})
}

// keychainProvider reads the key from the store when the SDK signs the
// first call.
type keychainProvider struct {
	src Source
	env Env
}

func (k keychainProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	kc := k.src.Settings.Keychain
	store, err := OpenKeyring(*kc, k.env)
	if err != nil {
		return aws.Credentials{}, err
	}
	k.env.trace("reading the key of profile %s from %s", k.src.Profile, store.Backend())
	item, err := store.Get(ctx, k.src.Profile)
	if errors.Is(err, keyring.ErrNotFound) {
		return aws.Credentials{}, fmt.Errorf("%s holds no key for it (service %q, account %q)", store.Backend(), keyring.Service, k.src.Profile)
	}
	if err != nil {
		return aws.Credentials{}, err
	}
	if item.AccessKeyID != kc.AccessKeyID {
		// A rotation stopped between the store and the config file: the
		// store is right; `rolecall keys rotate` finishes the edit.
		k.env.warn("profile %s names key %s but %s holds %s (a rotation did not finish): using the stored key; run rolecall keys rotate %s to finish it",
			k.src.Profile, MaskKeyID(kc.AccessKeyID), store.Backend(), MaskKeyID(item.AccessKeyID), k.src.Profile)
	}
	return aws.Credentials{AccessKeyID: item.AccessKeyID, SecretAccessKey: item.SecretAccessKey, Source: "rolecall " + store.Backend()}, nil
}

// MaskKeyID hides all but the last 4 characters of an access key ID.
func MaskKeyID(id string) string {
	if len(id) <= 4 {
		return id
	}
	b := make([]byte, len(id))
	for i := range b {
		b[i] = '*'
	}
	copy(b[len(id)-4:], id[len(id)-4:])
	return string(b)
}

// keychainSessionHop is the hop a keychain profile without a role gets:
// its long-term key never leaves rolecall, so it hands out a session.
func (r *resolver) keychainSessionHop(p Plan) Hop {
	serial := r.opts.mfaSerial
	if serial == "" && p.Source.Settings != nil {
		serial = p.Source.Settings.MFASerial
	}
	h := Hop{Kind: cache.KindSessionToken, Label: "session " + p.Source.Profile, Duration: r.req.MFASessionTTL}
	if serial != "" {
		h.Label, h.MFASerial, h.TokenCode = "mfa-session "+serial, serial, r.opts.mfaCode
	}
	return h
}

// KeyIdentity calls GetCallerIdentity signed with an IAM user's keys, sent
// where req's flags, the environment and, when req names one, the profile
// send STS calls: how `rolecall keys` checks a key before storing it and
// waits for a new key to work. The keys stay in this process.
func KeyIdentity(ctx context.Context, keys creds.Credentials, req Request, env Env) (Identity, error) {
	r := &resolver{req: req, env: env}
	p := Plan{Source: staticSource(awsconfig.SourceStatic, "", &keys)}
	var profiles []awsconfig.Profile
	if req.Profile != "" {
		if cfg, err := r.config(); err == nil {
			if prof, err := cfg.Profile(req.Profile); err == nil {
				profiles = append(profiles, prof)
			}
		}
	}
	if err := r.placeCalls(&p, profiles); err != nil {
		return Identity{}, err
	}
	if env.HTTPClient == nil {
		env.HTTPClient = &lazyHTTPClient{options: stshttp.Options{CABundle: p.CABundle, Getenv: env.Getenv}}
	}
	s := &STS{Env: env}
	client, err := s.client(p, 0, creds.Credentials{}, false)
	if err != nil {
		return Identity{}, err
	}
	return s.CallerIdentity(ctx, client)
}

// KeychainProfile is a profile whose own keys are in a secret store,
// resolved for `rolecall keys`.
type KeychainProfile struct {
	Name      string
	Keychain  awsconfig.Keychain
	MFASerial string
	// Files are the AWS files the profile was read from.
	Files    awsconfig.Files
	prepared *Prepared
}

// ResolveKeychain resolves req.Profile, which must keep its own keys in a
// secret store (not reach them through source_profile).
func ResolveKeychain(ctx context.Context, req Request, env Env) (*KeychainProfile, error) {
	req.SourceOnly = true
	req.Roles = nil
	p, err := Prepare(ctx, req, env)
	if err != nil {
		return nil, err
	}
	src := p.plan.Source
	if src.Kind != awsconfig.SourceKeychain || src.Profile != req.Profile || src.Settings == nil || src.Settings.Keychain == nil {
		return nil, configErrorf("store the profile's keys first: rolecall keys add "+req.Profile,
			"profile %q keeps no keys of its own in a keychain", req.Profile)
	}
	files := awsconfig.DefaultFiles(env.Getenv, env.HomeDir)
	return &KeychainProfile{Name: req.Profile, Keychain: *src.Settings.Keychain, MFASerial: firstNonEmpty(req.MFASerial, src.Settings.MFASerial), Files: files, prepared: p}, nil
}

// Store opens the profile's secret store.
func (k *KeychainProfile) Store() (keyring.Store, error) {
	return OpenKeyring(k.Keychain, k.prepared.env)
}

// Cache is the credential cache of the request, nil without one.
func (k *KeychainProfile) Cache() *cache.Store { return k.prepared.Cache() }

// MFASession returns the profile's MFA session (GetSessionToken with the
// code of its mfa_serial), from the cache or STS: what IAM calls must be
// signed with when the user has MFA, since IAM refuses a session without
// it. It is the session `rolecall assume --profile` hands out, through the
// same plan and cache entry.
func (k *KeychainProfile) MFASession(ctx context.Context) (creds.Credentials, error) {
	if k.MFASerial == "" {
		return creds.Credentials{}, errors.New("profile has no mfa_serial")
	}
	plan := k.prepared.plan
	r := &resolver{req: k.prepared.req, env: k.prepared.env, opts: sessionOptions{mfaSerial: k.MFASerial, mfaCode: k.prepared.req.MFACode}}
	plan.Hops = []Hop{r.keychainSessionHop(plan)}
	res, err := obtainWith(ctx, k.prepared.req, plan, k.prepared.env, k.Cache())
	return res.Credentials, err
}

// ClearKeyEntries removes the cache entries made from an access key: the
// first hops signed with it and every hop made from those.
func ClearKeyEntries(store *cache.Store, accessKeyID string) (int, error) {
	if store == nil {
		return 0, nil
	}
	entries, err := store.List()
	if err != nil {
		return 0, err
	}
	sources := map[string]bool{"keys:" + accessKeyID: true}
	doomed := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for _, e := range entries {
			if e.Request != nil && sources[e.Request.SourceID] && !doomed[e.Key] {
				doomed[e.Key], sources["cache:"+e.Key], changed = true, true, true
			}
		}
	}
	if len(doomed) == 0 {
		return 0, nil
	}
	return store.Remove(func(e cache.Entry) bool { return doomed[e.Key] })
}
