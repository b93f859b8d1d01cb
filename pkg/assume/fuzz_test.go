package assume

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// Fuzz targets for what rolecall checks before any STS call. Each compares
// the validator with an independent statement of the rule it implements,
// and checks that a refusal is an *InputError whose message stays on one
// line however hostile the input. Their seeds run with every go test;
// scripts/fuzz.sh runs them for longer.

// hostileSeeds are inputs every target starts from: the shapes a shell
// injection, a line break or a huge value would take.
var hostileSeeds = []string{
	"", "a", "ab", "x\ny", "x\r\ny", "x\x00y", "$(touch pwned)", "`id`", "a;b", "'\"", "é", "日本語",
	"\u202e\u2066", "\xff\xfe", strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("x", 10<<10),
}

// checkRefusal asserts that err is an InputError with a one-line message.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("refusal is %T, want *InputError", err)
	}
	if msg := err.Error(); strings.ContainsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' || r == 0 || r == 0x1b }) {
		t.Fatalf("refusal message holds a raw control character: %q", msg)
	}
}

var (
	twelveDigits = regexp.MustCompile(`^[0-9]{12}$`)
	// roleResource is IAM's role/PATH/NAME: a path of printable ASCII, a
	// name of 1 to 64 of [\w+=,.@-].
	roleResource = regexp.MustCompile(`^role/(?:[\x21-\x7e]*/)?[A-Za-z0-9_+=,.@-]{1,64}$`)
)

// FuzzValidateRoleARN compares ValidateRoleARN with the rule written out:
// arn:PARTITION:iam:REGION:ACCOUNT:role/PATH/NAME (the resource may hold
// colons in its path), a known partition, a 12-digit account, IAM's role
// name and path characters, 20 to 2048 characters.
func FuzzValidateRoleARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:role/demo", "arn:aws-cn:iam::123456789012:role/a/b/c", "arn:aws-us-gov:iam::123456789012:role/x",
		"arn:aws:iam::123456789012:role/", "arn:aws:iam::12345678901:role/x", "arn:aws:iam::1234567890123:role/x",
		"arn:aws:iam::123456789012:user/x", "arn:aws:sts::123456789012:assumed-role/x/y", "arn:other:iam::123456789012:role/x",
		"arn:aws:iam:us-east-1:123456789012:role/x", "arn:aws:iam::123456789012:role/x:y", "arn:aws:iam::１２３４５６７８９０１２:role/x",
		"arn:aws:iam::123456789012:role/x\n$(touch pwned)", "arn:aws:iam::123456789012:role/" + strings.Repeat("r", 2030),
	} {
		f.Add(s)
	}
	for _, s := range hostileSeeds {
		f.Add("arn:aws:iam::123456789012:role/" + s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateRoleARN(s)
		parts := strings.SplitN(s, ":", 6)
		want := len(parts) == 6 && parts[0] == "arn" && defaultRegionByPartition[parts[1]] != "" && parts[2] == "iam" &&
			twelveDigits.MatchString(parts[4]) && roleResource.MatchString(parts[5]) &&
			len(s) >= 20 && len(s) <= 2048
		if (err == nil) != want {
			t.Fatalf("ValidateRoleARN(%q) = %v, want valid: %t", s, err, want)
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if !LooksLikeARN(s) {
			t.Fatalf("a valid role ARN %q does not look like an ARN", s)
		}
		if region := DefaultRegion(s); region != defaultRegionByPartition[parts[1]] {
			t.Fatalf("DefaultRegion(%q) = %q", s, region)
		}
	})
}

// stsName is STS's pattern for names: [\w+=,.@-] (ASCII word characters).
var stsName = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]*$`)

// FuzzSessionName compares the name validators with STS's patterns and
// lengths, and checks that SessionNameFor makes a valid session name of
// any user name.
func FuzzSessionName(f *testing.F) {
	for _, s := range append([]string{"rolecall-alice", "a.b@c", "x=y,z", "DOMAIN\\user", "jane doe", "o'brien"}, hostileSeeds...) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			name     string
			check    func(string) error
			min, max int
			extra    string
		}{
			{"session name", ValidateSessionName, 2, 64, ""},
			{"source identity", ValidateSourceIdentity, 2, 64, ""},
			{"external ID", ValidateExternalID, 2, 1224, ":/"},
			{"MFA serial", ValidateMFASerial, 9, 256, ":/"},
		} {
			err := c.check(s)
			rest := strings.Map(func(r rune) rune {
				if strings.ContainsRune(c.extra, r) {
					return 'a'
				}
				return r
			}, s)
			want := len(s) >= c.min && len(s) <= c.max && stsName.MatchString(rest) && utf8.ValidString(s)
			if (err == nil) != want {
				t.Fatalf("%s %q: %v, want valid: %t", c.name, s, err, want)
			}
			if err != nil {
				checkRefusal(t, err)
			}
		}

		name := SessionNameFor(s)
		if err := ValidateSessionName(name); err != nil {
			t.Fatalf("SessionNameFor(%q) = %q, which is invalid: %v", s, name, err)
		}
		if !strings.HasPrefix(name, defaultSessionPrefix) {
			t.Fatalf("SessionNameFor(%q) = %q, want the prefix %q", s, name, defaultSessionPrefix)
		}
		if s != "" && stsName.MatchString(s) && len(defaultSessionPrefix)+len(s) <= maxSessionNameChars && name != defaultSessionPrefix+s {
			t.Fatalf("SessionNameFor(%q) = %q, want the name kept as it is", s, name)
		}
	})
}

// FuzzCanonicalPolicy: a policy is accepted when it is a JSON object of at
// most 2048 characters once compacted, and its canonical form is that
// compact text: valid JSON with the same meaning, free of whitespace
// outside strings, a fixed point, and the same whatever the input's
// formatting (so reformatting a policy file never misses the cache).
func FuzzCanonicalPolicy(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		"{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n", `{"a":"x y\tz"}`, `{"a":1e400}`, `{"a":1,"a":2}`,
		`[]`, `"x"`, `{`, `{}`, `{} {}`, `{"a":"\u0000"}`, `{"a":"` + "\xff" + `"}`, "\ufeff{}", `{"` + strings.Repeat("x", 2050) + `":1}`,
		`{"a":"` + strings.Repeat("é", 2040) + `"}`, ` {"padded":true} `,
	} {
		f.Add(s)
	}
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalPolicy(s)
		var compact bytes.Buffer
		compactErr := json.Compact(&compact, []byte(s))
		want := s == "" || compactErr == nil && compact.Len() > 0 && compact.Bytes()[0] == '{' && utf8.RuneCount(compact.Bytes()) <= MaxPolicyChars
		if (err == nil) != want {
			t.Fatalf("CanonicalPolicy(%q) = %v, want accepted: %t", s, err, want)
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if s == "" {
			if out != "" {
				t.Fatalf("no policy became %q", out)
			}
			return
		}
		if !json.Valid([]byte(out)) || out[0] != '{' {
			t.Fatalf("canonical form %q is not a JSON object", out)
		}
		if strings.ContainsFunc(out, unicode.IsSpace) && !insideStringsOnly(out) {
			t.Fatalf("canonical form %q keeps whitespace outside strings", out)
		}
		if again, err := CanonicalPolicy(out); err != nil || again != out {
			t.Fatalf("canonical form is not a fixed point: %q -> %q, %v", out, again, err)
		}
		if !sameJSON(t, s, out) {
			t.Fatalf("canonical form %q means something else than %q", out, s)
		}
		var indented bytes.Buffer
		if err := json.Indent(&indented, []byte(s), "", "\t"); err != nil {
			t.Fatalf("json.Indent of an accepted policy: %v", err)
		}
		if reformatted, err := CanonicalPolicy("\n" + indented.String() + "\n"); err != nil || reformatted != out {
			t.Fatalf("the same policy indented canonicalises to %q (%v), not %q", reformatted, err, out)
		}
	})
}

// sameJSON reports whether a and b decode to the same value (numbers as
// written, so that 1 and 1.0 differ as they do for STS).
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	decode := func(s string) any {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		return v
	}
	return reflect.DeepEqual(decode(a), decode(b))
}

// insideStringsOnly reports whether every whitespace character of the JSON
// text js is inside a string.
func insideStringsOnly(js string) bool {
	in, escaped := false, false
	for _, r := range js {
		switch {
		case escaped:
			escaped = false
		case in && r == '\\':
			escaped = true
		case r == '"':
			in = !in
		case !in && unicode.IsSpace(r):
			return false
		}
	}
	return true
}
