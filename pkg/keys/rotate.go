package keys

// Rotation: CreateAccessKey, wait until STS takes the new key, store it,
// clear the cache entries of the old key, DeleteAccessKey the old one.
//
// Recovery: before each step that changes something outside the store,
// the store's item records how far the rotation got (keyring.Rotation), so
// that a rotation killed at any point leaves a working key in the store,
// and a second `keys rotate` finishes it or undoes it:
//
//	stage      the item's key   the pending record   a rerun
//	creating   old              time started         deletes any key IAM made for the user since then (it was never stored), starts again
//	created    old              the new key          waits for the new key (or, if IAM no longer has it, drops it) and goes on
//	switched   new              the old key's ID     writes the config, clears the old key's cache entries, deletes it in IAM
//
// The old key works until DeleteAccessKey, the last step; the new one is
// the item's key only once STS has taken it.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/smithy-go"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/safefile"
)

// testHookStep, when set (by the end-to-end tests' binary, go:linkname),
// is called after each step of a rotation is recorded, so a test can kill
// rolecall exactly there.
var testHookStep func(step string)

func step(name string) {
	if testHookStep != nil {
		testHookStep(name)
	}
}

// TwoKeysError is a user who already has IAM's two access keys.
type TwoKeysError struct {
	User string
	Keys []string
	Held string // the one in the store
}

func (e *TwoKeysError) Error() string {
	return fmt.Sprintf("IAM user %s already has two access keys (%s), IAM's limit: there is no room for a new one", e.User, strings.Join(e.Keys, " and "))
}

// Hint names the key to delete.
func (e *TwoKeysError) Hint() string {
	for _, k := range e.Keys {
		if k != e.Held {
			return "delete the key rolecall does not hold, if nothing uses it: aws iam delete-access-key --access-key-id " + k
		}
	}
	return "delete one of them with aws iam delete-access-key"
}

// RotateResult is what Rotate did.
type RotateResult struct {
	OldKeyID, NewKeyID string
	// Resumed names the stage a previous rotation stopped at, if any.
	Resumed string
	// ClearedEntries counts the old key's cache entries removed.
	ClearedEntries int
}

// Rotate rotates the key of req.Profile (see the file comment). It waits
// for STS to take the new key within ctx; the CLI bounds ctx by --timeout.
func Rotate(ctx context.Context, req assume.Request, env assume.Env) (RotateResult, error) {
	k, err := assume.ResolveKeychain(ctx, req, env)
	if err != nil {
		return RotateResult{}, err
	}
	store, err := k.Store()
	if err != nil {
		return RotateResult{}, err
	}
	// One rotation at a time: a second would make a third key, or delete
	// the one the first is switching to. The lock sits beside the config
	// file's own, and is taken like it (safefile).
	lock, err := safefile.Acquire(ctx, k.Files.Config+".rotate.lock", req.Timeout)
	if err != nil {
		return RotateResult{}, fmt.Errorf("wait for another rolecall keys rotate: %w", err)
	}
	defer lock.Release()
	item, err := store.Get(ctx, k.Name)
	if errors.Is(err, keyring.ErrNotFound) {
		return RotateResult{}, config("store it again: rolecall keys add "+k.Name, "%s holds no key for profile %s", store.Backend(), k.Name)
	}
	if err != nil {
		return RotateResult{}, err
	}
	ro := &rotation{k: k, store: store, item: item, req: req, env: env}
	return ro.run(ctx)
}

type rotation struct {
	k     *assume.KeychainProfile
	store keyring.Store
	item  keyring.Item
	req   assume.Request
	env   assume.Env
	res   RotateResult
	mfa   *creds.Credentials // the MFA session IAM calls are signed with
}

func (ro *rotation) now() time.Time { return ro.env.Now().UTC().Truncate(time.Second) }

func (ro *rotation) save(ctx context.Context, stage string) error {
	if err := ro.store.Set(ctx, ro.k.Name, ro.item); err != nil {
		return fmt.Errorf("record the rotation (%s) in %s: %w", stage, ro.store.Backend(), err)
	}
	step(stage)
	return nil
}

func (ro *rotation) run(ctx context.Context) (RotateResult, error) {
	ro.res.OldKeyID = ro.item.AccessKeyID
	if p := ro.item.Pending; p != nil {
		ro.res.Resumed = p.Stage
		switch p.Stage {
		case keyring.StageSwitched:
			ro.res.OldKeyID, ro.res.NewKeyID = p.AccessKeyID, ro.item.AccessKeyID
			return ro.finish(ctx, p.AccessKeyID)
		case keyring.StageCreated:
			return ro.resumeCreated(ctx, p)
		case keyring.StageCreating:
			if err := ro.deleteOrphans(ctx, p.Started); err != nil {
				return ro.res, err
			}
			ro.item.Pending = nil
			if err := ro.save(ctx, "undone"); err != nil {
				return ro.res, err
			}
		default:
			return ro.res, config("store the key again: rolecall keys add "+ro.k.Name, "the item of profile %s records an unknown rotation stage %q", ro.k.Name, p.Stage)
		}
	}
	client, err := ro.iam(ctx, ro.item.AccessKeyID, ro.item.SecretAccessKey)
	if err != nil {
		return ro.res, err
	}
	list, err := client.ListAccessKeys(ctx)
	if err != nil {
		return ro.res, iamFail("ListAccessKeys", err)
	}
	if len(list) >= 2 {
		e := &TwoKeysError{User: list[0].UserName, Held: ro.item.AccessKeyID}
		for _, m := range list {
			e.Keys = append(e.Keys, m.AccessKeyID)
		}
		return ro.res, e
	}
	ro.item.Pending = &keyring.Rotation{Stage: keyring.StageCreating, Started: ro.now()}
	if err := ro.save(ctx, keyring.StageCreating); err != nil {
		return ro.res, err
	}
	newKey, err := client.CreateAccessKey(ctx)
	if err != nil {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			// IAM answered: it made no key.
			ro.item.Pending = nil
			_ = ro.store.Set(ctx, ro.k.Name, ro.item)
		}
		return ro.res, iamFail("CreateAccessKey", err)
	}
	step("iam-created")
	ro.item.Pending = &keyring.Rotation{Stage: keyring.StageCreated, Started: ro.item.Pending.Started,
		AccessKeyID: newKey.AccessKeyID, SecretAccessKey: newKey.SecretAccessKey}
	if err := keyring.CheckKeys(ro.item.Pending.AccessKeyID, ro.item.Pending.SecretAccessKey); err != nil {
		return ro.res, fmt.Errorf("IAM's new key is unusable: %w", err)
	}
	if err := ro.save(ctx, keyring.StageCreated); err != nil {
		// Not stored: the key must not outlive this run.
		_ = client.DeleteAccessKey(context.WithoutCancel(ctx), newKey.AccessKeyID)
		return ro.res, err
	}
	return ro.resumeCreated(ctx, ro.item.Pending)
}

// resumeCreated waits for the new key, then switches to it.
func (ro *rotation) resumeCreated(ctx context.Context, p *keyring.Rotation) (RotateResult, error) {
	old := ro.item.AccessKeyID
	ro.res.OldKeyID, ro.res.NewKeyID = old, p.AccessKeyID
	if err := ro.waitForKey(ctx, creds.Credentials{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey}); err != nil {
		if ro.res.Resumed == keyring.StageCreated && ro.gone(ctx, p.AccessKeyID) {
			// IAM no longer has it (deleted by hand): undo.
			ro.item.Pending = nil
			if err := ro.save(ctx, "undone"); err != nil {
				return ro.res, err
			}
			return ro.res, config("run rolecall keys rotate "+ro.k.Name+" again to make a new key",
				"the new key %s of the unfinished rotation no longer exists in IAM: the rotation was undone, the old key is kept", p.AccessKeyID)
		}
		return ro.res, err
	}
	ro.item = keyring.Item{AccessKeyID: p.AccessKeyID, SecretAccessKey: p.SecretAccessKey, Added: ro.item.Added, Rotated: ro.now(),
		Pending: &keyring.Rotation{Stage: keyring.StageSwitched, Started: p.Started, AccessKeyID: old}}
	if err := ro.save(ctx, keyring.StageSwitched); err != nil {
		return ro.res, err
	}
	return ro.finish(ctx, old)
}

// finish names the new key in the config, clears the old key's cache
// entries and deletes it in IAM.
func (ro *rotation) finish(ctx context.Context, old string) (RotateResult, error) {
	if ro.k.Keychain.AccessKeyID != ro.item.AccessKeyID {
		if err := awsconfig.WriteConfigProfile(ctx, ro.k.Files.Config, ro.k.Name,
			[]awsconfig.KeyValue{{Key: awsconfig.KeychainKeyIDKey, Value: ro.item.AccessKeyID}},
			awsconfig.WriteOptions{Force: true, LockTimeout: ro.req.Timeout}); err != nil {
			return ro.res, err
		}
	}
	step("config")
	n, err := assume.ClearKeyEntries(ro.k.Cache(), old)
	if err != nil {
		return ro.res, fmt.Errorf("clear the cache entries of the old key: %w", err)
	}
	ro.res.ClearedEntries = n
	step("cache")
	client, err := ro.iam(ctx, ro.item.AccessKeyID, ro.item.SecretAccessKey)
	if err != nil {
		return ro.res, err
	}
	if err := client.DeleteAccessKey(ctx, old); err != nil && !isCode(err, "NoSuchEntity") {
		return ro.res, iamFail("DeleteAccessKey", err)
	}
	step("deleted")
	ro.item.Pending = nil
	if err := ro.save(ctx, "done"); err != nil {
		return ro.res, err
	}
	return ro.res, nil
}

// deleteOrphans deletes the keys IAM made for the user since a rotation
// began that the store does not hold: a CreateAccessKey whose answer was
// never stored.
func (ro *rotation) deleteOrphans(ctx context.Context, since time.Time) error {
	client, err := ro.iam(ctx, ro.item.AccessKeyID, ro.item.SecretAccessKey)
	if err != nil {
		return err
	}
	list, err := client.ListAccessKeys(ctx)
	if err != nil {
		return iamFail("ListAccessKeys", err)
	}
	for _, m := range list {
		id := m.AccessKeyID
		if id == ro.item.AccessKeyID || m.CreateDate.Before(since.Add(-time.Minute)) {
			continue
		}
		warn(ro.env, "deleting %s: IAM made it for the rotation that stopped, and no one holds its secret", id)
		if err := client.DeleteAccessKey(ctx, id); err != nil && !isCode(err, "NoSuchEntity") {
			return iamFail("DeleteAccessKey", err)
		}
	}
	return nil
}

// gone reports whether IAM says the user has no key id.
func (ro *rotation) gone(ctx context.Context, id string) bool {
	client, err := ro.iam(ctx, ro.item.AccessKeyID, ro.item.SecretAccessKey)
	if err != nil {
		return false
	}
	list, err := client.ListAccessKeys(context.WithoutCancel(ctx))
	if err != nil {
		return false
	}
	for _, m := range list {
		if m.AccessKeyID == id {
			return false
		}
	}
	return true
}

// waitForKey calls GetCallerIdentity with the new key until STS takes it
// (IAM is eventually consistent), backing off, for as long as ctx allows.
func (ro *rotation) waitForKey(ctx context.Context, key creds.Credentials) error {
	backoff := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := assume.KeyIdentity(ctx, key, ro.req, ro.env)
		if err == nil {
			return nil
		}
		if !isCode(err, "InvalidClientTokenId") {
			return err
		}
		trace(ro.env, "the new key is not yet accepted by STS (attempt %d)", attempt)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("STS did not accept the new key %s in time (run rolecall keys rotate %s again to keep waiting): %w", key.AccessKeyID, ro.k.Name, context.Cause(ctx))
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// iam is an IAM client signed as the user: with the profile's MFA
// session when it has mfa_serial (IAM refuses a session without MFA), else
// with the long-term key itself, which then never leaves this process.
func (ro *rotation) iam(ctx context.Context, keyID, secret string) (*IAMClient, error) {
	c := creds.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if ro.k.MFASerial != "" {
		if ro.mfa == nil {
			s, err := ro.k.MFASession(ctx)
			if err != nil {
				return nil, err
			}
			ro.mfa = &s
		}
		c = *ro.mfa
	}
	return NewIAMClient(c, ro.env)
}

// IAMError is IAM refusing or failing a call.
type IAMError struct {
	Action string
	Err    error
}

func (e *IAMError) Error() string { return "IAM " + e.Action + ": " + e.Err.Error() }
func (e *IAMError) Unwrap() error { return e.Err }

func iamFail(action string, err error) error { return &IAMError{Action: action, Err: err} }

func isCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}
