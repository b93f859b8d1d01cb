package ststest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// userEntry is a configured IAM user, or an account's root user.
type userEntry struct {
	arn     string
	id      string
	account string
	root    bool
}

// roleEntry is a configured IAM role.
type roleEntry struct {
	Role
	id      string
	name    string // last segment of the role's path: what assumed-role ARNs carry
	account string
	maxSecs int
}

// session is a set of temporary credentials the emulator issued. The server
// keeps them so that it can verify requests signed with them, name their
// caller, and apply the rules that depend on the kind of session.
type session struct {
	accessKeyID     string
	secretAccessKey string
	sessionToken    string
	expiration      time.Time

	arn     string // assumed-role ARN, federated-user ARN, or the user's ARN for GetSessionToken sessions
	userID  string // AROA…:SESSION, ACCOUNT:NAME, or the user's AIDA… ID
	account string

	user *userEntry // the user behind a GetSessionToken or GetFederationToken session
	role *roleEntry // the role of a role session

	// federated marks a GetFederationToken session: a federated user, who
	// may call no STS action but GetCallerIdentity.
	federated bool
	// chained marks a role session assumed with temporary credentials (role
	// chaining), which the console federation endpoint treats apart.
	chained bool

	// mfa is aws:MultiFactorAuthPresent: the session was made with an MFA
	// code, or descends from one that was.
	mfa bool
	// transitiveTags are the session tags that pass on to chained sessions,
	// keyed by lower-cased key because tag keys are case-insensitive.
	transitiveTags map[string]tag
	sourceIdentity string
}

// principal is who signed a request: an IAM user with long-term keys, or the
// holder of a session the emulator issued.
type principal struct {
	arn     string
	userID  string
	account string
	user    *userEntry // long-term keys, or a GetSessionToken session's user
	session *session   // nil for long-term keys
}

// isRoleSession reports whether the caller holds role credentials, which
// makes its AssumeRole calls role chaining.
func (p *principal) isRoleSession() bool { return p.session != nil && p.session.role != nil }

// isFederatedUser reports whether the caller holds GetFederationToken
// credentials.
func (p *principal) isFederatedUser() bool { return p.session != nil && p.session.federated }

// isRoot reports whether the caller is an account's root user, with its
// keys or a session of them.
func (p *principal) isRoot() bool { return p.user != nil && p.user.root }

type tag struct{ Key, Value string }

// credentialAlphabet is what AWS access key IDs are made of.
const credentialAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// uniqueID derives a stable IAM unique ID (AIDA…, AROA…) from an ARN: the
// prefix and 17 characters, 21 in all, as IAM's IDs are.
func uniqueID(prefix, from string) string {
	sum := sha256.Sum256([]byte(from))
	enc := base32.NewEncoding(credentialAlphabet).WithPadding(base32.NoPadding)
	return prefix + enc.EncodeToString(sum[:])[:17]
}

// tokenPrefix is how STS session tokens begin today.
const tokenPrefix = "IQoJb3JpZ2luX2Vj" //nolint:gosec // a fixed prefix, not a credential

// newTemporaryCredentials makes credentials shaped like STS's: an ASIA access
// key of 20 characters, a 40-character secret and a base64 session token of
// at least tokenLen characters (real ones begin with the same prefix and run
// to hundreds of characters, with '/', '+' and '=').
func newTemporaryCredentials(tokenLen int) (accessKeyID, secret, token string) {
	// base64 of 3n-1 bytes is 4n characters ending in one '='.
	blocks := (tokenLen - len(tokenPrefix) + 3) / 4
	buf := make([]byte, 10+30+blocks*3-1)
	if _, err := rand.Read(buf); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	enc := base32.NewEncoding(credentialAlphabet).WithPadding(base32.NoPadding)
	accessKeyID = "ASIA" + enc.EncodeToString(buf[:10])[:16]
	secret = base64.StdEncoding.EncodeToString(buf[10:40])
	token = tokenPrefix + base64.StdEncoding.EncodeToString(buf[40:])
	return accessKeyID, secret, token
}

// assumedRoleARN is the ARN STS gives a role session.
func assumedRoleARN(r *roleEntry, sessionName string) string {
	return "arn:aws:sts::" + r.account + ":assumed-role/" + r.name + "/" + sessionName
}

func newRoleEntry(r Role) *roleEntry {
	a, _ := arn.Parse(r.ARN) // checked by Config.Validate
	name := a.Resource[strings.LastIndex(a.Resource, "/")+1:]
	e := &roleEntry{Role: r, id: r.ID, name: name, account: a.AccountID, maxSecs: r.MaxSessionDuration}
	if e.id == "" {
		e.id = uniqueID("AROA", r.ARN)
	}
	if e.maxSecs == 0 {
		e.maxSecs = 3600
	}
	return e
}

func newUserEntry(u User) *userEntry {
	a, _ := arn.Parse(u.ARN) // checked by Config.Validate
	e := &userEntry{arn: u.ARN, id: u.ID, account: a.AccountID, root: a.Resource == "root"}
	switch {
	case e.id != "":
	case e.root:
		// GetCallerIdentity reports the account ID as the root user's
		// UserId (kubeflow/testing#961 shows a real answer).
		e.id = a.AccountID
	default:
		e.id = uniqueID("AIDA", u.ARN)
	}
	return e
}
