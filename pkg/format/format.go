// Package format renders credentials for the places they go: a shell's eval,
// a dotenv file, credential_process JSON, an ini profile, a GitHub Actions
// step. Shell quoting lives here and only here.
//
// Output contract: Render validates every value against what the chosen
// format can represent before it writes a byte, and writes the whole output
// with one Write. A value a format cannot carry exactly (a NUL anywhere, a
// line break in dotenv, a % in cmd, …) is an *UnrepresentableError, never a
// mangled or partial line that a shell would then evaluate. Errors name the
// variable and the reason, never the value: the values are secrets.
package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rolecall/rolecall/pkg/creds"
)

// Format names an output format, as given to -f.
type Format string

// The output formats. Env is the default.
const (
	Env        Format = "env"
	Fish       Format = "fish"
	PowerShell Format = "powershell"
	Cmd        Format = "cmd"
	Dotenv     Format = "dotenv"
	JSON       Format = "json"
	Process    Format = "process"
	INI        Format = "ini"
	GitHub     Format = "github"
)

// canonical is the order formats appear in help and completion.
var canonical = []Format{Env, Fish, PowerShell, Cmd, Dotenv, JSON, Process, INI, GitHub}

// aliases are the other names users type for a format: the shells that
// share the POSIX quoting of env, and PowerShell's executable name.
var aliases = map[string]Format{
	"sh":   Env,
	"bash": Env,
	"zsh":  Env,
	"pwsh": PowerShell,
}

// Parse turns a -f value into a Format. It accepts the canonical names and
// the aliases in any letter case.
func Parse(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, f := range canonical {
		if n == string(f) {
			return f, nil
		}
	}
	if f, ok := aliases[n]; ok {
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q: valid formats are env (or sh, bash, zsh), fish, powershell (or pwsh), cmd, dotenv, json, process, ini, github", name)
}

// Names returns the canonical format names, for completion and help.
func Names() []string {
	names := make([]string, len(canonical))
	for i, f := range canonical {
		names[i] = string(f)
	}
	return names
}

// IsShell reports whether the output is meant to be evaluated by an
// interactive shell, so that printing it to a terminal deserves an eval hint.
func (f Format) IsShell() bool {
	switch f {
	case Env, Fish, PowerShell, Cmd:
		return true
	}
	return false
}

// Options carry what the credentials alone do not say.
type Options struct {
	// Region, when known, is exported as AWS_REGION and AWS_DEFAULT_REGION.
	Region string
	// ProfileName is the section name of the ini format. The caller passes
	// its default (the CLI uses "default"); ini fails when it is empty.
	ProfileName string
}

// Var is one environment variable.
type Var struct{ Name, Value string }

// Environment variable names rolecall sets.
const (
	envAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envSecretAccessKey = "AWS_SECRET_ACCESS_KEY" //nolint:gosec // a variable name, not a secret
	envSessionToken    = "AWS_SESSION_TOKEN"     //nolint:gosec // a variable name, not a secret
	envExpiration      = "AWS_CREDENTIAL_EXPIRATION"
	envRegion          = "AWS_REGION"
	envDefaultRegion   = "AWS_DEFAULT_REGION"
	// envSecurityToken is the pre-2014 name of AWS_SESSION_TOKEN that boto
	// and botocore still read when AWS_SESSION_TOKEN is unset.
	envSecurityToken  = "AWS_SECURITY_TOKEN"
	envProfile        = "AWS_PROFILE"
	envDefaultProfile = "AWS_DEFAULT_PROFILE"
)

// ProfileEnvVars are the variables that select a profile of the AWS config
// files. The shell formats (env, fish, powershell, cmd) unset them, so that
// after an eval every SDK uses the exported keys: most SDKs let the key
// variables win over AWS_PROFILE, but the AWS SDK for JavaScript v3 does the
// opposite (its default chain skips the environment provider when
// AWS_PROFILE is set, credential-provider-node's defaultProvider), and tools
// that pass the profile explicitly (Terraform's provider) make it win in
// every SDK. shell-init's assume saves their values and unassume puts them
// back.
//
// dotenv leaves them alone: its readers cannot unset a variable (an empty
// AWS_PROFILE= line is a different setting, and python-dotenv and
// motdotla/dotenv do not override variables already set by default), and
// docker's --env-file starts from an empty environment anyway.
func ProfileEnvVars() []string {
	return []string{envProfile, envDefaultProfile}
}

// EnvVars returns the AWS_* variables for c in a stable order: access key
// ID, secret, session token (when set), expiration (when set, RFC 3339 UTC),
// then AWS_REGION and AWS_DEFAULT_REGION (when opt.Region is set). The
// values are raw; each format quotes them its own way.
func EnvVars(c creds.Credentials, opt Options) []Var {
	vars := []Var{
		{envAccessKeyID, c.AccessKeyID},
		{envSecretAccessKey, c.SecretAccessKey},
	}
	if c.SessionToken != "" {
		vars = append(vars, Var{envSessionToken, c.SessionToken})
	}
	if !c.Expiration.IsZero() {
		vars = append(vars, Var{envExpiration, formatTime(c.Expiration)})
	}
	if opt.Region != "" {
		vars = append(vars, Var{envRegion, opt.Region}, Var{envDefaultRegion, opt.Region})
	}
	return vars
}

// staleVars are the variables a shell format clears: the profile selection
// (see ProfileEnvVars), and those c has no value for, so that a session
// token or expiration left in the shell by earlier credentials is not
// paired with these keys.
func staleVars(c creds.Credentials) []string {
	names := ProfileEnvVars()
	if c.SessionToken == "" {
		names = append(names, envSessionToken, envSecurityToken)
	}
	if c.Expiration.IsZero() {
		names = append(names, envExpiration)
	}
	return names
}

// ConflictingEnvVars lists the variables `rolecall exec` removes from the
// child's environment before adding EnvVars, so that the child's SDK finds
// these credentials and no other source, and nothing in its environment
// describes other credentials. They are:
//
//   - the key variables themselves and their legacy aliases: aws-sdk-go-v2
//     config/env_config.go reads AWS_ACCESS_KEY and AWS_SECRET_KEY as
//     fallbacks; botocore reads AWS_SECURITY_TOKEN; the JS and Java SDKs read
//     AWS_CREDENTIAL_EXPIRATION; AWS_CREDENTIAL_FILE is the old AWS tools'
//     name for a file of keys (aws-vault removes it too);
//   - profile selection (AWS_PROFILE, AWS_DEFAULT_PROFILE): the AWS SDK for
//     JavaScript v3 lets AWS_PROFILE win over the key variables, and tools
//     that pass the profile to the SDK explicitly (Terraform's provider, for
//     one) do so in every SDK (aws-sdk-go-v2 config/resolve_credentials.go,
//     resolveCredentialChain: an explicit profile is checked first);
//   - web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN,
//     AWS_ROLE_SESSION_NAME) and the container provider
//     (AWS_CONTAINER_CREDENTIALS_FULL_URI, …_RELATIVE_URI,
//     AWS_CONTAINER_AUTHORIZATION_TOKEN, …_TOKEN_FILE);
//   - AWS_ACCOUNT_ID, which the SDKs pair with the key variables for
//     account-based endpoints: a stale one names another account;
//   - what other credential tools export beside the keys, naming the
//     profile, role and expiry of their credentials, which prompts, scripts
//     and the tools themselves read (a stale expiry makes them report the
//     wrong time, a stale AWS_VAULT makes aws-vault refuse to run):
//     aws-vault (AWS_VAULT, AWS_SESSION_EXPIRATION; cli/exec.go), granted
//     (GRANTED_*; scripts/assume), awsume (AWSUME_PROFILE,
//     AWSUME_EXPIRATION), aws-sso-cli (AWS_SSO, AWS_SSO_*), awsu
//     (AWSU_PROFILE, AWSU_EXPIRES), aws-okta (AWS_OKTA_*) and saml2aws
//     (SAML2AWS_PROFILE).
//
// Settings that are not credentials (region, config and credentials file
// paths, CA bundle, endpoints) stay: the child needs them.
func ConflictingEnvVars() []string {
	return []string{
		envAccessKeyID, "AWS_ACCESS_KEY",
		envSecretAccessKey, "AWS_SECRET_KEY",
		envSessionToken, envSecurityToken,
		envExpiration,
		"AWS_CREDENTIAL_FILE",
		"AWS_ACCOUNT_ID",
		envProfile, envDefaultProfile,
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
		// aws-vault
		"AWS_VAULT", "AWS_SESSION_EXPIRATION",
		// granted
		"GRANTED_AWS_ROLE_PROFILE", "GRANTED_COMMAND", "GRANTED_SSO", "GRANTED_SSO_START_URL",
		"GRANTED_SSO_ROLE_NAME", "GRANTED_SSO_REGION", "GRANTED_SSO_ACCOUNT_ID",
		// awsume
		"AWSUME_PROFILE", "AWSUME_EXPIRATION",
		// aws-sso-cli
		"AWS_SSO", "AWS_SSO_PROFILE", "AWS_SSO_ACCOUNT_ID", "AWS_SSO_ROLE_NAME", "AWS_SSO_ROLE_ARN",
		"AWS_SSO_SESSION_EXPIRATION", "AWS_SSO_DEFAULT_REGION",
		// awsu
		"AWSU_PROFILE", "AWSU_EXPIRES",
		// aws-okta
		"AWS_OKTA_PROFILE", "AWS_OKTA_ASSUMED_ROLE", "AWS_OKTA_ASSUMED_ROLE_ARN", "AWS_OKTA_SESSION_EXPIRATION",
		// saml2aws
		"SAML2AWS_PROFILE",
	}
}

// UnrepresentableError reports a value the chosen format cannot carry
// exactly. It names the variable, never the value.
type UnrepresentableError struct {
	Format Format
	// Name is the variable, key or field that holds the value.
	Name string
	// Reason says what in the value the format cannot carry.
	Reason string
}

// Error says which format cannot carry which variable, and why.
func (e *UnrepresentableError) Error() string {
	return fmt.Sprintf("format %s cannot represent %s: it %s", e.Format, e.Name, e.Reason)
}

// errMissingKeys is returned for credentials without an access key ID or
// secret: every format would emit something no SDK accepts.
var errMissingKeys = errors.New("credentials have no access key ID or secret access key")

// Render writes c in format f to w. It renders into memory and validates
// everything first, so on error nothing has been written; on success it
// calls w.Write exactly once. For GitHub it writes only the ::add-mask::
// lines; the CLI writes the environment files with GitHubEnvFile.
func Render(w io.Writer, f Format, c creds.Credentials, opt Options) error {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return fmt.Errorf("render %s: %w", f, errMissingKeys)
	}
	var (
		out []byte
		err error
	)
	switch f {
	case Env, Fish, PowerShell, Cmd, Dotenv:
		out, err = renderVars(f, EnvVars(c, opt), staleVars(c))
	case JSON:
		out, err = renderJSON(c, opt)
	case Process:
		out, err = renderProcess(c)
	case INI:
		out, err = renderINI(c, opt)
	case GitHub:
		var buf bytes.Buffer
		err = writeMasks(&buf, c)
		out = buf.Bytes()
	default:
		_, err = Parse(string(f))
	}
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write %s output: %w", f, err)
	}
	return nil
}

// EvalHint is the command a user runs to load format f into their shell.
// commandLine is the rolecall invocation without a -f flag (the CLI passes
// "rolecall assume ROLE…"); EvalHint adds -f for the non-default formats
// unless commandLine already has one. It returns "" for formats that are
// not loaded into a shell.
func EvalHint(f Format, commandLine string) string {
	cmd := commandLine
	if f != Env && !hasFormatFlag(commandLine) {
		cmd += " -f " + string(f)
	}
	switch f {
	case Env:
		return `eval "$(` + cmd + `)"`
	case Fish:
		return cmd + " | source"
	case PowerShell:
		// Each output line is a complete statement (the renderer keeps
		// line breaks out of values), so Invoke-Expression can take the
		// lines one by one as PowerShell pipes them.
		return cmd + " | Invoke-Expression"
	case Cmd:
		// for /f runs each output line as a command; @ keeps cmd from
		// echoing the line, which holds the secret, to the console.
		return `for /f "delims=" %i in ('` + cmd + `') do @%i`
	case Dotenv:
		return cmd + " > .env"
	}
	return ""
}

// hasFormatFlag reports whether a command line already chooses a format.
func hasFormatFlag(commandLine string) bool {
	for _, w := range strings.Fields(commandLine) {
		if w == "-f" || w == "--format" || strings.HasPrefix(w, "--format=") ||
			(strings.HasPrefix(w, "-f") && !strings.HasPrefix(w, "--")) {
			return true
		}
	}
	return false
}

// formatTime is the one timestamp form rolecall prints: RFC 3339 in UTC,
// which every SDK's credential_process parser and AWS_CREDENTIAL_EXPIRATION
// reader accepts.
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkCommon rejects what no format carries: a NUL cannot live in an
// environment variable (C strings end at it) and bash drops it from command
// substitution; invalid UTF-8 is rewritten by JSON encoders and by
// PowerShell's decoder, so it would not come back byte for byte.
func checkCommon(f Format, name, value string) error {
	if strings.IndexByte(value, 0) >= 0 {
		return &UnrepresentableError{f, name, "contains a NUL byte"}
	}
	if !utf8.ValidString(value) {
		return &UnrepresentableError{f, name, "is not valid UTF-8"}
	}
	return nil
}

// checkVars runs checkCommon and then the format's own check on each var.
func checkVars(f Format, vars []Var, check func(name, value string) error) error {
	for _, v := range vars {
		if err := checkCommon(f, v.Name, v.Value); err != nil {
			return err
		}
		if check != nil {
			if err := check(v.Name, v.Value); err != nil {
				return err
			}
		}
	}
	return nil
}
