package assume

import (
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
)

// StaleEnvKeysHint is what to do about keys in the environment that have
// expired: they are what the shell holds, so neither a cache clear nor a
// new sign-in helps. unassume is shell-init's function; the unset line
// works in any POSIX shell.
const StaleEnvKeysHint = "run unassume (rolecall shell-init), or: unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION"

// envKeys are the keys in the environment, nil when there are none.
func (r *resolver) envKeys() *creds.Credentials {
	getenv := r.env.Getenv
	id, secret := getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil
	}
	return &creds.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: getenv("AWS_SESSION_TOKEN")}
}

// checkEnvKeysFresh refuses, before any call, keys in the environment whose
// AWS_CREDENTIAL_EXPIRATION has passed: typically an earlier `eval
// "$(rolecall assume …)"` whose session ended, which STS would refuse
// with ExpiredToken and a hint that does not fit. An expiration that does
// not parse is left to STS to judge.
func (r *resolver) checkEnvKeysFresh(keys *creds.Credentials) error {
	v := r.env.Getenv("AWS_CREDENTIAL_EXPIRATION")
	if v == "" {
		return nil
	}
	exp, err := time.Parse(time.RFC3339, v)
	now := r.env.now()
	if err != nil || exp.After(now) {
		return nil
	}
	names := "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
	if keys.SessionToken != "" {
		names = "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
	}
	by := ""
	if r.exportedByRolecall(keys.AccessKeyID) {
		by = ", exported by an earlier rolecall assume"
	}
	return configErrorf(StaleEnvKeysHint, "the keys in the environment (%s%s) expired at %s, %s ago (AWS_CREDENTIAL_EXPIRATION)",
		names, by, exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second))
}

// exportedByRolecall reports whether the keys came from rolecall: a shell
// function of shell-init set ROLECALL_ROLE beside them, or the cache holds
// (or held, until it expired) credentials with this key ID. Only a failing
// command asks, so reading every entry costs a cache hit nothing.
func (r *resolver) exportedByRolecall(keyID string) bool {
	if r.env.Getenv("ROLECALL_ROLE") != "" {
		return true
	}
	dir := r.req.CacheDir
	if dir == "" {
		var err error
		if dir, err = cache.DefaultDir(r.env.Getenv); err != nil {
			return false
		}
	}
	store, err := cache.Open(dir, cache.Options{Now: r.env.Now})
	if err != nil {
		return false
	}
	entries, err := store.List()
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Credentials.AccessKeyID == keyID {
			return true
		}
	}
	return false
}

// envSource is the keys in the environment as the base, for a profile with
// credential_source = Environment (profile) or none ("").
func (r *resolver) envSource(profile string) (Source, error) {
	keys := r.envKeys()
	if keys == nil {
		return Source{}, configErrorf("export the keys, or change credential_source",
			"profile %q has credential_source = Environment but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set", profile)
	}
	if err := r.checkEnvKeysFresh(keys); err != nil {
		return Source{}, err
	}
	return staticSource(awsconfig.SourceEnvironment, "", keys), nil
}
