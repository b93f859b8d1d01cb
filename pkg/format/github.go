package format

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/rolecall/rolecall/pkg/creds"
)

// GitHub Actions output (-f github), per "Workflow commands for GitHub
// Actions": https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-commands
//
//   - stdout carries only ::add-mask::VALUE lines ("Masking a value in a
//     log"), written before anything else so the runner hides the secrets
//     in every later log line;
//   - the variables go to the file named by $GITHUB_ENV and the step outputs
//     to $GITHUB_OUTPUT, each in the multi-line form ("Multiline strings"):
//     NAME<<DELIMITER, the value, DELIMITER, each on its own line. The
//     delimiter is random and checked not to occur in the value, so no value
//     can end the block early and inject variables (GitHub's own warning
//     there; actions/toolkit's core.exportVariable does the same).
//
// The CLI opens and appends to the files; this package only renders.

// GitHubMasks writes an ::add-mask:: line for each secret of c: the access
// key ID, the secret access key and the session token. Nothing else is
// secret, and nothing else is written.
func GitHubMasks(w io.Writer, c creds.Credentials) error {
	var b bytes.Buffer
	if err := writeMasks(&b, c); err != nil {
		return err
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write masks: %w", err)
	}
	return nil
}

func writeMasks(b *bytes.Buffer, c creds.Credentials) error {
	secrets := []Var{
		{envAccessKeyID, c.AccessKeyID},
		{envSecretAccessKey, c.SecretAccessKey},
		{envSessionToken, c.SessionToken},
	}
	if err := checkVars(GitHub, secrets, nil); err != nil {
		return err
	}
	for _, s := range secrets {
		if s.Value == "" {
			continue
		}
		fmt.Fprintf(b, "::add-mask::%s\n", escapeCommandData(s.Value))
		// The runner matches a mask against one log line at a time, so a
		// secret spanning lines is masked line by line as well; GitHub
		// skips masks that are only white space.
		if strings.ContainsAny(s.Value, "\r\n") {
			for _, line := range strings.FieldsFunc(s.Value, func(r rune) bool { return r == '\r' || r == '\n' }) {
				if strings.TrimSpace(line) != "" {
					fmt.Fprintf(b, "::add-mask::%s\n", escapeCommandData(line))
				}
			}
		}
	}
	return nil
}

// escapeCommandData escapes a workflow command's value the way the runner
// unescapes it: % as %25, CR as %0D, LF as %0A (actions/toolkit,
// packages/core/src/command.ts, escapeData).
func escapeCommandData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// GitHubEnvFile writes vars in the multi-line form of $GITHUB_ENV and
// $GITHUB_OUTPUT, each block with its own delimiter from randomDelimiter
// (nil means 16 random bytes from crypto/rand). A delimiter that occurs in
// the name or value is drawn again. It validates every var before writing
// and writes once.
//
// The runner (actions/runner, src/Runner.Worker/FileCommandManager.cs,
// EnvFileKeyValuePairs) splits the file at LF (on Windows also CRLF) and
// takes the text up to the line ending before the delimiter line as the
// value, so a value keeps its inner line breaks but, on Windows, would lose
// a final CR: such a value is refused. A name must not hold = or <<, which
// the runner splits the first line at.
func GitHubEnvFile(w io.Writer, vars []Var, randomDelimiter func() string) error {
	if randomDelimiter == nil {
		randomDelimiter = defaultDelimiter
	}
	var b bytes.Buffer
	for _, v := range vars {
		if v.Name == "" || strings.Contains(v.Name, "=") || strings.Contains(v.Name, "<<") || strings.ContainsAny(v.Name, "\r\n\x00") {
			return &UnrepresentableError{GitHub, fmt.Sprintf("variable %q", v.Name), "has an empty name or one holding =, << or a line break"}
		}
		if err := checkCommon(GitHub, v.Name, v.Value); err != nil {
			return err
		}
		if strings.HasSuffix(v.Value, "\r") {
			return &UnrepresentableError{GitHub, v.Name, "ends with a carriage return, which the Windows runner drops"}
		}
		delim, err := pickDelimiter(randomDelimiter, v)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", v.Name, delim, v.Value, delim)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write environment file: %w", err)
	}
	return nil
}

// errNoDelimiter means randomDelimiter kept returning unusable delimiters.
var errNoDelimiter = errors.New("no usable heredoc delimiter: each one was empty, held a line break or occurred in the value")

func pickDelimiter(randomDelimiter func() string, v Var) (string, error) {
	for range 8 {
		d := randomDelimiter()
		if d != "" && !strings.ContainsAny(d, "\r\n") && !strings.Contains(v.Value, d) && !strings.Contains(v.Name, d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("write %s: %w", v.Name, errNoDelimiter)
}

func defaultDelimiter() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go 1.24+)
	return "ghadelimiter_" + hex.EncodeToString(b)
}

// GitHubOutputs returns the step outputs for $GITHUB_OUTPUT, named as
// aws-actions/configure-aws-credentials names them (src/helpers.ts:
// outputCredentials, outputAccountId, outputRegion), so a workflow can
// switch between the two without renaming: aws-account-id and
// authenticated-arn (when the role ARN is known), aws-access-key-id,
// aws-secret-access-key, aws-session-token and aws-expiration (when set),
// aws-region and aws-default-region (when the region is known).
func GitHubOutputs(c creds.Credentials, opt Options) []Var {
	var out []Var
	if acct := c.AccountID(); acct != "" {
		out = append(out, Var{"aws-account-id", acct})
	}
	if c.AssumedRoleARN != "" {
		out = append(out, Var{"authenticated-arn", c.AssumedRoleARN})
	}
	out = append(out,
		Var{"aws-access-key-id", c.AccessKeyID},
		Var{"aws-secret-access-key", c.SecretAccessKey})
	if c.SessionToken != "" {
		out = append(out, Var{"aws-session-token", c.SessionToken})
	}
	if !c.Expiration.IsZero() {
		out = append(out, Var{"aws-expiration", formatTime(c.Expiration)})
	}
	if opt.Region != "" {
		out = append(out, Var{"aws-region", opt.Region}, Var{"aws-default-region", opt.Region})
	}
	return out
}
