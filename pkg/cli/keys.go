package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/keyring"
	"github.com/rolecall/rolecall/pkg/keys"
)

// KeysOptions are the dependencies and flag values of `rolecall keys`.
type KeysOptions struct {
	IO      *IO
	Request requestFlags

	Stdin               bool
	FromCredentialsFile bool
	Backend             string
	Format              string
	Yes                 bool
}

// NewCmdKeys builds `rolecall keys` and its subcommands.
func NewCmdKeys(io *IO) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Keep IAM users' long-term keys in the OS keychain, and rotate them",
		Long: `Keep an IAM user's long-term access key in the OS keychain (macOS Keychain,
Windows Credential Manager, the Secret Service on Linux) or an encrypted file,
instead of ~/.aws/credentials. A profile whose key is stored works everywhere a
profile with keys works; what rolecall hands out from it is always temporary.
See docs/keys.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCmdKeysAdd(io), newCmdKeysList(io), newCmdKeysRemove(io), newCmdKeysRotate(io))
	return cmd
}

// bindKeysRequest binds the request flags a keys command uses: where STS
// is, the cache, MFA, --timeout.
func bindKeysRequest(cmd *cobra.Command, f *requestFlags, mfa bool) {
	fl := cmd.Flags()
	r := &f.Request
	fl.StringVar(&r.Region, "region", "", "STS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's)")
	fl.StringVar(&r.EndpointURL, "endpoint-url", "", "STS endpoint URL (default: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's)")
	fl.StringVar(&r.CABundle, "ca-bundle", "", "PEM file of CAs to trust instead of the system's")
	fl.DurationVar(&r.Timeout, "timeout", time.Minute, "give up on STS, IAM, the keychain and prompts after this long")
	fl.StringVar(&r.CacheDir, "cache-dir", "", "cache directory (default: ROLECALL_CACHE_DIR, then the user cache dir + /rolecall)")
	fl.BoolVar(&f.NoPrompt, "no-prompt", false, "never prompt (also when CI=true)")
	if mfa {
		fl.StringVar(&r.MFACode, "mfa-code", "", "MFA code for the profile's mfa_serial")
		fl.StringVar(&f.MFACodeCommand, "mfa-code-command", "", "command whose stdout is the MFA code")
		r.MFASessionTTL = assume.DefaultMFASessionDuration
	}
	r.RefreshWindow = 0
}

func keysEnv(opts *KeysOptions) assume.Env {
	env := opts.Request.env(opts.IO)
	return env
}

func newCmdKeysAdd(io *IO) *cobra.Command {
	opts := &KeysOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "add PROFILE",
		Short: "Store a profile's access key in the keychain (typed, piped with --stdin, or moved from ~/.aws/credentials)",
		Long: `Ask for the access key ID and the secret access key on the terminal (the
secret is not echoed), or read them from stdin with --stdin (two lines), never
from arguments or the environment. The key is checked with one
GetCallerIdentity, stored, read back, and named in the profile
(x_rolecall_keyring, x_rolecall_access_key_id, and credential_process =
rolecall process --profile PROFILE for other tools, unless it has one).

--from-credentials-file moves the profile's keys out of the shared credentials
file: they are checked, stored and read back first, and only then removed from
the file (with the lock and atomic write of --write-profile, every other byte
kept).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Request.Profile = args[0]
			return keysAddRun(cmd.Context(), opts)
		},
	}
	bindKeysRequest(cmd, &opts.Request, false)
	fl := cmd.Flags()
	fl.BoolVar(&opts.Stdin, "stdin", false, "read the access key ID and the secret from stdin, one a line")
	fl.BoolVar(&opts.FromCredentialsFile, "from-credentials-file", false, "move the profile's keys out of the shared credentials file")
	fl.StringVar(&opts.Backend, "backend", "", "secret store: secret-service, keychain, wincred or file (default: "+keyring.BackendEnv+", then the OS's)")
	return cmd
}

func keysAddRun(ctx context.Context, opts *KeysOptions) error {
	if opts.Stdin && opts.FromCredentialsFile {
		return usageErrorf("pick one", "--stdin and --from-credentials-file exclude each other")
	}
	if opts.Request.Timeout <= 0 {
		return usageErrorf("pass a positive --timeout such as 30s", "--timeout %s is not a positive duration", opts.Request.Timeout)
	}
	for _, b := range []struct{ from, name string }{{"--backend", opts.Backend}, {keyring.BackendEnv, opts.IO.Getenv(keyring.BackendEnv)}} {
		if b.name != "" && !keyring.ValidBackend(b.name) {
			return usageErrorf("use secret-service, keychain, wincred or file", "%s %q names no keyring backend rolecall knows", b.from, b.name)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Request.Timeout)
	defer cancel()
	r := keys.AddRequest{Request: opts.Request.Request, FromCredentialsFile: opts.FromCredentialsFile, Backend: opts.Backend, GOOS: runtime.GOOS}
	var err error
	switch {
	case opts.FromCredentialsFile:
	case opts.Stdin:
		r.AccessKeyID, r.SecretAccessKey, err = readKeysFrom(opts.IO.In)
	default:
		r.AccessKeyID, r.SecretAccessKey, err = promptKeys(ctx, opts)
	}
	if err != nil {
		return err
	}
	res, err := keys.Add(ctx, r, keysEnv(opts))
	if err != nil {
		return err
	}
	what := "stored"
	if res.Moved {
		what = "moved from the credentials file"
	}
	opts.IO.Infof("%s: key %s of %s %s to %s", opts.Request.Profile, assume.MaskKeyID(res.AccessKeyID), escapeControl(res.Identity.ARN), what, res.Backend)
	return nil
}

// maxKeyInput caps what --stdin reads: two short lines.
const maxKeyInput = 4 << 10

// readKeysFrom reads "KEY_ID\nSECRET\n".
func readKeysFrom(in io.Reader) (id, secret string, err error) {
	if in == nil {
		return "", "", usageErrorf("pipe the key ID and the secret, one a line", "--stdin: no stdin")
	}
	data, err := io.ReadAll(io.LimitReader(in, maxKeyInput+1))
	if err != nil {
		return "", "", usageErrorf("", "--stdin: %v", err)
	}
	if len(data) > maxKeyInput {
		return "", "", usageErrorf("pipe the key ID and the secret, one a line", "--stdin: more than %d bytes: that is no access key", maxKeyInput)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\r\n"), "\n")
	if len(lines) != 2 {
		return "", "", usageErrorf("pipe the key ID on the first line and the secret on the second", "--stdin: want 2 lines, got %d", len(lines))
	}
	return strings.TrimSpace(lines[0]), strings.TrimSpace(lines[1]), nil
}

// promptKeys asks on the terminal itself; the secret is not echoed.
func promptKeys(ctx context.Context, opts *KeysOptions) (string, string, error) {
	if reason := noPromptReason(opts.IO, &opts.Request); reason != "" {
		return "", "", withCode(ExitNeedsPerson, errors.New("the access key must be typed and there is no one to ask ("+reason+")"), "pipe it with --stdin, or use --from-credentials-file")
	}
	id, err := askTerminal(ctx, "AWS access key ID: ", true)
	if err != nil {
		return "", "", err
	}
	secret, err := askTerminal(ctx, "AWS secret access key: ", false)
	return strings.TrimSpace(id), strings.TrimSpace(secret), err
}

// askTerminal asks on the controlling terminal, echoing the answer or not.
// Ctrl-C and --timeout end the wait at once, and the terminal gets its echo
// back.
func askTerminal(ctx context.Context, prompt string, echo bool) (string, error) {
	in, out, err := openTerminal()
	if err != nil {
		return "", withCode(ExitNeedsPerson, errors.New("no terminal to ask on"), "pipe the answer with --stdin, or name a command that prints it")
	}
	defer func() { _ = in.Close() }()
	if out != in {
		defer func() { _ = out.Close() }()
	}
	fmt.Fprint(out, "rolecall: "+prompt)
	type answer struct {
		line string
		err  error
	}
	done := make(chan answer, 1)
	fd := int(in.Fd())
	state, stateErr := term.GetState(fd)
	go func() {
		if echo {
			line, err := bufio.NewReader(io.LimitReader(in, 1024)).ReadString('\n')
			done <- answer{line, err}
			return
		}
		b, err := term.ReadPassword(fd)
		if len(b) > 1024 {
			b, err = nil, errors.New("the answer is too long")
		}
		done <- answer{string(b), err}
	}()
	select {
	case a := <-done:
		if !echo {
			fmt.Fprintln(out)
		}
		if a.err != nil && a.line == "" {
			return "", withCode(ExitNeedsPerson, fmt.Errorf("read from the terminal: %w", a.err), "")
		}
		return strings.TrimRight(a.line, "\r\n"), nil
	case <-ctx.Done():
		if stateErr == nil {
			_ = term.Restore(fd, state)
		}
		fmt.Fprintln(out)
		return "", context.Cause(ctx)
	}
}

// keyringPassphrase asks for the encrypted file's passphrase on the
// terminal, twice for a new file; nil when nobody may be asked.
func keyringPassphrase(io *IO, f *requestFlags) func(ctx context.Context, confirm bool) (string, error) {
	if noPromptReason(io, f) != "" {
		return nil
	}
	return func(ctx context.Context, confirm bool) (string, error) {
		pass, err := askTerminal(ctx, "passphrase of rolecall's keyring file: ", false)
		if err != nil || !confirm {
			return pass, err
		}
		again, err := askTerminal(ctx, "the same passphrase again: ", false)
		if err != nil {
			return "", err
		}
		if again != pass {
			return "", usageErrorf("type the same passphrase twice", "the passphrases differ")
		}
		return pass, nil
	}
}

func newCmdKeysList(io *IO) *cobra.Command {
	opts := &KeysOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the profiles whose keys are in a keychain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return keysListRun(cmd.Context(), opts)
		},
	}
	bindKeysRequest(cmd, &opts.Request, false)
	cmd.Flags().StringVarP(&opts.Format, "format", "f", "text", "output format: text or json")
	return cmd
}

func keysListRun(ctx context.Context, opts *KeysOptions) error {
	if opts.Format != "text" && opts.Format != "json" {
		return usageErrorf("use -f text or -f json", "unknown format %q for keys list", opts.Format)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Request.Timeout)
	defer cancel()
	rows, err := keys.List(ctx, keysEnv(opts))
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if opts.Format == "json" {
		if rows == nil {
			rows = []keys.Listed{}
		}
		enc := json.NewEncoder(&out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PROFILE\tBACKEND\tKEY\tADDED\tROTATED\tNOTE")
		day := func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02")
		}
		for _, r := range rows {
			note := r.Problem
			if r.Pending != "" {
				note = "rotation stopped at " + r.Pending + ": run rolecall keys rotate " + r.Profile
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", escapeControl(r.Profile), r.Backend, r.AccessKeyID, day(r.Added), day(r.Rotated), escapeControl(oneLine(note)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err = opts.IO.Out.Write(out.Bytes())
	return err
}

func newCmdKeysRemove(io *IO) *cobra.Command {
	opts := &KeysOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "remove PROFILE",
		Short: "Delete a profile's key from the keychain and the cache entries made from it",
		Long: `Delete the profile's key from its keychain, the cache entries made from it, and
rolecall's keys from the profile. The key itself stays valid in IAM: delete it
there too if nothing else uses it. Asks first, unless --yes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Request.Profile = args[0]
			return keysRemoveRun(cmd.Context(), opts)
		},
	}
	bindKeysRequest(cmd, &opts.Request, false)
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask")
	return cmd
}

func keysRemoveRun(ctx context.Context, opts *KeysOptions) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Request.Timeout)
	defer cancel()
	if !opts.Yes {
		if reason := noPromptReason(opts.IO, &opts.Request); reason != "" {
			return usageErrorf("pass --yes to remove it without asking", "keys remove asks first, and there is no one to ask (%s)", reason)
		}
		answer, err := askTerminal(ctx, fmt.Sprintf("remove the key of profile %s from the keychain? [y/N] ", opts.Request.Profile), true)
		if err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return usageErrorf("pass --yes to remove it without asking", "keys remove asks first, and there is no terminal")
			}
			return err
		}
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return usageErrorf("", "not removed")
		}
	}
	n, err := keys.Remove(ctx, opts.Request.Request, keysEnv(opts))
	if err != nil {
		return err
	}
	opts.IO.Infof("%s: key removed from the keychain; %d cache entries cleared (the key is still valid in IAM)", opts.Request.Profile, n)
	return nil
}

func newCmdKeysRotate(io *IO) *cobra.Command {
	opts := &KeysOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "rotate PROFILE",
		Short: "Replace a profile's access key with a new one (IAM), surviving a kill at any step",
		Long: `Create a new access key in IAM, wait until STS takes it (IAM is eventually
consistent; bounded by --timeout), store it, clear the cache entries of the old
key, and delete the old key in IAM. Each step is recorded in the keychain item
first: if rotate stops anywhere, the keychain still holds a working key, and
running it again finishes or undoes the rotation (docs/keys.md). With
mfa_serial, the IAM calls are signed with the profile's MFA session.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Request.Profile = args[0]
			return keysRotateRun(cmd.Context(), opts)
		},
	}
	bindKeysRequest(cmd, &opts.Request, true)
	return cmd
}

func keysRotateRun(ctx context.Context, opts *KeysOptions) error {
	if opts.Request.Timeout <= 0 {
		return usageErrorf("pass a positive --timeout such as 30s", "--timeout %s is not a positive duration", opts.Request.Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Request.Timeout)
	defer cancel()
	res, err := keys.Rotate(ctx, opts.Request.Request, keysEnv(opts))
	if err != nil {
		return err
	}
	if res.Resumed != "" {
		opts.IO.Infof("%s: finished the rotation that stopped at %q", opts.Request.Profile, res.Resumed)
	}
	opts.IO.Infof("%s: rotated %s -> %s; %d cache entries of the old key cleared", opts.Request.Profile, assume.MaskKeyID(res.OldKeyID), assume.MaskKeyID(res.NewKeyID), res.ClearedEntries)
	return nil
}
