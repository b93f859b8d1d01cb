package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
)

// renderDotenv writes NAME=value lines, unquoted.
//
// The dotenv readers disagree about quotes, so the one form they all read
// the same is a bare value with nothing in it any of them treats specially:
//   - docker run --env-file takes everything after the first = literally,
//     quotes included (docker/cli#3630, still open);
//   - GitLab's artifacts:reports:dotenv keeps quotes as part of the value,
//     strips surrounding blanks, supports no escapes and no multi-line
//     values, and expands $VAR in the value later because its variables are
//     not raw (doc/ci/variables/dotenv_variables.md, "dotenv file
//     restrictions"; gitlab-org/gitlab!89403);
//   - motdotla/dotenv, python-dotenv, godotenv and Docker Compose strip a
//     matching pair of quotes and trim blanks, end an unquoted value at #
//     (motdotla: any #; the others: a blank then #), and expand ${VAR}
//     (Compose and godotenv also $VAR) in unquoted values
//     (https://docs.docker.com/compose/environment-variables/variable-interpolation/#env-file-syntax).
//
// So a value is refused if it holds a line break or other control
// character, starts or ends with white space, or holds # $ \ ' " or `. STS
// credentials (base64 and hex) never do.
func renderDotenv(vars []Var) ([]byte, error) {
	err := checkVars(Dotenv, vars, func(name, value string) error {
		for _, r := range value {
			switch {
			case r == '\n' || r == '\r':
				return &UnrepresentableError{Dotenv, name, "contains a line break"}
			case unicode.IsControl(r):
				return &UnrepresentableError{Dotenv, name, "contains a control character"}
			case strings.ContainsRune("#$\\'\"`", r):
				return &UnrepresentableError{Dotenv, name, fmt.Sprintf("contains %q, which dotenv readers treat differently", r)}
			}
		}
		if strings.TrimSpace(value) != value {
			return &UnrepresentableError{Dotenv, name, "starts or ends with white space, which dotenv readers strip"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s\n", v.Name, v.Value)
	}
	return b.Bytes(), nil
}

// jsonCredentials is the -f json document: the credentials plus what a
// script wants to know about them. Field names follow STS's own JSON
// (AccessKeyId, SecretAccessKey, SessionToken, Expiration).
type jsonCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
	AssumedRoleARN  string `json:"AssumedRoleArn,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
	Region          string `json:"Region,omitempty"`
}

func renderJSON(c creds.Credentials, opt Options) ([]byte, error) {
	doc := jsonCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		AssumedRoleARN:  c.AssumedRoleARN,
		AccountID:       c.AccountID(),
		Region:          opt.Region,
	}
	if !c.Expiration.IsZero() {
		doc.Expiration = formatTime(c.Expiration)
	}
	fields := []Var{
		{"AccessKeyId", doc.AccessKeyID}, {"SecretAccessKey", doc.SecretAccessKey},
		{"SessionToken", doc.SessionToken}, {"AssumedRoleArn", doc.AssumedRoleARN}, {"Region", doc.Region},
	}
	if err := checkVars(JSON, fields, nil); err != nil {
		return nil, err
	}
	return encodeJSON(doc)
}

// processCredentials is the credential_process document, exactly the fields
// aws-sdk-go-v2's processcreds.CredentialProcessResponse reads (and the AWS
// CLI and the other SDKs with it): Version must be 1; Expiration is left out
// for credentials that do not expire, which the SDKs then never refresh.
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
type processCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
}

func renderProcess(c creds.Credentials) ([]byte, error) {
	doc := processCredentials{
		Version:         1,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		AccountID:       c.AccountID(),
	}
	if !c.Expiration.IsZero() {
		doc.Expiration = formatTime(c.Expiration)
	}
	fields := []Var{{"AccessKeyId", doc.AccessKeyID}, {"SecretAccessKey", doc.SecretAccessKey}, {"SessionToken", doc.SessionToken}}
	if err := checkVars(Process, fields, nil); err != nil {
		return nil, err
	}
	out, err := encodeJSON(doc)
	if err != nil {
		return nil, err
	}
	return escapeQuotesAndBackslashes(out), nil
}

func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode json: %w", err)
	}
	return b.Bytes(), nil
}

// escapeQuotesAndBackslashes rewrites the JSON escapes \" and \\ as
// \u0022 and \u005c, which decode to the same strings. On Windows
// aws-sdk-go-v2's process provider replaces every \" in the output with "
// before parsing (credentials/processcreds/provider.go,
// executeCredentialProcess: "windows adds slashes to quotes"), which would
// corrupt or break a value holding a quote or ending in a backslash. With
// neither escape in the text, that replacement finds nothing to change.
func escapeQuotesAndBackslashes(js []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(js))
	for i := 0; i < len(js); i++ {
		if js[i] != '\\' || i+1 == len(js) {
			b.WriteByte(js[i])
			continue
		}
		switch js[i+1] {
		case '\\':
			b.WriteString(`\u005c`)
		case '"':
			b.WriteString(`\u0022`)
		default:
			b.Write(js[i : i+2])
		}
		i++
	}
	return b.Bytes()
}

// renderINI writes a section for the shared credentials file. The
// expiration goes in x_security_token_expires, the key saml2aws and
// gimme-aws-creds write and the SDKs ignore.
//
// INI has no quoting: botocore's configparser and gopkg.in/ini.v1 strip
// surrounding blanks, ini.v1 strips a matching pair of quotes and inline
// ; and # comments, and a line break ends the value. Values with any of
// those are refused.
func renderINI(c creds.Credentials, opt Options) ([]byte, error) {
	name := opt.ProfileName
	if err := awsconfig.ValidateProfileName(name); err != nil {
		return nil, &UnrepresentableError{INI, "the section name", "breaks the rule --write-profile follows too: " + err.Error()}
	}
	keys := []Var{
		{"aws_access_key_id", c.AccessKeyID},
		{"aws_secret_access_key", c.SecretAccessKey},
	}
	if c.SessionToken != "" {
		keys = append(keys, Var{"aws_session_token", c.SessionToken})
	}
	if !c.Expiration.IsZero() {
		keys = append(keys, Var{"x_security_token_expires", formatTime(c.Expiration)})
	}
	err := checkVars(INI, append([]Var{{"the section name", name}}, keys...), func(key, value string) error {
		if key == "the section name" {
			return nil
		}
		switch {
		case strings.TrimSpace(value) != value:
			return &UnrepresentableError{INI, key, "starts or ends with white space"}
		case strings.IndexFunc(value, unicode.IsControl) >= 0:
			return &UnrepresentableError{INI, key, "contains a line break or control character"}
		case strings.ContainsAny(value, ";#"):
			return &UnrepresentableError{INI, key, "contains ; or #, which ini readers may take as a comment"}
		case value != "" && strings.ContainsRune("\"'`", rune(value[0])):
			return &UnrepresentableError{INI, key, "starts with a quote, which ini readers may strip"}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "[%s]\n", name)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k.Name, k.Value)
	}
	return b.Bytes(), nil
}
