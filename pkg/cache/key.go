package cache

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// The kinds of STS call an entry can come from. They are part of the key, so
// a session token and an assumed role never share an entry.
const (
	KindAssumeRole   = "assume-role"
	KindSessionToken = "session-token"
	KindWebIdentity  = "web-identity"
	// KindFederationToken is GetFederationToken: a federated user's session
	// made from an IAM user's long-term keys, which can sign in to the
	// console where the user's own keys cannot.
	KindFederationToken = "federation-token"
	// KindSSORole is IAM Identity Center's GetRoleCredentials: the role
	// credentials of a permission set in an account, for the access token
	// of a login. Not an STS call, but cached and locked like one.
	KindSSORole = "sso-role"
	// KindEKSToken is an Amazon EKS bearer token (package eks): a
	// presigned GetCallerIdentity URL signed with cached credentials. No
	// call at all, but cached and locked like one, so that concurrent
	// kubectl processes sign once. Its entry holds the token, not
	// credentials.
	KindEKSToken = "eks-token"
)

// ValidKind reports whether kind is one of the kinds above.
func ValidKind(kind string) bool {
	switch kind {
	case KindAssumeRole, KindSessionToken, KindWebIdentity, KindFederationToken, KindSSORole, KindEKSToken:
		return true
	}
	return false
}

// Tag is a session tag of an AssumeRole request.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// KeyInput is everything that changes the credentials STS returns. Two
// requests with equal KeyInputs may share cached credentials; any difference
// must give a different key. Lists whose order STS ignores (policy ARNs, tags,
// transitive tag keys) are sorted before hashing, so the same request written
// with its flags in another order still hits.
type KeyInput struct {
	// Kind is KindAssumeRole, KindSessionToken, KindWebIdentity,
	// KindFederationToken, KindSSORole or KindEKSToken.
	Kind string
	// Source identifies the base credentials: "profile:NAME", "env:AKIA…",
	// "cache:<parent key>" for a chain hop, "web-identity:<issuer/subject or
	// token file>"; for KindEKSToken the identity of the credentials that
	// sign it ("credentials:<their key>").
	Source  string
	RoleARN string
	// SessionName is the role session name, or a federated user's Name
	// (empty: the IAM user's own name, which the Source already fixes);
	// for KindEKSToken the cluster name.
	SessionName    string
	ExternalID     string
	MFASerial      string
	Policy         string // already canonicalised by the caller
	SourceIdentity string
	Region         string
	Endpoint       string

	PolicyARNs        []string
	Tags              []Tag
	TransitiveTagKeys []string
	DurationSeconds   int
}

// keyDomain starts every encoding, so that a change to the encoding (a new
// field) changes every key instead of colliding with old ones.
const keyDomain = "rolecall cache key v1"

// Key returns the hex SHA-256 of the canonical encoding of k.
//
// The encoding is a fixed sequence of fields in a fixed order, each string
// prefixed by its length and each list by its count (uvarints), so it is
// injective: moving characters from one field to the next, or an element
// from one list to another, changes the bytes. JSON was not used because
// encoding/json maps every invalid UTF-8 sequence to U+FFFD, which would
// let two different byte strings collide.
func (k KeyInput) Key() string {
	b := make([]byte, 0, 1024) // stays on the stack for ordinary requests
	b = appendStr(b, keyDomain)
	b = appendStr(b, k.Kind)
	b = appendStr(b, k.Source)
	b = appendStr(b, k.RoleARN)
	b = appendStr(b, k.SessionName)
	b = appendStr(b, k.ExternalID)
	b = appendStr(b, k.MFASerial)
	b = appendStr(b, k.Policy)
	b = appendStr(b, k.SourceIdentity)
	b = appendStr(b, k.Region)
	b = appendStr(b, k.Endpoint)
	b = appendSet(b, k.PolicyARNs)
	tags := k.Tags
	byKey := func(a, b Tag) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value)) }
	if !slices.IsSortedFunc(tags, byKey) {
		tags = slices.Clone(tags)
		slices.SortFunc(tags, byKey)
	}
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, t := range tags {
		b = appendStr(b, t.Key)
		b = appendStr(b, t.Value)
	}
	b = appendSet(b, k.TransitiveTagKeys)
	b = binary.AppendVarint(b, int64(k.DurationSeconds))
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendSet appends list sorted: STS treats these lists as sets, and the
// caller's slice is left alone.
func appendSet(b []byte, list []string) []byte {
	if !slices.IsSorted(list) {
		list = slices.Clone(list)
		slices.Sort(list)
	}
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = appendStr(b, s)
	}
	return b
}

// validKey reports whether key looks like a Key result. Keys become file
// names, so anything else (a path separator, "..") is refused.
func validKey(key string) bool {
	if len(key) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
