package awsconfig

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// TestWriteStopsWaitingForTheLock: another writer holds FILE.lock. A write
// must give up when its lock timeout passes or its context is cancelled
// (Ctrl-C), say which lock it waited for, and never write, not even once
// the lock frees.
func TestWriteStopsWaitingForTheLock(t *testing.T) {
	const before = "[keep]\nk = v\n"
	writes := map[string]func(ctx context.Context, path string, opt WriteOptions) error{
		"credentials": func(ctx context.Context, path string, opt WriteOptions) error {
			return WriteCredentialsSection(ctx, path, "work", testCreds("ASIANEW"), opt)
		},
		"config": func(ctx context.Context, path string, opt WriteOptions) error {
			return WriteConfigProfile(ctx, path, "rc", []KeyValue{{"region", "us-east-1"}}, opt)
		},
	}
	tests := []struct {
		name        string
		ctx         func(t *testing.T) context.Context
		opt         WriteOptions
		wantTimeout bool
		wantIs      error
	}{
		{"lock timeout", func(t *testing.T) context.Context { return t.Context() },
			WriteOptions{LockTimeout: 50 * time.Millisecond}, true, context.DeadlineExceeded},
		{"context deadline", func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, WriteOptions{LockTimeout: time.Hour}, true, context.DeadlineExceeded},
		{"cancelled while waiting", func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			time.AfterFunc(50*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return ctx
		}, WriteOptions{LockTimeout: time.Hour}, false, safefile.ErrLockWaitCanceled},
	}
	for file, write := range writes {
		for _, tt := range tests {
			t.Run(file+"/"+tt.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), file)
				writeFile(t, path, before)
				other := flock.New(path + ".lock")
				if err := other.Lock(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = other.Unlock() })

				start := time.Now()
				err := write(tt.ctx(t), path, tt.opt)
				var timeout *safefile.LockTimeoutError
				if errors.As(err, &timeout) != tt.wantTimeout || !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), path+".lock") {
					t.Fatalf("err = %v, want timeout=%v wrapping %v, naming %s.lock", err, tt.wantTimeout, tt.wantIs, path)
				}
				if d := time.Since(start); d > 30*time.Second { // generous; the alternative is an hour
					t.Errorf("hung: the write waited %s", d)
				}
				if err := other.Unlock(); err != nil {
					t.Fatal(err)
				}
				if got := readFile(t, path); got != before {
					t.Errorf("the file changed although the write gave up: %q", got)
				}
			})
		}
	}
}
