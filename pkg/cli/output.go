package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/format"
)

// emitGitHub registers the secrets as masks on stdout first, so the runner
// hides them in every later log line, then appends the variables to
// $GITHUB_ENV (and the step outputs to $GITHUB_OUTPUT). Nothing secret is
// printed unmasked.
func emitGitHub(opts *AssumeOptions, c creds.Credentials, region string) error {
	io := opts.IO
	fo := format.Options{Region: region}
	var masks, env, outputs bytes.Buffer
	if err := format.GitHubMasks(&masks, c); err != nil {
		return err
	}
	if err := format.GitHubEnvFile(&env, format.EnvVars(c, fo), randomDelimiter); err != nil {
		return err
	}
	if opts.GitHubOutput {
		if err := format.GitHubEnvFile(&outputs, format.GitHubOutputs(c, fo), randomDelimiter); err != nil {
			return err
		}
	}
	if _, err := io.Out.Write(masks.Bytes()); err != nil {
		return fmt.Errorf("write masks: %w", err)
	}
	if err := appendFile(io.Getenv("GITHUB_ENV"), env.Bytes()); err != nil {
		return withCode(ExitLocal, fmt.Errorf("write GITHUB_ENV: %w", err), "")
	}
	if opts.GitHubOutput {
		if err := appendFile(io.Getenv("GITHUB_OUTPUT"), outputs.Bytes()); err != nil {
			return withCode(ExitLocal, fmt.Errorf("write GITHUB_OUTPUT: %w", err), "")
		}
	}
	io.Infof("credentials for %s set for the following steps (expire %s)", c.AssumedRoleARN, c.Expiration.Format(time.RFC3339))
	return nil
}

// randomDelimiter makes a heredoc delimiter nobody can guess, as GitHub
// advises, so a value cannot end the block early and inject variables.
func randomDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "ghadelimiter_" + hex.EncodeToString(b)
}

// appendFile appends data whole or not at all: on a failed write (a full
// disk) the file is cut back to its old length, so the runner never reads a
// torn NAME<<DELIMITER block.
func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600) //nolint:gosec // the runner's $GITHUB_ENV / $GITHUB_OUTPUT
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Truncate(fi.Size())
		_ = f.Close()
		return err
	}
	return f.Close()
}

// writeProfile stores the credentials in a section of the shared
// credentials file, for tools that read only that file. The wait for the
// file's lock ends with ctx (Ctrl-C) or --timeout.
func writeProfile(ctx context.Context, opts *AssumeOptions, c creds.Credentials) error {
	io := opts.IO
	path := awsconfig.DefaultFiles(io.Getenv, io.HomeDir).Credentials
	err := awsconfig.WriteCredentialsSection(ctx, path, opts.WriteProfile, c, awsconfig.WriteOptions{Force: opts.Force, LockTimeout: opts.Request.Timeout})
	if err != nil {
		return withCode(ExitLocal, err, "")
	}
	io.Infof("wrote profile %s to %s (expires %s)", opts.WriteProfile, path, c.Expiration.Format(time.RFC3339))
	return nil
}
