// Package keys is `rolecall keys`: storing an IAM user's long-term access
// key in a secret store (add, moving it out of ~/.aws/credentials), listing
// and removing stored keys, and rotating them with IAM. Credentials are
// reached only through pkg/assume; the secret never leaves the process.
// docs/keys.md is the user's side of it.
package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/keyring"
)

// AddRequest is `rolecall keys add`.
type AddRequest struct {
	// Request carries the profile name and the flags that say where STS
	// is (region, endpoint, CA bundle) and --timeout.
	Request assume.Request
	// AccessKeyID and SecretAccessKey are what the person typed or piped;
	// empty with FromCredentialsFile.
	AccessKeyID, SecretAccessKey string
	// FromCredentialsFile moves the profile's keys out of the shared
	// credentials file.
	FromCredentialsFile bool
	// Backend is the store to use; "" for ROLECALL_KEYRING_BACKEND, else
	// the OS's.
	Backend string
	// GOOS picks the OS's store.
	GOOS string
}

// AddResult is what Add did.
type AddResult struct {
	Identity    assume.Identity
	AccessKeyID string
	Backend     string
	// Moved is set when the keys left the credentials file.
	Moved bool
}

// ErrorHint is an error with what to do about it; the CLI maps Code.
type ErrorHint struct {
	Err  error
	Hint string
	// Usage marks bad input (exit 2); otherwise it is the configuration
	// or the store (exit 3).
	Usage bool
}

func (e *ErrorHint) Error() string { return e.Err.Error() }
func (e *ErrorHint) Unwrap() error { return e.Err }

func usage(hint, format string, args ...any) error {
	return &ErrorHint{Err: fmt.Errorf(format, args...), Hint: hint, Usage: true}
}

func config(hint, format string, args ...any) error {
	return &ErrorHint{Err: fmt.Errorf(format, args...), Hint: hint}
}

// pickBackend is the flag, else the environment, else the OS's store.
func pickBackend(flag, goos string, env assume.Env) string {
	if flag != "" {
		return flag
	}
	if b := env.Getenv(keyring.BackendEnv); b != "" {
		return b
	}
	return keyring.DefaultBackend(goos)
}

// ProcessCommand is the credential_process Add writes for other tools.
func ProcessCommand(profile string) string { return "rolecall process --profile " + profile }

// Add stores a profile's key: checked with one GetCallerIdentity, written
// to the store, read back from it, then named in the config file; with
// FromCredentialsFile, removed from the credentials file last, so that a
// failure at any step loses nothing.
func Add(ctx context.Context, r AddRequest, env assume.Env) (AddResult, error) {
	name := r.Request.Profile
	if err := awsconfig.ValidateProfileName(name); err != nil {
		return AddResult{}, usage("name the profile as in ~/.aws/config", "%v", err)
	}
	files := awsconfig.DefaultFiles(env.Getenv, env.HomeDir)
	cfg, err := awsconfig.Load(files)
	if err != nil {
		return AddResult{}, config("fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere", "%v", err)
	}
	var prof awsconfig.Profile
	if cfg.HasProfile(name) {
		if prof, err = cfg.Profile(name); err != nil {
			return AddResult{}, config("fix the profile in the AWS config file", "%v", err)
		}
	}
	keys := creds.Credentials{AccessKeyID: r.AccessKeyID, SecretAccessKey: r.SecretAccessKey}
	if r.FromCredentialsFile {
		k := prof.StaticKeys
		switch {
		case k == nil:
			return AddResult{}, config("run rolecall keys add "+name+" without --from-credentials-file to type the keys",
				"profile %q has no aws_access_key_id in %s", name, files.Credentials)
		case !strings.HasPrefix(prof.KeyWhere("aws_access_key_id"), files.Credentials+" "):
			return AddResult{}, config("move the keys by hand, or type them: rolecall keys add "+name,
				"profile %q has its keys in %s, not in the credentials file", name, prof.KeyWhere("aws_access_key_id"))
		case k.SessionToken != "":
			return AddResult{}, config("only an IAM user's long-term keys belong in a keychain",
				"profile %q has an aws_session_token: its keys are temporary", name)
		}
		keys = *k
	}
	if err := keyring.CheckKeys(keys.AccessKeyID, keys.SecretAccessKey); err != nil {
		if r.FromCredentialsFile {
			return AddResult{}, config("fix the keys in "+files.Credentials, "profile %q: %v", name, err)
		}
		return AddResult{}, usage("paste the access key ID (AKIA…) and the secret access key IAM gave you", "%v", err)
	}
	id, err := assume.KeyIdentity(ctx, keys, r.Request, env)
	if err != nil {
		return AddResult{}, err
	}
	backend := pickBackend(r.Backend, r.GOOS, env)
	kc := awsconfig.Keychain{Backend: backend, AccessKeyID: keys.AccessKeyID}
	if prof.Keychain != nil {
		kc.PassphraseCommand = prof.Keychain.PassphraseCommand
	}
	store, err := assume.OpenKeyring(kc, env)
	if err != nil {
		return AddResult{}, err
	}
	if old, err := store.Get(ctx, name); err == nil && old.Pending != nil {
		return AddResult{}, config("finish it first: rolecall keys rotate "+name, "profile %q has a key rotation that did not finish", name)
	} else if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		var invalid *keyring.InvalidItemError
		if !errors.As(err, &invalid) {
			return AddResult{}, err
		}
		// Not rolecall's: replaced below, as the person asked.
	}
	item := keyring.Item{AccessKeyID: keys.AccessKeyID, SecretAccessKey: keys.SecretAccessKey, Added: env.Now().UTC().Truncate(time.Second)}
	if err := store.Set(ctx, name, item); err != nil {
		return AddResult{}, err
	}
	back, err := store.Get(ctx, name)
	if err != nil {
		return AddResult{}, fmt.Errorf("read the key back from %s: %w", backend, err)
	}
	if back.AccessKeyID != keys.AccessKeyID || back.SecretAccessKey != keys.SecretAccessKey {
		return AddResult{}, config("check the keychain; nothing was removed from the credentials file", "%s gave back another key than the one stored", backend)
	}
	set := []awsconfig.KeyValue{{Key: awsconfig.KeyringBackendKey, Value: backend}, {Key: awsconfig.KeychainKeyIDKey, Value: keys.AccessKeyID}}
	if prof.CredentialProcess == "" {
		set = append(set, awsconfig.KeyValue{Key: "credential_process", Value: ProcessCommand(name)})
	}
	// Force: only rolecall's own keys change (credential_process is added
	// only where there is none).
	if err := awsconfig.WriteConfigProfile(ctx, files.Config, name, set, awsconfig.WriteOptions{Force: true, LockTimeout: r.Request.Timeout}); err != nil {
		return AddResult{}, err
	}
	res := AddResult{Identity: id, AccessKeyID: keys.AccessKeyID, Backend: backend}
	if r.FromCredentialsFile {
		if err := awsconfig.RemoveStaticKeys(ctx, files.Credentials, name, keys.AccessKeyID, awsconfig.WriteOptions{LockTimeout: r.Request.Timeout}); err != nil {
			return res, fmt.Errorf("the key is in %s, but removing it from %s failed: %w", backend, files.Credentials, err)
		}
		res.Moved = true
	}
	return res, nil
}

// Listed is one row of `rolecall keys list`.
type Listed struct {
	Profile     string    `json:"profile"`
	Backend     string    `json:"backend"`
	AccessKeyID string    `json:"access_key_id"` // all but the last 4 characters hidden
	Added       time.Time `json:"added,omitzero"`
	Rotated     time.Time `json:"rotated,omitzero"`
	// Pending names the stage of a rotation that did not finish.
	Pending string `json:"pending_rotation,omitempty"`
	// Problem says why the store could not be read for this profile.
	Problem string `json:"problem,omitempty"`
}

// List lists the profiles whose keys are in a store. The dates come from
// the store; a store that cannot be read is reported per profile.
func List(ctx context.Context, env assume.Env) ([]Listed, error) {
	files := awsconfig.DefaultFiles(env.Getenv, env.HomeDir)
	cfg, err := awsconfig.Load(files)
	if err != nil {
		return nil, config("fix the file, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere", "%v", err)
	}
	var out []Listed
	for _, name := range cfg.ProfileNames() {
		p, err := cfg.Profile(name)
		if err != nil || p.Keychain == nil {
			continue
		}
		row := Listed{Profile: name, Backend: p.Keychain.Backend, AccessKeyID: assume.MaskKeyID(p.Keychain.AccessKeyID)}
		store, err := assume.OpenKeyring(*p.Keychain, env)
		var item keyring.Item
		if err == nil {
			item, err = store.Get(ctx, name)
		}
		switch {
		case errors.Is(err, keyring.ErrNotFound):
			row.Problem = "not in " + p.Keychain.Backend
		case err != nil:
			row.Problem = err.Error()
		default:
			row.Added, row.Rotated = item.Added, item.Rotated
			if item.Pending != nil {
				row.Pending = item.Pending.Stage
			}
		}
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b Listed) int { return strings.Compare(a.Profile, b.Profile) })
	return out, nil
}

// Remove deletes a profile's key from its store, the cache entries made
// from it, and rolecall's keys from the profile (and the credential_process
// Add wrote).
func Remove(ctx context.Context, req assume.Request, env assume.Env) (removedEntries int, err error) {
	k, err := assume.ResolveKeychain(ctx, req, env)
	if err != nil {
		return 0, err
	}
	store, err := k.Store()
	if err != nil {
		return 0, err
	}
	if err := store.Delete(ctx, k.Name); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return 0, err
	}
	n, err := assume.ClearKeyEntries(k.Cache(), k.Keychain.AccessKeyID)
	if err != nil {
		warn(env, "clear the cache entries of %s: %v", assume.MaskKeyID(k.Keychain.AccessKeyID), err)
	}
	remove := []string{awsconfig.KeyringBackendKey, awsconfig.KeychainKeyIDKey}
	cfg, err := awsconfig.Load(k.Files)
	if err == nil {
		if p, err := cfg.Profile(k.Name); err == nil && p.CredentialProcess == ProcessCommand(k.Name) {
			remove = append(remove, "credential_process")
		}
	}
	return n, awsconfig.WriteConfigProfile(ctx, k.Files.Config, k.Name, nil, awsconfig.WriteOptions{Force: true, Remove: remove, LockTimeout: req.Timeout})
}

// warn reports through env.Warn, if any.
func warn(env assume.Env, format string, args ...any) {
	if env.Warn != nil {
		env.Warn(fmt.Sprintf(format, args...))
	}
}

// trace reports through env.Trace, if any.
func trace(env assume.Env, format string, args ...any) {
	if env.Trace != nil {
		env.Trace(format, args...)
	}
}
