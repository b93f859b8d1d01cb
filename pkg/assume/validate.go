package assume

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/rolecall/rolecall/pkg/cache"
)

// Limits of the STS request parameters, from the AssumeRole API reference
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html)
// and the IAM quotas page
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
// Checking them here turns a round trip and a terse ValidationError into an
// immediate message that names the flag.
const (
	MinDuration          = 15 * time.Minute
	MaxDuration          = 12 * time.Hour
	MaxChainedDuration   = time.Hour
	MaxSessionDuration   = 36 * time.Hour // GetSessionToken for IAM users
	MaxPolicyChars       = 2048
	MaxPolicyARNs        = 10
	MaxTags              = 50
	MaxTagKeyChars       = 128
	MaxTagValueChars     = 256
	minRoleARNChars      = 20
	maxRoleARNChars      = 2048
	minSessionNameChars  = 2
	maxSessionNameChars  = 64
	minExternalIDChars   = 2
	maxExternalIDChars   = 1224
	minMFASerialChars    = 9
	maxMFASerialChars    = 256
	minSourceIDChars     = 2
	maxSourceIDChars     = 64
	mfaTokenCodeDigits   = 6
	defaultSessionPrefix = "rolecall-"
)

// InputError is a request that STS would refuse, found before any call. The
// CLI maps it to the usage exit code.
type InputError struct {
	Param string // the STS parameter or flag concept, e.g. "session name"
	Msg   string
}

func (e *InputError) Error() string { return e.Param + ": " + e.Msg }

func inputErrorf(param, format string, args ...any) error {
	return &InputError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// partitions rolecall knows the STS endpoints of.
var defaultRegionByPartition = map[string]string{
	"aws":        "us-east-1",
	"aws-cn":     "cn-north-1",
	"aws-us-gov": "us-gov-west-1",
}

// ValidateRoleARN checks that s is an IAM role ARN in a known partition.
func ValidateRoleARN(s string) error {
	a, err := arn.Parse(s)
	if err != nil {
		return inputErrorf("role ARN", "%q is not an ARN (want arn:aws:iam::123456789012:role/NAME)", s)
	}
	if _, ok := defaultRegionByPartition[a.Partition]; !ok {
		return inputErrorf("role ARN", "%q has unknown partition %q (want aws, aws-cn or aws-us-gov)", s, a.Partition)
	}
	if a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") || len(a.Resource) == len("role/") {
		return inputErrorf("role ARN", "%q is not an IAM role ARN (want arn:%s:iam::ACCOUNT:role/NAME)", s, a.Partition)
	}
	if !isAccountID(a.AccountID) {
		return inputErrorf("role ARN", "%q has account %q, want 12 digits", s, a.AccountID)
	}
	if n := len(s); n < minRoleARNChars || n > maxRoleARNChars {
		return inputErrorf("role ARN", "must be %d to %d characters, got %d", minRoleARNChars, maxRoleARNChars, n)
	}
	if !isRoleResource(a.Resource) {
		return inputErrorf("role ARN", "%q has an invalid role path or name (names are 1 to 64 letters, digits and _+=,.@-)", s)
	}
	return nil
}

// isRoleResource checks "role/PATH/NAME" as IAM defines them: a name of
// 1 to 64 of [\w+=,.@-], a path of printable ASCII without spaces
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_Role.html).
func isRoleResource(resource string) bool {
	parts := strings.Split(strings.TrimPrefix(resource, "role/"), "/")
	name := parts[len(parts)-1]
	if name == "" || len(name) > 64 || !isSTSName(name, "") {
		return false
	}
	for _, p := range parts[:len(parts)-1] {
		for i := 0; i < len(p); i++ {
			if p[i] < 0x21 || p[i] > 0x7e {
				return false
			}
		}
	}
	return true
}

// LooksLikeARN tells a role ARN argument from a profile name.
func LooksLikeARN(s string) bool { return strings.HasPrefix(s, "arn:") }

// DefaultRegion is the region whose STS endpoint serves roleARN's partition
// when nothing else names one.
func DefaultRegion(roleARN string) string {
	if a, err := arn.Parse(roleARN); err == nil {
		if r, ok := defaultRegionByPartition[a.Partition]; ok {
			return r
		}
	}
	return "us-east-1"
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isSTSName reports whether s matches STS's [\w+=,.@-]* plus any extra runes.
func isSTSName(s, extra string) bool {
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && (r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
		case strings.ContainsRune("+=,.@-", r), strings.ContainsRune(extra, r):
		default:
			return false
		}
	}
	return true
}

func checkName(param, s string, minLen, maxLen int, extra string) error {
	if n := len(s); n < minLen || n > maxLen {
		return inputErrorf(param, "must be %d to %d characters, got %d", minLen, maxLen, n)
	}
	if !isSTSName(s, extra) {
		allowed := "letters, digits and _+=,.@-" + extra
		return inputErrorf(param, "%q may hold only %s", s, allowed)
	}
	return nil
}

// ValidateSessionName checks a RoleSessionName.
func ValidateSessionName(s string) error {
	return checkName("session name", s, minSessionNameChars, maxSessionNameChars, "")
}

// ValidateSourceIdentity checks a SourceIdentity.
func ValidateSourceIdentity(s string) error {
	return checkName("source identity", s, minSourceIDChars, maxSourceIDChars, "")
}

// ValidateExternalID checks an ExternalId.
func ValidateExternalID(s string) error {
	return checkName("external ID", s, minExternalIDChars, maxExternalIDChars, ":/")
}

// ValidateMFASerial checks an MFA device serial number or ARN.
func ValidateMFASerial(s string) error {
	return checkName("MFA serial", s, minMFASerialChars, maxMFASerialChars, ":/")
}

// ValidateTokenCode checks an MFA code: exactly six digits.
func ValidateTokenCode(s string) error {
	if len(s) != mfaTokenCodeDigits || strings.Trim(s, "0123456789") != "" {
		return inputErrorf("MFA code", "must be %d digits", mfaTokenCodeDigits)
	}
	return nil
}

// ValidateDuration checks a role session duration.
func ValidateDuration(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < MinDuration || d > MaxDuration || d%time.Second != 0 {
		return inputErrorf("duration", "%s is out of range: use whole seconds from %s to %s", d, MinDuration, MaxDuration)
	}
	return nil
}

// Limits of GetFederationToken, from its API reference
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetFederationToken.html):
// Name is 2 to 32 of [\w+=,.@-]; DurationSeconds is 900 to 129,600 (36h).
// And of the federation endpoint's SessionDuration: 900 to 43,200 seconds
// ("Enable custom identity broker access to the AWS console", IAM User
// Guide).
const (
	MaxFederationDuration = 36 * time.Hour
	MinConsoleDuration    = 15 * time.Minute
	MaxConsoleDuration    = 12 * time.Hour
	minFederatedNameChars = 2
	maxFederatedNameChars = 32
)

// ValidateFederationDuration checks a GetFederationToken duration.
func ValidateFederationDuration(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < MinDuration || d > MaxFederationDuration || d%time.Second != 0 {
		return inputErrorf("duration", "%s is out of range: use whole seconds from %s to %s", d, MinDuration, MaxFederationDuration)
	}
	return nil
}

// DefaultMFASessionDuration is how long the MFA session that serves every
// role assumed from long-term keys lasts when --mfa-session-duration is
// not given.
const DefaultMFASessionDuration = 12 * time.Hour

// ValidateMFASessionDuration checks the life of the MFA session
// (GetSessionToken: 15m to 36h for an IAM user); 0 is STS's default. It is
// checked before anyone is asked for a code: STS would refuse it only
// after the code was spent.
func ValidateMFASessionDuration(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < MinDuration || d > MaxSessionDuration || d%time.Second != 0 {
		return inputErrorf("--mfa-session-duration", "%s is out of range: use whole seconds from %s to %s", d, MinDuration, MaxSessionDuration)
	}
	return nil
}

// ValidateConsoleDuration checks a console session length (the federation
// endpoint's SessionDuration); 0 is none.
func ValidateConsoleDuration(d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < MinConsoleDuration || d > MaxConsoleDuration || d%time.Second != 0 {
		return inputErrorf("console duration", "%s is out of range: use whole seconds from %s to %s", d, MinConsoleDuration, MaxConsoleDuration)
	}
	return nil
}

// ValidateFederatedUserName checks a GetFederationToken Name.
func ValidateFederatedUserName(s string) error {
	return checkName("federated user name", s, minFederatedNameChars, maxFederatedNameChars, "")
}

// FederatedUserNameFor makes a valid GetFederationToken Name from the
// caller's ARN (arn:aws:iam::ACCOUNT:user/PATH/NAME, or …:root): the last
// part, with every character STS rejects replaced by '-', cut to 32
// characters as aws-vault does (vault/federationtokenprovider.go).
func FederatedUserNameFor(callerARN string) string {
	name := callerARN
	if i := strings.LastIndexAny(name, "/:"); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		if b.Len() >= maxFederatedNameChars {
			break
		}
		if isSTSName(string(r), "") {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() >= minFederatedNameChars {
		return b.String()
	}
	n := SessionNameFor(b.String()) // rolecall-X: long enough
	return n[:min(len(n), maxFederatedNameChars)]
}

// SessionNameFor makes a valid RoleSessionName from the OS user name:
// "rolecall-" plus the name with every character STS rejects replaced by '-'.
func SessionNameFor(user string) string {
	var b strings.Builder
	b.WriteString(defaultSessionPrefix)
	for _, r := range user {
		if b.Len() >= maxSessionNameChars {
			break
		}
		if isSTSName(string(r), "") {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	if b.Len() == len(defaultSessionPrefix) {
		b.WriteString("user")
	}
	return b.String()
}

// CanonicalPolicy validates a session policy and returns it with the
// whitespace outside strings removed: the form STS measures against its
// 2,048-character limit, and the form the cache key is computed from, so
// reformatting a policy file does not miss the cache.
func CanonicalPolicy(policy string) (string, error) {
	if policy == "" {
		return "", nil
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(policy)); err != nil {
		return "", inputErrorf("policy", "is not valid JSON: %v", err)
	}
	if buf.Len() == 0 || buf.Bytes()[0] != '{' {
		return "", inputErrorf("policy", "must be a JSON object")
	}
	if n := utf8.RuneCount(buf.Bytes()); n > MaxPolicyChars {
		return "", inputErrorf("policy", "is %d characters after removing whitespace; STS allows %d", n, MaxPolicyChars)
	}
	return buf.String(), nil
}

// ValidatePolicyARNs checks the managed session policy ARNs.
func ValidatePolicyARNs(arns []string) error {
	if len(arns) > MaxPolicyARNs {
		return inputErrorf("policy ARNs", "%d given; STS allows at most %d", len(arns), MaxPolicyARNs)
	}
	for _, s := range arns {
		a, err := arn.Parse(s)
		if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "policy/") {
			return inputErrorf("policy ARN", "%q is not an IAM policy ARN (want arn:aws:iam::aws:policy/NAME)", s)
		}
	}
	return nil
}

// ValidateTags checks session tags and transitive tag keys.
func ValidateTags(tags []cache.Tag, transitive []string) error {
	if len(tags) > MaxTags {
		return inputErrorf("tags", "%d given; STS allows at most %d", len(tags), MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > MaxTagKeyChars || !isTagText(t.Key) {
			return inputErrorf("tag", "key %q must be 1 to %d letters, digits, spaces or _.:/=+-@", t.Key, MaxTagKeyChars)
		}
		if n := utf8.RuneCountInString(t.Value); n > MaxTagValueChars || !isTagText(t.Value) {
			return inputErrorf("tag", "value of %q must be at most %d letters, digits, spaces or _.:/=+-@", t.Key, MaxTagValueChars)
		}
		// Tag keys are case-insensitive in STS: two that differ only in case
		// are refused (see "Passing session tags in AWS STS" in the IAM guide).
		k := strings.ToLower(t.Key)
		if seen[k] {
			return inputErrorf("tag", "key %q given twice (keys are case-insensitive)", t.Key)
		}
		seen[k] = true
	}
	for _, k := range transitive {
		if !seen[strings.ToLower(k)] {
			return inputErrorf("transitive tag key", "%q is not the key of a --tag", k)
		}
	}
	return nil
}

// isTagText matches IAM's tag pattern [\p{L}\p{Z}\p{N}_.:/=+\-@]*.
func isTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.Is(unicode.Z, r) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}
