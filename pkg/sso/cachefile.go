package sso

import (
	"crypto/sha1" //nolint:gosec // the AWS CLI's cache file names, not a security use
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rolecall/rolecall/pkg/safefile"
)

// CacheDir is the AWS CLI's SSO cache directory under home.
func CacheDir(home string) string { return filepath.Join(home, ".aws", "sso", "cache") }

// TokenPath is the token cache file of a session: the hex SHA-1 of its
// sso-session name, or of the start URL for a legacy profile.
func TokenPath(home string, s Session) string {
	key := s.Name
	if key == "" {
		key = s.StartURL
	}
	return filepath.Join(CacheDir(home), sha1Hex(key)+".json")
}

// registrationPath is the client registration file of a session: the hex
// SHA-1 of the registration's cache key as the AWS CLI v2 builds it
// (Python's json.dumps of the dict, keys sorted, default separators).
func registrationPath(home string, s Session) string {
	sessionName, scopes := "null", "null"
	if s.Name != "" {
		sessionName = pyString(s.Name)
	}
	if len(s.Scopes) > 0 {
		quoted := make([]string, len(s.Scopes))
		for i, sc := range s.Scopes {
			quoted[i] = pyString(sc)
		}
		scopes = "[" + strings.Join(quoted, ", ") + "]"
	}
	key := `{"region": ` + pyString(s.Region) + `, "scopes": ` + scopes + `, "session_name": ` + sessionName +
		`, "startUrl": ` + pyString(s.StartURL) + `, "tool": "botocore"}`
	return filepath.Join(CacheDir(home), sha1Hex(key)+".json")
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s)) //nolint:gosec // see import
	return hex.EncodeToString(sum[:])
}

// Token is an IAM Identity Center access token as the AWS CLI v2 caches
// it.
type Token struct {
	StartURL    string
	Region      string
	AccessToken string
	ExpiresAt   time.Time
	// The client registration and refresh token of a login that can be
	// refreshed; empty for one that cannot (a legacy profile's).
	ClientID              string
	ClientSecret          string
	RegistrationExpiresAt time.Time
	RefreshToken          string

	other map[string]json.RawMessage // fields rolecall does not know, kept on rewrite
}

// Registration is a registered OIDC client as the AWS CLI v2 caches it.
type Registration struct {
	ClientID     string
	ClientSecret string
	ExpiresAt    time.Time
	Scopes       []string
	// GrantTypes is what the client registered for; the AWS CLI left it
	// out before it had the authorization code grant, which marks a device
	// code client.
	GrantTypes []string

	other map[string]json.RawMessage
}

// forAuthorizationCode is the AWS CLI's _is_registration_for_auth_code.
func (r Registration) forAuthorizationCode() bool {
	for _, g := range r.GrantTypes {
		if g == grantAuthorizationCode {
			return true
		}
	}
	return false
}

// maxCacheFile bounds what is read of a cache file: real ones are a few
// kilobytes.
const maxCacheFile = 1 << 20

// readJSONObject reads a cache file as a JSON object: a regular file
// (never a FIFO or device, safefile.ReadFile) of at most maxCacheFile bytes.
func readJSONObject(path string) (map[string]json.RawMessage, error) {
	data, err := safefile.ReadFile(path, safefile.ReadOptions{MaxSize: maxCacheFile})
	if err != nil {
		return nil, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%s is not a JSON object", path)
	}
	return obj, nil
}

// fields takes the known string and time fields out of obj, leaving the
// rest in it.
func takeString(obj map[string]json.RawMessage, key string, dst *string) error {
	raw, ok := obj[key]
	if !ok {
		return nil
	}
	delete(obj, key)
	if string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s is not a string", key)
	}
	return nil
}

func takeTime(obj map[string]json.RawMessage, key string, dst *time.Time) error {
	var s string
	if err := takeString(obj, key, &s); err != nil || s == "" {
		return err
	}
	t, err := parseTime(s)
	if err != nil {
		return fmt.Errorf("%s %q is not a time", key, s)
	}
	*dst = t
	return nil
}

func takeStrings(obj map[string]json.RawMessage, key string, dst *[]string) error {
	raw, ok := obj[key]
	if !ok {
		return nil
	}
	delete(obj, key)
	if string(raw) == "null" {
		return nil
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%s is not a list of strings", key)
	}
	return nil
}

// parseTime reads the times the AWS CLIs and SDKs write: RFC 3339
// (2006-01-02T15:04:05Z, with or without fractions or an offset), and
// botocore's older %Y-%m-%dT%H:%M:%S%Z form (…UTC). A time without a zone
// is UTC, as dateutil reads the CLI's files.
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05UTC", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not a time")
}

// formatTime is how the AWS CLI v2 writes times in these files
// (_sso_json_dumps: strftime('%Y-%m-%dT%H:%M:%SZ') of a UTC time).
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// ReadToken reads a token cache file. A missing file is an error that
// wraps fs.ErrNotExist.
func ReadToken(path string) (Token, error) {
	obj, err := readJSONObject(path)
	if err != nil {
		return Token{}, err
	}
	var t Token
	for _, err := range []error{
		takeString(obj, "startUrl", &t.StartURL),
		takeString(obj, "region", &t.Region),
		takeString(obj, "accessToken", &t.AccessToken),
		takeTime(obj, "expiresAt", &t.ExpiresAt),
		takeString(obj, "clientId", &t.ClientID),
		takeString(obj, "clientSecret", &t.ClientSecret),
		takeTime(obj, "registrationExpiresAt", &t.RegistrationExpiresAt),
		takeString(obj, "refreshToken", &t.RefreshToken),
	} {
		if err != nil {
			return Token{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	// botocore's SSOTokenLoader refuses a token without these two.
	if t.AccessToken == "" || t.ExpiresAt.IsZero() {
		return Token{}, fmt.Errorf("%s has no accessToken and expiresAt", path)
	}
	t.other = obj
	return t, nil
}

// encode is the file's content, fields in the order the AWS CLI writes
// them, then the ones rolecall does not know.
func (t Token) encode() []byte {
	o := &object{}
	o.str("startUrl", t.StartURL)
	o.str("region", t.Region)
	o.str("accessToken", t.AccessToken)
	o.str("expiresAt", formatTime(t.ExpiresAt))
	if t.ClientID != "" {
		o.str("clientId", t.ClientID)
		o.str("clientSecret", t.ClientSecret)
		if !t.RegistrationExpiresAt.IsZero() {
			o.str("registrationExpiresAt", formatTime(t.RegistrationExpiresAt))
		}
	}
	if t.RefreshToken != "" {
		o.str("refreshToken", t.RefreshToken)
	}
	o.rest(t.other)
	return o.bytes()
}

// readRegistration reads a client registration file.
func readRegistration(path string) (Registration, error) {
	obj, err := readJSONObject(path)
	if err != nil {
		return Registration{}, err
	}
	var r Registration
	for _, err := range []error{
		takeString(obj, "clientId", &r.ClientID),
		takeString(obj, "clientSecret", &r.ClientSecret),
		takeTime(obj, "expiresAt", &r.ExpiresAt),
		takeStrings(obj, "scopes", &r.Scopes),
		takeStrings(obj, "grantTypes", &r.GrantTypes),
	} {
		if err != nil {
			return Registration{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	if r.ClientID == "" || r.ClientSecret == "" || r.ExpiresAt.IsZero() {
		return Registration{}, fmt.Errorf("%s has no clientId, clientSecret and expiresAt", path)
	}
	r.other = obj
	return r, nil
}

func (r Registration) encode() []byte {
	o := &object{}
	o.str("clientId", r.ClientID)
	o.str("clientSecret", r.ClientSecret)
	o.str("expiresAt", formatTime(r.ExpiresAt))
	if len(r.Scopes) > 0 {
		o.list("scopes", r.Scopes)
	}
	if len(r.GrantTypes) > 0 {
		o.list("grantTypes", r.GrantTypes)
	}
	o.rest(r.other)
	return o.bytes()
}

// object writes a JSON object as Python's json.dumps does: members in
// order, ", " and ": " between them, non-ASCII escaped.
type object struct{ members []string }

func (o *object) str(key, value string) {
	o.members = append(o.members, pyString(key)+": "+pyString(value))
}

func (o *object) list(key string, values []string) {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = pyString(v)
	}
	o.members = append(o.members, pyString(key)+": ["+strings.Join(quoted, ", ")+"]")
}

func (o *object) rest(other map[string]json.RawMessage) {
	keys := make([]string, 0, len(other))
	for k := range other {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o.members = append(o.members, pyString(k)+": "+string(other[k]))
	}
}

func (o *object) bytes() []byte { return []byte("{" + strings.Join(o.members, ", ") + "}") }

// pyString is s as a JSON string the way Python's json.dumps writes it
// (ensure_ascii): the registration file's name is a hash of such text, so
// it must match byte for byte.
func pyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f && r < 0x10000:
			// DEL too: ensure_ascii writes only ' ' to '~' as they are.
			fmt.Fprintf(&b, `\u%04x`, r)
		case r >= 0x10000:
			r -= 0x10000
			fmt.Fprintf(&b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// loadRegistration returns the cached registration of a session that can
// serve the grant and has more than expiryWindow left, as the AWS CLI
// decides (_registration: not _is_expired, and _is_registration_for_auth_code
// matching the flow); ok is false otherwise.
func loadRegistration(home string, s Session, forAuthCode bool, now time.Time) (Registration, bool) {
	r, err := readRegistration(registrationPath(home, s))
	if err != nil || r.ExpiresAt.Sub(now) < expiryWindow || r.forAuthorizationCode() != forAuthCode {
		return Registration{}, false
	}
	return r, true
}

// isNotExist reports a missing file.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
