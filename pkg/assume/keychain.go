package assume

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/keyring"
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
