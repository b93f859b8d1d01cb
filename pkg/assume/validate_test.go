package assume

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/cache"
)

func TestValidateRoleARN(t *testing.T) {
	tests := []struct {
		arn  string
		want string // substring of the error; "" = valid
	}{
		{"arn:aws:iam::123456789012:role/demo", ""},
		{"arn:aws:iam::123456789012:role/path/to/demo", ""},
		{"arn:aws-cn:iam::123456789012:role/demo", ""},
		{"arn:aws-us-gov:iam::123456789012:role/demo", ""},
		{"arn:aws:iam::123:role/demo", "12 digits"},
		{"arn:aws:iam::123456789012:user/alice", "not an IAM role ARN"},
		{"arn:aws:s3:::bucket/key/and/more", "not an IAM role ARN"},
		{"arn:aws:iam::123456789012:role/", "not an IAM role ARN"},
		{"arn:other:iam::123456789012:role/demo", "unknown partition"},
		{"not-an-arn-at-all-but-long", "not an ARN"},
		{"arn:aws", "not an ARN"},
		{"arn:aws:iam::123456789012:role/demo\x00$(touch x)", "invalid role path or name"},
		{"arn:aws:iam::123456789012:role/with space", "invalid role path or name"},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("n", 65), "invalid role path or name"},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("r", 2048), "characters"},
		// The limits themselves: IAM's 2,048 characters and 64 for the
		// name; a path is printable ASCII from ! to ~.
		{arnOfLength(2048), ""},
		{arnOfLength(2049), "characters"},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("n", 64), ""},
		{"arn:aws:iam::123456789012:role/!path~/demo", ""},
		{"arn:aws:iam::123456789012:role/a path/demo", "invalid role path or name"},
		{"arn:aws:iam::123456789012:role/path\x7f/demo", "invalid role path or name"},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			err := ValidateRoleARN(tt.arn)
			checkErr(t, err, tt.want)
		})
	}
}

// arnOfLength is a valid role ARN of n characters: a long path, then a
// one-letter name.
func arnOfLength(n int) string {
	const prefix = "arn:aws:iam::123456789012:role/"
	return prefix + strings.Repeat("p", n-len(prefix)-2) + "/r"
}

func TestValidateNames(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name  string
		check func(string) error
		value string
		want  string
	}{
		{"session ok", ValidateSessionName, "alice@example.com", ""},
		{"session all allowed", ValidateSessionName, "a_b+c=d,e.f@g-h", ""},
		{"session letters and digits at the ends of their ranges", ValidateSessionName, "azAZ09", ""},
		{"session short", ValidateSessionName, "a", "2 to 64"},
		{"session long", ValidateSessionName, long, "2 to 64"},
		{"session space", ValidateSessionName, "a b", "may hold only"},
		{"session slash", ValidateSessionName, "a/b", "may hold only"},
		{"session newline", ValidateSessionName, "ab\n", "may hold only"},
		{"session unicode", ValidateSessionName, "héllo", "may hold only"},
		{"external id colon slash", ValidateExternalID, "urn:a/b", ""},
		{"external id short", ValidateExternalID, "x", "2 to 1224"},
		{"source identity", ValidateSourceIdentity, "alice-laptop", ""},
		{"mfa serial arn", ValidateMFASerial, "arn:aws:iam::123456789012:mfa/alice", ""},
		{"mfa serial short", ValidateMFASerial, "GAHT1234", "9 to 256"},
		{"token ok", ValidateTokenCode, "012345", ""},
		{"token letters", ValidateTokenCode, "12345a", "6 digits"},
		{"token short", ValidateTokenCode, "12345", "6 digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.check(tt.value), tt.want) })
	}
}

func TestValidateDuration(t *testing.T) {
	for d, ok := range map[time.Duration]bool{
		0: true, 15 * time.Minute: true, 12 * time.Hour: true,
		14 * time.Minute: false, 12*time.Hour + time.Second: false, 15*time.Minute + 500*time.Millisecond: false,
	} {
		if err := ValidateDuration(d); (err == nil) != ok {
			t.Errorf("ValidateDuration(%s) = %v", d, err)
		}
	}
}

// TestValidateFederationAndConsoleDurations: GetFederationToken takes 15m
// to 36h, the console's SessionDuration 15m to 12h, both ends included.
func TestValidateFederationAndConsoleDurations(t *testing.T) {
	tests := []struct {
		name  string
		check func(time.Duration) error
		ok    []time.Duration
		bad   []time.Duration
	}{
		{"federation", ValidateFederationDuration,
			[]time.Duration{0, 15 * time.Minute, 36 * time.Hour},
			[]time.Duration{15*time.Minute - time.Second, 36*time.Hour + time.Second, time.Hour + time.Millisecond}},
		{"console", ValidateConsoleDuration,
			[]time.Duration{0, 15 * time.Minute, 12 * time.Hour},
			[]time.Duration{15*time.Minute - time.Second, 12*time.Hour + time.Second, time.Hour + time.Millisecond}},
	}
	for _, tt := range tests {
		for _, d := range tt.ok {
			if err := tt.check(d); err != nil {
				t.Errorf("%s %s: %v, want valid", tt.name, d, err)
			}
		}
		for _, d := range tt.bad {
			checkErr(t, tt.check(d), "out of range")
		}
	}
}

// TestValidateAtTheLimits: exactly as many policy ARNs and tags, and as
// long a tag key and value, as STS takes are valid; one more is not.
func TestValidateAtTheLimits(t *testing.T) {
	arns := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "arn:aws:iam::aws:policy/P" + strconv.Itoa(i)
		}
		return out
	}
	checkErr(t, ValidatePolicyARNs(arns(MaxPolicyARNs)), "")
	checkErr(t, ValidatePolicyARNs(arns(MaxPolicyARNs+1)), "at most 10")

	tags := func(n int) []cache.Tag {
		out := make([]cache.Tag, n)
		for i := range out {
			out[i] = cache.Tag{Key: "k" + strconv.Itoa(i), Value: "v"}
		}
		return out
	}
	checkErr(t, ValidateTags(tags(MaxTags), nil), "")
	checkErr(t, ValidateTags(tags(MaxTags+1), nil), "at most 50")
	// Characters, not bytes: é is two bytes.
	checkErr(t, ValidateTags([]cache.Tag{{Key: strings.Repeat("é", MaxTagKeyChars), Value: strings.Repeat("é", MaxTagValueChars)}}, nil), "")
	checkErr(t, ValidateTags([]cache.Tag{{Key: strings.Repeat("k", MaxTagKeyChars+1)}}, nil), "key")
}

func TestCanonicalPolicy(t *testing.T) {
	got, err := CanonicalPolicy("{\n  \"Version\" : \"2012-10-17\",\n\t\"Statement\": [ {\"Sid\": \"a b\"} ]\n}\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"Version":"2012-10-17","Statement":[{"Sid":"a b"}]}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// The limit counts characters after whitespace outside strings is gone:
	// a policy padded with spaces to 5,000 bytes is still fine.
	padded := `{"Sid":"` + strings.Repeat("x", 2030) + `"}` + strings.Repeat(" ", 3000)
	if _, err := CanonicalPolicy(padded); err != nil {
		t.Errorf("padded policy: %v", err)
	}
	over := `{"Sid":"` + strings.Repeat("x", 2040) + `"}`
	checkErr(t, func() error { _, err := CanonicalPolicy(over); return err }(), "STS allows 2048")
	checkErr(t, func() error { _, err := CanonicalPolicy(`{"a":`); return err }(), "not valid JSON")
	checkErr(t, func() error { _, err := CanonicalPolicy(`[1]`); return err }(), "JSON object")
}

func TestValidateTags(t *testing.T) {
	many := make([]cache.Tag, 51)
	for i := range many {
		many[i] = cache.Tag{Key: strings.Repeat("k", i+1)}
	}
	tests := []struct {
		name       string
		tags       []cache.Tag
		transitive []string
		want       string
	}{
		{"ok", []cache.Tag{{Key: "team", Value: "a b"}, {Key: "Env", Value: "dev:1/2"}}, []string{"team"}, ""},
		{"too many", many, nil, "at most 50"},
		{"empty key", []cache.Tag{{Key: "", Value: "v"}}, nil, "key"},
		{"bad char", []cache.Tag{{Key: "a;b", Value: "v"}}, nil, "key"},
		{"value too long", []cache.Tag{{Key: "k", Value: strings.Repeat("v", 257)}}, nil, "value"},
		{"duplicate by case", []cache.Tag{{Key: "Team", Value: "a"}, {Key: "team", Value: "b"}}, nil, "twice"},
		{"transitive unknown", []cache.Tag{{Key: "team", Value: "a"}}, []string{"env"}, "not the key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, ValidateTags(tt.tags, tt.transitive), tt.want) })
	}
}

func TestSessionNameFor(t *testing.T) {
	for user, want := range map[string]string{
		"alice":                 "rolecall-alice",
		"DOMAIN\\bob":           "rolecall-DOMAIN-bob",
		"":                      "rolecall-user",
		"josé":                  "rolecall-jos-",
		"a b":                   "rolecall-a-b",
		strings.Repeat("x", 80): "rolecall-" + strings.Repeat("x", 55),
	} {
		got := SessionNameFor(user)
		if got != want {
			t.Errorf("SessionNameFor(%q) = %q, want %q", user, got, want)
		}
		if err := ValidateSessionName(got); err != nil {
			t.Errorf("SessionNameFor(%q) is invalid: %v", user, err)
		}
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	var ie *InputError
	if !errors.As(err, &ie) {
		t.Fatalf("got %v, want an InputError containing %q", err, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
