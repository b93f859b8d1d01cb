package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rolecall/rolecall/pkg/creds"
)

// CurrentVersion is the entry format this package writes. An entry with any
// other version is ignored and replaced, so a format change never needs a
// migration: the worst case is one extra STS call.
const CurrentVersion = 1

// Entry is one cached set of credentials, stored as JSON in K.json, or (kind
// KindEKSToken) one EKS token, whose Credentials then hold only the token's
// expiration and no key.
//
// Besides the credentials (or the token) it holds what `rolecall cache list`
// shows to tell entries apart: the label, role ARN, session name, kind and
// cluster, when it was made, and the fields of its key that are no secret
// (Request). An external ID is recorded only as being set, and a session
// policy only by its digest.
type Entry struct {
	Version int    `json:"version"`
	Kind    string `json:"kind"`
	// Key is the cache key the entry was written for. Fetch fills it in;
	// an entry found under another key's file name is ignored.
	Key string `json:"key"`
	// Label is what the user asked for: a role ARN or a profile name.
	Label       string            `json:"label"`
	RoleARN     string            `json:"role_arn,omitempty"`
	SessionName string            `json:"session_name,omitempty"`
	Credentials creds.Credentials `json:"credentials"`
	// Token is a KindEKSToken entry's token (a credential, like the
	// keys), Cluster the cluster it is for.
	Token   string `json:"token,omitempty"`
	Cluster string `json:"cluster,omitempty"`
	// CreatedAt is when the credentials were fetched (the caller's clock).
	CreatedAt time.Time `json:"created_at"`
	// ClockSkew is STS's clock minus this machine's when the credentials
	// were fetched (from the answer's Date header), when over a minute. The
	// expiration is already in this machine's terms; the skew is kept so
	// that a cache hit can still say the clock is off.
	ClockSkew time.Duration `json:"clock_skew,omitempty"`
	// Request is what the key was made of, less secrets (nil in entries
	// written before it was kept). Stored as "request"; only List decodes
	// it: a cache hit does not pay for decoding what it does not use.
	Request *KeyFields `json:"-"`
	// request is the stored Request, undecoded.
	request json.RawMessage
}

// storedEntry is an Entry as its file holds it.
type storedEntry struct {
	Entry
	Request json.RawMessage `json:"request,omitempty"`
}

// decodeRequest fills e.Request from what the file held.
func (e *Entry) decodeRequest() {
	if len(e.request) == 0 || e.Request != nil {
		return
	}
	var f KeyFields
	if json.Unmarshal(e.request, &f) == nil {
		e.Request = &f
	}
}

// KeyFields are a KeyInput's fields as an entry keeps them: everything that
// tells two entries of one role apart, and nothing secret.
type KeyFields struct {
	// Source says in words where the credentials came from: a profile,
	// keys in the environment, the hop before (for a chain), a token.
	Source string `json:"source"`
	// SourceID is the key's own Source: a profile, an access key ID, the
	// parent entry's key, or a digest of a token.
	SourceID          string   `json:"source_id"`
	Region            string   `json:"region,omitempty"`
	Endpoint          string   `json:"endpoint,omitempty"`
	ExternalID        bool     `json:"external_id,omitempty"`
	MFASerial         string   `json:"mfa_serial,omitempty"`
	PolicySHA256      string   `json:"policy_sha256,omitempty"`
	PolicyARNs        []string `json:"policy_arns,omitempty"`
	Tags              []Tag    `json:"tags,omitempty"`
	TransitiveTagKeys []string `json:"transitive_tag_keys,omitempty"`
	SourceIdentity    string   `json:"source_identity,omitempty"`
	DurationSeconds   int      `json:"duration_seconds,omitempty"`
}

// Fields are k's fields for an entry, source describing k.Source in words.
func (k KeyInput) Fields(source string) *KeyFields {
	f := &KeyFields{
		Source: source, SourceID: k.Source, Region: k.Region, Endpoint: k.Endpoint,
		ExternalID: k.ExternalID != "", MFASerial: k.MFASerial, PolicyARNs: k.PolicyARNs,
		Tags: k.Tags, TransitiveTagKeys: k.TransitiveTagKeys, SourceIdentity: k.SourceIdentity,
		DurationSeconds: k.DurationSeconds,
	}
	if k.Policy != "" {
		sum := sha256.Sum256([]byte(k.Policy))
		f.PolicySHA256 = hex.EncodeToString(sum[:])
	}
	return f
}

// Sane bounds for the times in an entry: anything outside is corruption,
// and years outside 0–9999 could not even be written back as JSON.
var (
	minEntryTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	maxEntryTime = time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxLifetime is the longest session STS gives (GetSessionToken, 36
// hours): an entry that claims to live longer than that from its creation
// was not written by rolecall from an STS answer.
const maxLifetime = 36 * time.Hour

// maxClockSkew bounds an entry's ClockSkew: a machine whose clock is more
// than a day off STS's cannot sign a request at all (SigV4 allows 15
// minutes), so a larger skew was never measured.
const maxClockSkew = 24 * time.Hour

// maxClockStep is how far in the future an entry's creation time may be:
// the clock that stamped it is this machine's, which can be stepped back a
// little by NTP, but an entry from further in the future is corrupt or
// planted.
const maxClockStep = time.Minute

// errInvalidEntry is wrapped by every reason an entry is not usable.
var errInvalidEntry = errors.New("invalid cache entry")

// validate reports why e cannot be used as a cache entry, or nil.
func (e Entry) validate() error {
	switch {
	case e.Version != CurrentVersion:
		return fmt.Errorf("%w: version %d, want %d", errInvalidEntry, e.Version, CurrentVersion)
	case !ValidKind(e.Kind):
		return fmt.Errorf("%w: unknown kind %q", errInvalidEntry, e.Kind)
	case !validKey(e.Key):
		return fmt.Errorf("%w: bad key", errInvalidEntry)
	case e.ClockSkew > maxClockSkew || e.ClockSkew < -maxClockSkew:
		return fmt.Errorf("%w: a clock skew beyond %s", errInvalidEntry, maxClockSkew)
	}
	if err := e.validateContent(); err != nil {
		return err
	}
	switch {
	case !inRange(e.Credentials.Expiration):
		return fmt.Errorf("%w: no usable expiration", errInvalidEntry)
	case !inRange(e.CreatedAt):
		return fmt.Errorf("%w: no usable creation time", errInvalidEntry)
	case !e.Credentials.Expiration.After(e.CreatedAt):
		return fmt.Errorf("%w: expires before it was created", errInvalidEntry)
	case e.Credentials.Expiration.Sub(e.CreatedAt) > maxLifetime:
		return fmt.Errorf("%w: lives longer than any STS session (%s)", errInvalidEntry, maxLifetime)
	}
	return nil
}

// validateContent checks what the entry holds: temporary credentials, or
// for KindEKSToken a token and its cluster and no keys.
func (e Entry) validateContent() error {
	if e.Kind == KindEKSToken {
		if e.Token == "" || e.Cluster == "" || e.Credentials.AccessKeyID != "" || e.Credentials.SecretAccessKey != "" || e.Credentials.SessionToken != "" {
			return fmt.Errorf("%w: an EKS token entry holds a token and its cluster, and no keys", errInvalidEntry)
		}
		return nil
	}
	if e.Token != "" || e.Cluster != "" {
		return fmt.Errorf("%w: a token in a credentials entry", errInvalidEntry)
	}
	if e.Credentials.AccessKeyID == "" || e.Credentials.SecretAccessKey == "" || e.Credentials.SessionToken == "" {
		// Only temporary credentials are cached: long-term keys (no
		// session token) already live in the user's credentials file.
		return fmt.Errorf("%w: incomplete credentials", errInvalidEntry)
	}
	if err := e.Credentials.CheckControl(); err != nil {
		// What STS answered was checked; this was planted or corrupted.
		return fmt.Errorf("%w: %w", errInvalidEntry, err)
	}
	return nil
}

func inRange(t time.Time) bool {
	return !t.Before(minEntryTime) && t.Before(maxEntryTime)
}

// plausibleAt reports whether e could have been written by now: an entry
// created in the future is corrupt or planted, whatever it says.
func (e Entry) plausibleAt(now time.Time) bool {
	return !e.CreatedAt.After(now.Add(maxClockStep))
}

// freshAt reports whether e can be handed out at now: plausible, and with
// more than window left.
func (e Entry) freshAt(now time.Time, window time.Duration) bool {
	return e.plausibleAt(now) && e.Credentials.Expiration.Sub(now) > window
}

// decodeEntry parses and validates an entry file. Any input, however
// malformed, gives an error and never a panic.
func decodeEntry(data []byte) (Entry, error) {
	var stored storedEntry
	if err := json.Unmarshal(data, &stored); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", errInvalidEntry, err)
	}
	e := stored.Entry
	e.request = stored.Request
	if err := e.validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// encodeEntry is the file content for e. Times are stored in UTC so that
// the file does not depend on the writer's time zone.
func encodeEntry(e Entry) ([]byte, error) {
	e.Credentials.Expiration = e.Credentials.Expiration.UTC()
	e.CreatedAt = e.CreatedAt.UTC()
	stored := storedEntry{Entry: e, Request: e.request}
	if e.Request != nil {
		raw, err := json.Marshal(e.Request)
		if err != nil {
			return nil, fmt.Errorf("encode cache entry: %w", err)
		}
		stored.Request = raw
	}
	data, err := json.MarshalIndent(stored, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode cache entry: %w", err)
	}
	return append(data, '\n'), nil
}
