// Package keyring keeps IAM users' long-term access keys in a secret store:
// the OS keychain (macOS Keychain, Windows Credential Manager, the Secret
// Service on Linux) or an encrypted file for machines without one.
//
// Item format: one item per profile, under the service name Service and
// the profile's name as the account, holding the JSON of an Item. The
// access key ID is also written to the profile in the AWS config file
// (awsconfig.KeychainKeyIDKey), so a cache hit can compute its key without
// opening the store; the secret lives only here.
//
// Every call takes a context and returns when it ends, even if the store
// does not answer (a D-Bus call to a Secret Service waiting on an unlock
// prompt): the call's goroutine is left to the process's exit.
package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Service is the service name rolecall's items are stored under.
const Service = "rolecall"

// Backend names.
const (
	BackendKeychain      = "keychain"       // macOS Keychain, through /usr/bin/security
	BackendWinCred       = "wincred"        // Windows Credential Manager
	BackendSecretService = "secret-service" // GNOME Keyring, KWallet, KeePassXC over D-Bus
	BackendFile          = "file"           // an age-encrypted file per profile
)

// BackendEnv names the backend `keys add` stores new keys in; the config
// key awsconfig.KeyringBackendKey of a profile names the one that holds
// its keys.
const BackendEnv = "ROLECALL_KEYRING_BACKEND"

// MaxItemBytes caps what is read from a store: an item is a few hundred
// bytes, and an entry someone else planted must not eat memory.
const MaxItemBytes = 16 << 10

// FormatVersion is the "rolecall" field of an Item rolecall writes.
const FormatVersion = 1

// Item is what rolecall stores for a profile.
type Item struct {
	// Rolecall is FormatVersion; an item without it was not written by
	// rolecall and is refused.
	Rolecall        int       `json:"rolecall"`
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	Added           time.Time `json:"added"`
	Rotated         time.Time `json:"rotated,omitzero"`
	// Pending is a rotation that has not finished (see docs/keys.md).
	Pending *Rotation `json:"pending,omitempty"`
}

// Rotation stages, in order.
const (
	// StageCreating: CreateAccessKey is about to be called; a key IAM made
	// after Started that rolecall does not hold is this rotation's orphan.
	StageCreating = "creating"
	// StageCreated: the new key is in Rotation; the item's own key is
	// still the one in use.
	StageCreated = "created"
	// StageSwitched: the item's own key is the new one; Rotation holds the
	// old key ID, still to be deleted from IAM.
	StageSwitched = "switched"
)

// Rotation is a half-done `keys rotate`.
type Rotation struct {
	Stage   string    `json:"stage"`
	Started time.Time `json:"started"`
	// AccessKeyID and SecretAccessKey are the new key (StageCreated) or,
	// for StageSwitched, the old key's ID alone.
	AccessKeyID     string `json:"access_key_id,omitempty"`
	SecretAccessKey string `json:"secret_access_key,omitempty"`
}

// Store is one secret store.
type Store interface {
	// Backend is the store's name, for messages and `keys list`.
	Backend() string
	// Get returns the profile's item; ErrNotFound when there is none.
	Get(ctx context.Context, profile string) (Item, error)
	// Set writes the profile's item, replacing any.
	Set(ctx context.Context, profile string, item Item) error
	// Delete removes the profile's item; ErrNotFound when there is none.
	Delete(ctx context.Context, profile string) error
}

// ErrNotFound is a profile without an item.
var ErrNotFound = errors.New("no item")

// UnavailableError is a store that cannot be used: no Secret Service on
// the bus, a locked keyring, no passphrase, a store that did not answer.
type UnavailableError struct {
	Backend string
	Err     error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("keyring backend %s: %v", e.Backend, e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Hint says how to get past it.
func (e *UnavailableError) Hint() string {
	switch e.Backend {
	case BackendSecretService:
		return "unlock the keyring (GNOME Keyring, KWallet) or start one; on a machine without one, pick the encrypted file: " + BackendEnv + "=file (see docs/keys.md)"
	case BackendFile:
		return "give the passphrase on a terminal, or name a command that prints it in the profile's " + "x_rolecall_keyring_passphrase_command or ROLECALL_KEYRING_PASSPHRASE_COMMAND"
	}
	return "unlock the keychain, or pick another backend with " + BackendEnv + " (secret-service, keychain, wincred, file)"
}

// InvalidItemError is an item rolecall cannot use: not written by it, or
// damaged.
type InvalidItemError struct {
	Backend, Profile, Why string
}

func (e *InvalidItemError) Error() string {
	return fmt.Sprintf("the %s item for profile %s (service %q) %s", e.Backend, e.Profile, Service, e.Why)
}

// encode is the item's stored form.
func encode(item Item) ([]byte, error) {
	item.Rolecall = FormatVersion
	if err := CheckKeys(item.AccessKeyID, item.SecretAccessKey); err != nil {
		return nil, err
	}
	return json.Marshal(item)
}

// decode parses and checks a stored item.
func decode(backend, profile string, data []byte) (Item, error) {
	bad := func(why string) (Item, error) {
		return Item{}, &InvalidItemError{Backend: backend, Profile: profile, Why: why}
	}
	if len(data) == 0 {
		return bad("is empty")
	}
	if len(data) > MaxItemBytes {
		return bad(fmt.Sprintf("is larger than %d KiB: not written by rolecall", MaxItemBytes>>10))
	}
	var item Item
	if err := json.Unmarshal(data, &item); err != nil || item.Rolecall == 0 {
		return bad("was not written by rolecall (no rolecall item format)")
	}
	if item.Rolecall != FormatVersion {
		return bad(fmt.Sprintf("has format %d, which this rolecall does not read", item.Rolecall))
	}
	if err := CheckKeys(item.AccessKeyID, item.SecretAccessKey); err != nil {
		return bad("holds no usable key: " + err.Error())
	}
	return item, nil
}

// CheckKeys checks the shape of an IAM user's access key: an ID of 16 to
// 128 letters and digits (IAM's AccessKeyId pattern [\w]+), not a temporary
// (ASIA) one, and a secret of 16 to 128 printable characters without
// spaces. It never quotes the secret.
func CheckKeys(id, secret string) error {
	if len(id) < 16 || len(id) > 128 || strings.IndexFunc(id, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9') && (r < 'a' || r > 'z')
	}) >= 0 {
		return errors.New("the access key ID is not 16 to 128 letters and digits")
	}
	if strings.HasPrefix(id, "ASIA") {
		return errors.New("the access key ID is a temporary one (ASIA…): store an IAM user's long-term key (AKIA…)")
	}
	if len(secret) == 0 {
		return errors.New("the secret access key is empty")
	}
	if len(secret) < 16 || len(secret) > 128 || strings.IndexFunc(secret, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return errors.New("the secret access key is not 16 to 128 printable characters")
	}
	return nil
}

// Options are what opening a store needs from the caller.
type Options struct {
	Getenv  func(string) string
	HomeDir string
	// Passphrase asks a person for the file backend's passphrase; nil when
	// nobody can be asked. confirm asks twice (a new file).
	Passphrase func(ctx context.Context, confirm bool) (string, error)
	// PassphraseCommand is the profile's x_rolecall_keyring_passphrase_command.
	PassphraseCommand string
}

// DefaultBackend is the OS's store: the Keychain on macOS, Credential
// Manager on Windows, the Secret Service elsewhere.
func DefaultBackend(goos string) string {
	switch goos {
	case "darwin":
		return BackendKeychain
	case "windows":
		return BackendWinCred
	}
	return BackendSecretService
}

// ValidBackend reports whether name is a backend rolecall knows.
func ValidBackend(name string) bool {
	switch name {
	case BackendKeychain, BackendWinCred, BackendSecretService, BackendFile:
		return true
	}
	return false
}

// Open returns the named store.
func Open(backend string, opt Options) (Store, error) {
	switch backend {
	case BackendFile:
		return newFileStore(opt)
	case BackendKeychain, BackendWinCred, BackendSecretService:
		if backend != osBackend() {
			return nil, &UnavailableError{Backend: backend, Err: fmt.Errorf("not available on this system (it has %s)", osBackend())}
		}
		return osStore{backend: backend}, nil
	}
	return nil, fmt.Errorf("unknown keyring backend %q: use secret-service, keychain, wincred or file", backend)
}

// call runs f and returns its result, or ctx's error as soon as ctx ends:
// a store that waits on a prompt nobody answers cannot hold rolecall past
// --timeout or Ctrl-C.
func call[T any](ctx context.Context, backend string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, &UnavailableError{Backend: backend, Err: fmt.Errorf("did not answer (is it locked, waiting for a prompt?): %w", context.Cause(ctx))}
	}
}
