package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"filippo.io/age"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// fileStore keeps each profile's item in its own file, encrypted with age
// (filippo.io/age) to a passphrase through scrypt: a kept library for the
// cryptography, and files that the age command decrypts too.
//
// The passphrase comes from the profile's passphrase command, else
// ROLECALL_KEYRING_PASSPHRASE_COMMAND, else the terminal; there is no
// default passphrase.
type fileStore struct {
	dir  string
	opt  Options
	pass string // asked once per process
}

// testScryptWorkFactor, when not 0, is the scrypt work factor (log2 of its
// cost) of the files written: SetTestScryptWorkFactor's. 0 leaves age's
// default (18: about a second, the point of it).
var testScryptWorkFactor int

// SetTestScryptWorkFactor makes the files this process writes cheap to
// derive a key for, for test binaries only: a race-instrumented scrypt at
// the default cost takes tens of seconds on a busy machine, and the tests
// write and read many files. Nothing but Go code that links this package
// can call it; rolecall never does.
func SetTestScryptWorkFactor(logN int) { testScryptWorkFactor = logN }

// PassphraseCommandEnv names a command whose stdout is the file backend's
// passphrase, when the profile names none.
const PassphraseCommandEnv = "ROLECALL_KEYRING_PASSPHRASE_COMMAND"

// DirEnv overrides the file backend's directory.
const DirEnv = "ROLECALL_KEYRING_DIR"

// maxPassphraseBytes caps a passphrase command's output.
const maxPassphraseBytes = 4 << 10

func newFileStore(opt Options) (*fileStore, error) {
	dir := opt.Getenv(DirEnv)
	if dir == "" {
		data := opt.Getenv("XDG_DATA_HOME")
		if data == "" {
			if opt.HomeDir == "" {
				return nil, &UnavailableError{Backend: BackendFile, Err: errors.New("no home directory and no " + DirEnv)}
			}
			data = filepath.Join(opt.HomeDir, ".local", "share")
		}
		dir = filepath.Join(data, "rolecall", "keyring")
	}
	return &fileStore{dir: dir, opt: opt}, nil
}

func (s *fileStore) Backend() string { return BackendFile }

func (s *fileStore) path(profile string) string {
	// Profile names rolecall stores are checked (no separators); escape
	// anyway so a name can never leave the directory.
	return filepath.Join(s.dir, strings.NewReplacer("/", "%2F", "\\", "%5C", ":", "%3A").Replace(profile)+".age")
}

func (s *fileStore) Get(ctx context.Context, profile string) (Item, error) {
	data, err := safefile.ReadFile(s.path(profile), safefile.ReadOptions{MaxSize: MaxItemBytes * 2})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Item{}, ErrNotFound
	case errors.Is(err, safefile.ErrTooLarge):
		return Item{}, &InvalidItemError{Backend: BackendFile, Profile: profile, Why: "is too large: not written by rolecall"}
	case err != nil:
		return Item{}, &UnavailableError{Backend: BackendFile, Err: err}
	}
	pass, err := s.passphrase(ctx, false)
	if err != nil {
		return Item{}, err
	}
	id, err := age.NewScryptIdentity(pass)
	if err != nil {
		return Item{}, &UnavailableError{Backend: BackendFile, Err: err}
	}
	r, err := age.Decrypt(bytes.NewReader(data), id)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return Item{}, &UnavailableError{Backend: BackendFile, Err: fmt.Errorf("%s: wrong passphrase", s.path(profile))}
		}
		return Item{}, &InvalidItemError{Backend: BackendFile, Profile: profile, Why: "is no age file rolecall wrote: " + err.Error()}
	}
	plain, err := io.ReadAll(io.LimitReader(r, MaxItemBytes+1))
	if err != nil {
		return Item{}, &InvalidItemError{Backend: BackendFile, Profile: profile, Why: "is damaged: " + err.Error()}
	}
	return decode(BackendFile, profile, plain)
}

func (s *fileStore) Set(ctx context.Context, profile string, item Item) error {
	plain, err := encode(item)
	if err != nil {
		return err
	}
	_, statErr := os.Stat(s.path(profile))
	pass, err := s.passphrase(ctx, errors.Is(statErr, fs.ErrNotExist))
	if err != nil {
		return err
	}
	rcpt, err := age.NewScryptRecipient(pass)
	if err != nil {
		return &UnavailableError{Backend: BackendFile, Err: err}
	}
	if testScryptWorkFactor != 0 {
		rcpt.SetWorkFactor(testScryptWorkFactor)
	}
	var out bytes.Buffer
	w, err := age.Encrypt(&out, rcpt)
	if err != nil {
		return err
	}
	if _, err := w.Write(plain); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return &UnavailableError{Backend: BackendFile, Err: err}
	}
	return safefile.Replace(s.path(profile), out.Bytes())
}

func (s *fileStore) Delete(_ context.Context, profile string) error {
	err := os.Remove(s.path(profile))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// passphrase is the command's output, else a person's answer.
func (s *fileStore) passphrase(ctx context.Context, confirm bool) (string, error) {
	if s.pass != "" {
		return s.pass, nil
	}
	command := s.opt.PassphraseCommand
	if command == "" {
		command = s.opt.Getenv(PassphraseCommandEnv)
	}
	var pass string
	switch {
	case command != "":
		shell := []string{"sh", "-c", command}
		if runtime.GOOS == "windows" {
			shell = []string{"cmd.exe", "/C", command}
		}
		cmd := exec.CommandContext(ctx, shell[0], shell[1:]...) //nolint:gosec // the user's own passphrase command
		var out bytes.Buffer
		cmd.Stdout = &limitedWriter{w: &out, n: maxPassphraseBytes}
		if err := cmd.Run(); err != nil {
			return "", &UnavailableError{Backend: BackendFile, Err: fmt.Errorf("passphrase command: %w", err)}
		}
		pass = strings.TrimRight(out.String(), "\r\n")
	case s.opt.Passphrase != nil:
		var err error
		if pass, err = s.opt.Passphrase(ctx, confirm); err != nil {
			return "", err
		}
	default:
		return "", &UnavailableError{Backend: BackendFile, Err: errors.New("no passphrase: no terminal to ask on and no passphrase command")}
	}
	if pass == "" {
		return "", &UnavailableError{Backend: BackendFile, Err: errors.New("the passphrase is empty")}
	}
	s.pass = pass
	return pass, nil
}

// limitedWriter fails past n bytes.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.n {
		return 0, errors.New("passphrase command printed too much")
	}
	l.n -= len(p)
	return l.w.Write(p)
}
