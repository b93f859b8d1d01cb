//go:build unix

package cache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Kinds of thing FuzzEntryFile puts at an entry's path.
const (
	fuzzRegular = iota
	fuzzSymlink // to a regular file holding the bytes
	fuzzFIFO
	fuzzDir
	fuzzDangling
	fuzzKinds
)

// FuzzEntryFile puts arbitrary bytes, with an arbitrary mode, in an
// arbitrary kind of file (regular, symlink, FIFO, directory, dangling link)
// at an entry's path, as corruption or another process could. Lookup,
// List, Fetch and Remove must never hang (an open of a FIFO would) or
// panic; Lookup and List may use the file only if it is a private regular
// file holding a valid, plausible entry for that key (and must then); Fetch
// must leave a private regular file holding what it returned (a directory,
// which no rename replaces, excepted), and Remove(all) nothing at all. The
// seeds run with every go test; scripts/fuzz.sh runs it.
func FuzzEntryFile(f *testing.F) {
	key := testKey("app")
	valid := encoded(f, testEntry("seed", time.Hour), key)
	for kind := range fuzzKinds {
		f.Add(valid, uint16(0o600), uint8(kind))
	}
	f.Add(valid, uint16(0o644), uint8(fuzzRegular))
	f.Add(valid, uint16(0o400), uint8(fuzzRegular))
	f.Add(valid[:len(valid)/2], uint16(0o600), uint8(fuzzRegular))
	f.Add([]byte("{}"), uint16(0o600), uint8(fuzzSymlink))
	f.Fuzz(func(t *testing.T, data []byte, mode uint16, kind uint8) {
		perm := fs.FileMode(mode) & fs.ModePerm
		kind %= fuzzKinds
		dir := cacheDir(t)
		s, _ := openStore(t, dir, Options{LockTimeout: time.Second})
		path := filepath.Join(dir, key+entrySuffix)
		plantEntry(t, path, data, perm, kind)

		want, wantErr := decodeEntry(data)
		usable := kind == fuzzRegular && len(data) <= maxEntrySize && wantErr == nil && want.Key == key &&
			want.plausibleAt(testNow) && perm&0o077 == 0 && (perm&0o400 != 0 || os.Getuid() == 0)

		within(t, "Lookup", func() {
			e, hit := s.Lookup(key, 0)
			if hit != (usable && want.freshAt(testNow, 0)) {
				t.Errorf("Lookup hit = %v for a %d file, mode %v, usable=%v", hit, kind, perm, usable)
			}
			if hit && e.Credentials != want.Credentials {
				t.Errorf("Lookup returned other credentials than the file holds")
			}
		})
		within(t, "List", func() {
			entries, err := s.List()
			if err != nil || len(entries) != map[bool]int{true: 1}[usable] {
				t.Errorf("List = %d entries, %v; usable=%v", len(entries), err, usable)
			}
		})
		within(t, "Fetch", func() {
			c := newCounter()
			e, out, err := s.Fetch(context.Background(), key, DefaultRefreshWindow, c.fetch)
			if err != nil || e.Credentials.AccessKeyID == "" {
				t.Errorf("Fetch = %v, %v", out, err)
				return
			}
			if kind == fuzzDir {
				// A rename cannot replace a directory: the credentials
				// are returned, not cached.
				if out.Stored {
					t.Error("Fetch says it stored an entry over a directory")
				}
				return
			}
			if out.Result == Fetched && !out.Stored {
				t.Errorf("Fetch did not store what it fetched: %s", out.NotStored)
			}
			stored, err := readEntry(path, key, s.uid)
			if err != nil || stored.Credentials != e.Credentials {
				t.Errorf("after Fetch the entry file holds %v, %v; want what Fetch returned", stored.Credentials.AccessKeyID, err)
			}
		})
		plantEntry(t, path, data, perm, kind)
		within(t, "Remove", func() {
			if n, err := s.Remove(func(Entry) bool { return true }); n != 1 || err != nil {
				t.Errorf("Remove(all) = %d, %v; want 1, nil", n, err)
			}
		})
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("something is still at the entry path after Remove(all): %v", err)
		}
	})
}

// plantEntry replaces whatever is at path with a thing of the given kind.
func plantEntry(t *testing.T, path string, data []byte, perm fs.FileMode, kind uint8) {
	t.Helper()
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	regular := func(p string) {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, perm); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	switch kind {
	case fuzzRegular:
		regular(path)
	case fuzzSymlink:
		target := filepath.Join(filepath.Dir(filepath.Dir(path)), "linked")
		_ = os.Remove(target)
		regular(target)
		err = os.Symlink(target, path)
	case fuzzFIFO:
		err = syscall.Mkfifo(path, uint32(perm))
	case fuzzDir:
		err = os.Mkdir(path, perm|0o700)
	case fuzzDangling:
		err = os.Symlink(filepath.Join(filepath.Dir(path), "nowhere"), path)
	}
	if err != nil {
		t.Fatal(err)
	}
}
