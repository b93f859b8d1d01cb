package keyring

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	gokeyring "github.com/zalando/go-keyring"
)

// osStore is the OS keychain through github.com/zalando/go-keyring, which
// needs no cgo: it drives /usr/bin/security on macOS, calls wincred on
// Windows and speaks D-Bus to the Secret Service elsewhere (docs/keys.md
// says why it was chosen).
type osStore struct{ backend string }

func osBackend() string { return DefaultBackend(runtime.GOOS) }

func (s osStore) Backend() string { return s.backend }

func (s osStore) Get(ctx context.Context, profile string) (Item, error) {
	data, err := call(ctx, s.backend, func() (string, error) { return gokeyring.Get(Service, profile) })
	if err != nil {
		return Item{}, s.fail(err)
	}
	return decode(s.backend, profile, []byte(data))
}

func (s osStore) Set(ctx context.Context, profile string, item Item) error {
	data, err := encode(item)
	if err != nil {
		return err
	}
	_, err = call(ctx, s.backend, func() (struct{}, error) { return struct{}{}, gokeyring.Set(Service, profile, string(data)) })
	return s.fail(err)
}

func (s osStore) Delete(ctx context.Context, profile string) error {
	_, err := call(ctx, s.backend, func() (struct{}, error) { return struct{}{}, gokeyring.Delete(Service, profile) })
	return s.fail(err)
}

// fail maps go-keyring's errors: not found stays ErrNotFound; everything
// else (no bus, no Secret Service, a dismissed unlock prompt) means the
// store cannot be used.
func (s osStore) fail(err error) error {
	var ue *UnavailableError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gokeyring.ErrNotFound):
		return ErrNotFound
	case errors.As(err, &ue):
		return err
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return fmt.Errorf("keyring backend %s: %w", s.backend, err)
	}
	return &UnavailableError{Backend: s.backend, Err: err}
}
