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
