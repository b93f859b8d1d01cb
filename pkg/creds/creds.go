// Package creds holds the one value every part of rolecall passes around:
// a set of temporary AWS credentials. It exists so that the cache, the
// formatters and the STS layer agree on one type without importing each other.
//
// Credentials never print their secrets by accident: String, GoString and the
// fmt verbs show the access key ID and redact the rest, so a stray %v in an
// error or a debug line cannot leak a secret key or session token.
package creds

import (
	"fmt"
	"strings"
	"time"
)

// Credentials are temporary credentials issued by STS (or long-term keys, in
// which case SessionToken is empty and Expiration is zero).
type Credentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	SessionToken    string    `json:"SessionToken,omitempty"`
	Expiration      time.Time `json:"Expiration"`
	// AssumedRoleARN is the sts assumed-role ARN the credentials belong to
	// (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION); empty for a plain
	// session token.
	AssumedRoleARN string `json:"AssumedRoleArn,omitempty"`
}

// String shows the access key ID and expiration and redacts the secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{AccessKeyID: %s, SecretAccessKey: %s, SessionToken: %s, Expiration: %s}",
		c.AccessKeyID, Redact(c.SecretAccessKey), Redact(c.SessionToken), c.Expiration.UTC().Format(time.RFC3339))
}

// GoString makes %#v as safe as %v.
func (c Credentials) GoString() string { return c.String() }

// Format makes every fmt verb (%v, %+v, %s, %q, …) use String.
func (c Credentials) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }

// Redact replaces a secret with a marker that tells whether it was set.
func Redact(secret string) string {
	if secret == "" {
		return "<empty>"
	}
	return "<redacted>"
}

// MaxPlausibleLife is how far away an expiration may be: the longest
// session AWS issues (GetSessionToken and GetFederationToken, 36 hours)
// plus an hour for clocks. An answer that claims more is no real answer,
// and credentials that seem to outlive every refresh would never be
// replaced.
const MaxPlausibleLife = 36*time.Hour + time.Hour

// CheckTemporary reports why c cannot be the temporary credentials STS
// issues, judged at now (STS's clock where known): a field missing, a key ID
// of the wrong shape, a control character no real key or token holds, an
// expiration already past or further away than any session lasts. An
// empty or truncated answer must never reach a consumer as empty
// variables, which would make its SDK fall back silently to other
// credentials.
func (c Credentials) CheckTemporary(now time.Time) error {
	if err := c.CheckText(); err != nil {
		return err
	}
	switch {
	case c.SecretAccessKey == "":
		return fmt.Errorf("no secret access key")
	case c.SessionToken == "":
		return fmt.Errorf("no session token")
	case c.Expiration.IsZero():
		return fmt.Errorf("no expiration")
	case !c.Expiration.After(now):
		return fmt.Errorf("credentials that expired at %s", c.Expiration.UTC().Format(time.RFC3339))
	case c.Expiration.Sub(now) > MaxPlausibleLife:
		return fmt.Errorf("an expiration %s, more than 36h away (the longest session AWS issues)", c.Expiration.UTC().Format(time.RFC3339))
	}
	return nil
}

// CheckText reports a key ID of the wrong shape, or a control character
// in a key or the token (see CheckControl).
func (c Credentials) CheckText() error {
	if !validKeyID(c.AccessKeyID) {
		return fmt.Errorf("no access key ID of 16 to 128 letters and digits")
	}
	return c.CheckControl()
}

// CheckControl reports a control character (CR, LF, ESC, …) in the key ID,
// the secret key or the session token: STS's keys and tokens are letters,
// digits and base64, and what holds anything else could break a line of
// output or drive a terminal.
func (c Credentials) CheckControl() error {
	switch {
	case hasControl(c.AccessKeyID):
		return fmt.Errorf("a control character in the access key ID")
	case hasControl(c.SecretAccessKey):
		return fmt.Errorf("a control character in the secret access key")
	case hasControl(c.SessionToken):
		return fmt.Errorf("a control character in the session token")
	}
	return nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// validKeyID is STS's AccessKeyIdType: [\w]* of 16 to 128 characters.
func validKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c != '_' && (c < '0' || c > '9') && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// AccountID is the 12-digit account of AssumedRoleARN, or "". An ARN is
// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, and the resource may itself
// hold colons, hence SplitN. Hand-written rather than
// github.com/aws/aws-sdk-go-v2/aws/arn: this package imports only the
// standard library, and it needs one field.
func (c Credentials) AccountID() string {
	parts := strings.SplitN(c.AssumedRoleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || len(parts[4]) != 12 {
		return ""
	}
	for _, r := range parts[4] {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return parts[4]
}
