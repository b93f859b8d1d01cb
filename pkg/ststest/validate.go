package ststest

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parameter patterns from the STS API reference
// (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
// STS quotes them verbatim in its validation messages.
const (
	patternARN         = `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`
	patternSessionName = `[\w+=,.@-]*`
	patternExternalID  = `[\w+=,.@:\/-]*`
	patternSerial      = `[\w+=/:,.@-]*`
	patternTokenCode   = `[\d]*`
	patternPolicy      = `[\u0009\u000A\u000D\u0020-\u00FF]+`
	patternTagKey      = `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`
	patternTagValue    = `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`
)

var (
	reARN         = regexp.MustCompile(`^[\t\n\r\x{20}-\x{7E}\x{85}\x{A0}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}]+$`)
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]*$`)
	reExternalID  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	reSerial      = regexp.MustCompile(`^[\w+=/:,.@-]*$`)
	reTokenCode   = regexp.MustCompile(`^\d*$`)
	rePolicy      = regexp.MustCompile(`^[\t\n\r\x{20}-\x{FF}]+$`)
	reTagKey      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	// A permission set's name: 1 to 32 of [\w+=,.@-] (the SSO admin API
	// reference, CreatePermissionSet, Name).
	rePermissionSetName = regexp.MustCompile(`^[\w+=,.@-]{1,32}$`)
)

// violations collects model-constraint failures the way STS reports them: all
// at once, in one ValidationError joined by "; " after "N validation errors
// detected: ", each "Value 'V' at 'member' failed to satisfy constraint:
// Member must …" (a real response with two failures on an empty roleArn is
// quoted in mmmorris1975/aws-runas#80).
type violations []string

// add records a violation. value is the quoted value as STS shows it, or ""
// for a sensitive value, which STS leaves out ("Value at 'x' failed …").
func (v *violations) add(value, member, constraint string) {
	if value != "" {
		value += " "
	}
	*v = append(*v, fmt.Sprintf("Value %sat '%s' failed to satisfy constraint: Member %s", value, member, constraint))
}

func (v violations) err() *apiError {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return errValidation("1 validation error detected: " + v[0])
	default:
		return errValidation(fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; ")))
	}
}

// checkString applies a string member's constraints. A nil value is an absent
// parameter. redact keeps the value out of the message, for tokens.
func (v *violations) checkString(member string, value *string, required bool, minLen, maxLen int, pattern string, re *regexp.Regexp, redact bool) {
	if value == nil {
		if required {
			*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", member))
		}
		return
	}
	shown := "'" + *value + "'"
	if redact {
		shown = ""
	}
	if re != nil && !re.MatchString(*value) {
		v.add(shown, member, "must satisfy regular expression pattern: "+pattern)
	}
	n := utf8.RuneCountInString(*value)
	if n < minLen {
		v.add(shown, member, fmt.Sprintf("must have length greater than or equal to %d", minLen))
	}
	if maxLen > 0 && n > maxLen {
		v.add(shown, member, fmt.Sprintf("must have length less than or equal to %d", maxLen))
	}
}

// checkInt applies an integer member's range. It returns the value, or def
// when the parameter is absent.
func (v *violations) checkInt(member string, value *string, minVal, maxVal, def int) int {
	if value == nil {
		return def
	}
	n, err := strconv.Atoi(*value)
	if err != nil {
		// The Query protocol carries numbers as text; STS rejects what does
		// not parse as an integer.
		*v = append(*v, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must be a number", *value, member))
		return def
	}
	if n < minVal {
		v.add(fmt.Sprintf("'%d'", n), member, fmt.Sprintf("must have value greater than or equal to %d", minVal))
	}
	if n > maxVal {
		v.add(fmt.Sprintf("'%d'", n), member, fmt.Sprintf("must have value less than or equal to %d", maxVal))
	}
	return n
}

// optional returns a pointer to the parameter's value, or nil if it was not
// sent. An empty value that was sent is not absent.
func optional(params url.Values, name string) *string {
	if vs, ok := params[name]; ok && len(vs) > 0 {
		return &vs[0]
	}
	return nil
}

// queryList reads a Query-protocol list: NAME.member.1, NAME.member.2, … in
// index order. field selects a structure member (NAME.member.N.FIELD); empty
// reads a list of strings. An empty list is sent as "NAME=" and reads as none.
func queryList(params url.Values, name, field string) []string {
	prefix := name + ".member."
	type item struct {
		n int
		v string
	}
	var items []item
	for k, vs := range params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || len(vs) == 0 {
			continue
		}
		idx, sub, _ := strings.Cut(rest, ".")
		if sub != field {
			continue
		}
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 {
			continue
		}
		items = append(items, item{n, vs[0]})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// queryTags reads Tags.member.N.Key / .Value pairs in index order.
func queryTags(params url.Values) []tag {
	keys := map[int]string{}
	values := map[int]string{}
	var order []int
	for k, vs := range params {
		rest, ok := strings.CutPrefix(k, "Tags.member.")
		if !ok || len(vs) == 0 {
			continue
		}
		idx, field, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if err != nil || n < 1 {
			continue
		}
		if _, seen := keys[n]; !seen {
			if _, seen := values[n]; !seen {
				order = append(order, n)
			}
		}
		switch field {
		case "Key":
			keys[n] = vs[0]
		case "Value":
			values[n] = vs[0]
		}
	}
	sort.Ints(order)
	out := make([]tag, 0, len(order))
	for _, n := range order {
		out = append(out, tag{Key: keys[n], Value: values[n]})
	}
	return out
}

// sessionPolicyMaxChars is STS's limit on the plaintext of the inline session
// policy: "The plaintext that you use for both inline and managed session
// policies can't exceed 2,048 characters" (AssumeRole, Policy parameter).
// Like IAM's own policy limits it is counted without the whitespace outside
// strings.
const sessionPolicyMaxChars = 2048

// checkSessionPolicy validates an inline session policy and returns it with
// the whitespace outside strings removed. A document that is not JSON is
// MalformedPolicyDocument, with a parser message in the style STS now sends
// (a Jackson error naming line and column: ansible-collections/amazon.aws#2778
// quotes "Unexpected character ('i' (code 105)): expected a valid value …").
func checkSessionPolicy(v *violations, policy *string) (compact string, serr *apiError) {
	if policy == nil {
		return "", nil
	}
	v.checkString("policy", policy, false, 1, 0, patternPolicy, rePolicy, false)
	if *policy == "" {
		return "", nil
	}
	var doc any
	if err := json.Unmarshal([]byte(*policy), &doc); err != nil {
		return "", &apiError{400, "MalformedPolicyDocument", jsonErrorMessage(*policy, err)}
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return "", &apiError{400, "MalformedPolicyDocument", "Syntax errors in policy."}
	}
	if _, ok := obj["Statement"]; !ok {
		return "", &apiError{400, "MalformedPolicyDocument", "Syntax errors in policy."}
	}
	compact = compactJSON(*policy)
	if utf8.RuneCountInString(compact) > sessionPolicyMaxChars {
		v.add("'"+*policy+"'", "policy", fmt.Sprintf("must have length less than or equal to %d", sessionPolicyMaxChars))
	}
	return compact, nil
}

// compactJSON removes the whitespace outside strings of a valid JSON text.
func compactJSON(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return s
	}
	return b.String()
}

func jsonErrorMessage(doc string, err error) string {
	var syn *json.SyntaxError
	offset := int64(len(doc))
	if errors.As(err, &syn) {
		offset = syn.Offset
	}
	line, col := 1, 1
	for i, r := range doc {
		if int64(i) >= offset-1 {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	if syn == nil || offset >= int64(len(doc)) {
		return fmt.Sprintf("Unexpected end-of-input: expected close marker for Object\n at [Source: (String)\"\"; line: %d, column: %d]", line, col)
	}
	c, _ := utf8.DecodeRuneInString(doc[offset-1:])
	return fmt.Sprintf("Unexpected character ('%c' (code %d)): expected a valid value (number, String, array, object, 'true', 'false' or 'null')\n at [Source: (String)\"\"; line: %d, column: %d]", c, c, line, col)
}

// Session token sizing. STS folds the session policy, policy ARNs and
// session tags into the session token in a packed binary form, so the token
// grows with them. Since 2026-09 the limit on that growth is the token's
// size: "Increases the maximum session token size to 4,096 bytes and removes
// the packed policy size limit. Adds SessionTokenSize and
// SessionTokenUtilization fields and a new MinimumSessionTokenSize
// parameter. PackedPolicySize is deprecated." (aws-sdk-go-v2 service/sts
// v1.51.0 changelog). AWS does not publish the packing; the emulator
// deflates the session data and carries it as base64 in the token, which
// keeps ordinary policies well within the limit and many large tags not.
const (
	// maxSessionTokenBytes is the largest session token STS issues.
	maxSessionTokenBytes = 4096
	// baseSessionTokenBytes is the size of a token carrying no session
	// policy or tags.
	baseSessionTokenBytes = 416
)

// packedSessionData returns how many base64 characters the packed session
// policy, policy ARNs and tags add to the session token.
func packedSessionData(compactPolicy string, policyARNs []string, tags []tag) int {
	var raw strings.Builder
	raw.WriteString(compactPolicy)
	for _, a := range policyARNs {
		raw.WriteString(a)
	}
	for _, t := range tags {
		raw.WriteString(t.Key)
		raw.WriteString(t.Value)
	}
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	_, _ = w.Write([]byte(raw.String()))
	_ = w.Close()
	return base64.StdEncoding.EncodedLen(b.Len())
}

// tokenSizing is the size of the session token to issue and the size
// figures STS reports with it.
type tokenSizing struct {
	length           int
	utilization      int  // SessionTokenUtilization: percent of the maximum
	packedPolicySize *int // deprecated PackedPolicySize, when policies or tags were given
}

// sizeSessionToken plans the session token for packed session data of
// packed base64 characters (hasPacked: a policy, policy ARNs or tags were
// given) and the caller's MinimumSessionTokenSize. A token over the maximum
// is PackedPolicyTooLarge, with the message STS has used for it ("Packed
// policy consumes 157% of allotted space", quoted in guardian/janus-app
// and other projects' error handling).
func sizeSessionToken(packed int, hasPacked bool, minimum int) (tokenSizing, *apiError) {
	var z tokenSizing
	z.length = max(baseSessionTokenBytes+packed, minimum)
	if z.length > maxSessionTokenBytes {
		return z, &apiError{400, "PackedPolicyTooLarge",
			fmt.Sprintf("Packed policy consumes %d%% of allotted space", percent(z.length, maxSessionTokenBytes))}
	}
	z.utilization = percent(z.length, maxSessionTokenBytes)
	if hasPacked {
		p := percent(packed, maxSessionTokenBytes-baseSessionTokenBytes)
		z.packedPolicySize = &p
	}
	return z, nil
}

// percent is part/whole as a percentage, rounded up.
func percent(part, whole int) int {
	return (part*100 + whole - 1) / whole
}
