package cache

import (
	"reflect"
	"slices"
	"testing"
)

// baseKeyInput sets every field, so that clearing or changing any one of
// them is a visible change.
func baseKeyInput() KeyInput {
	return KeyInput{
		Kind:              KindAssumeRole,
		Source:            "profile:dev",
		RoleARN:           "arn:aws:iam::123456789012:role/deploy",
		SessionName:       "alice",
		ExternalID:        "ext-1",
		MFASerial:         "arn:aws:iam::123456789012:mfa/alice",
		Policy:            `{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}`,
		SourceIdentity:    "alice@example.com",
		Region:            "eu-west-1",
		Endpoint:          "https://sts.eu-west-1.amazonaws.com",
		PolicyARNs:        []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/extra"},
		Tags:              []Tag{{Key: "team", Value: "infra"}, {Key: "env", Value: "prod"}},
		TransitiveTagKeys: []string{"team", "env"},
		DurationSeconds:   3600,
	}
}

func TestKeyIsStable(t *testing.T) {
	// A changed value here means every user's cache misses once after an
	// upgrade: change keyDomain instead of letting it happen by accident.
	// The value was computed independently (a Python rendering of the
	// encoding documented on Key), not copied from a run of Key.
	const want = "3a2679feeffa7cd7498370dbcfffc694abfcd3703130416a3488d3469f291dc9"
	got := baseKeyInput().Key()
	if !validKey(got) {
		t.Fatalf("Key() = %q, not 64 lowercase hex digits", got)
	}
	if got != want {
		t.Errorf("Key() = %s, want %s", got, want)
	}
	if again := baseKeyInput().Key(); again != got {
		t.Errorf("Key() not deterministic: %s then %s", got, again)
	}
}

func TestKeyIgnoresOrderOfSets(t *testing.T) {
	base := baseKeyInput().Key()
	tests := []struct {
		name   string
		change func(*KeyInput)
	}{
		{"policy ARNs reversed", func(k *KeyInput) { slices.Reverse(k.PolicyARNs) }},
		{"tags reversed", func(k *KeyInput) { slices.Reverse(k.Tags) }},
		{"transitive tag keys reversed", func(k *KeyInput) { slices.Reverse(k.TransitiveTagKeys) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := baseKeyInput()
			tt.change(&k)
			if got := k.Key(); got != base {
				t.Errorf("Key() = %s, want %s as for the original order", got, base)
			}
		})
	}
}

func TestKeyLeavesCallerSlicesAlone(t *testing.T) {
	k := baseKeyInput()
	k.PolicyARNs = []string{"b", "a"}
	k.Tags = []Tag{{"z", "1"}, {"a", "2"}}
	k.TransitiveTagKeys = []string{"z", "a"}
	k.Key()
	if !slices.Equal(k.PolicyARNs, []string{"b", "a"}) || k.Tags[0].Key != "z" || k.TransitiveTagKeys[0] != "z" {
		t.Errorf("Key() reordered the caller's slices: %v %v %v", k.PolicyARNs, k.Tags, k.TransitiveTagKeys)
	}
}

func TestKeyTreatsNilAndEmptyListsAlike(t *testing.T) {
	a := KeyInput{Kind: KindAssumeRole, RoleARN: "arn:aws:iam::1:role/r"}
	b := a
	b.PolicyARNs, b.Tags, b.TransitiveTagKeys = []string{}, []Tag{}, []string{}
	if a.Key() != b.Key() {
		t.Errorf("nil and empty lists give different keys")
	}
}

// TestKeyChangesWithEveryField changes one field at a time. It also checks,
// by reflection, that every field of KeyInput has a case, so a field added
// later cannot be forgotten in Key.
func TestKeyChangesWithEveryField(t *testing.T) {
	tests := []struct {
		field  string
		change func(*KeyInput)
	}{
		{"Kind", func(k *KeyInput) { k.Kind = KindSessionToken }},
		{"Source", func(k *KeyInput) { k.Source = "profile:prod" }},
		{"RoleARN", func(k *KeyInput) { k.RoleARN = "arn:aws:iam::123456789012:role/other" }},
		{"SessionName", func(k *KeyInput) { k.SessionName = "bob" }},
		{"ExternalID", func(k *KeyInput) { k.ExternalID = "ext-2" }},
		{"MFASerial", func(k *KeyInput) { k.MFASerial = "" }},
		{"Policy", func(k *KeyInput) { k.Policy = `{"Statement":[],"Version":"2012-10-17"}` }},
		{"SourceIdentity", func(k *KeyInput) { k.SourceIdentity = "bob@example.com" }},
		{"Region", func(k *KeyInput) { k.Region = "us-east-1" }},
		{"Endpoint", func(k *KeyInput) { k.Endpoint = "http://127.0.0.1:9000" }},
		{"PolicyARNs", func(k *KeyInput) { k.PolicyARNs = k.PolicyARNs[:1] }},
		{"Tags", func(k *KeyInput) { k.Tags[0].Value = "web" }},
		{"TransitiveTagKeys", func(k *KeyInput) { k.TransitiveTagKeys = k.TransitiveTagKeys[:1] }},
		{"DurationSeconds", func(k *KeyInput) { k.DurationSeconds = 900 }},
	}
	covered := map[string]bool{}
	seen := map[string]string{baseKeyInput().Key(): "base"}
	for _, tt := range tests {
		covered[tt.field] = true
		t.Run(tt.field, func(t *testing.T) {
			k := baseKeyInput()
			tt.change(&k)
			got := k.Key()
			if other, dup := seen[got]; dup {
				t.Errorf("changing %s gives the same key as %s", tt.field, other)
			}
			seen[got] = tt.field
		})
	}
	for f := range reflect.TypeFor[KeyInput]().Fields() {
		if !covered[f.Name] {
			t.Errorf("KeyInput.%s has no case here: is it part of the key?", f.Name)
		}
	}
}

// TestKeyHasNoShiftCollisions moves characters and elements across field
// and list boundaries: a naive concatenation would hash these alike.
func TestKeyHasNoShiftCollisions(t *testing.T) {
	tests := []struct {
		name string
		a, b KeyInput
	}{
		{"characters between role and session",
			KeyInput{RoleARN: "arn:aws:iam::1:role/ab", SessionName: "c"},
			KeyInput{RoleARN: "arn:aws:iam::1:role/a", SessionName: "bc"}},
		{"whole value into the next field",
			KeyInput{ExternalID: "x"},
			KeyInput{MFASerial: "x"}},
		{"separator-like bytes inside a value",
			KeyInput{Source: "a\x00", RoleARN: "b"},
			KeyInput{Source: "a", RoleARN: "\x00b"}},
		{"length-prefix-like bytes inside a value",
			KeyInput{Source: "a\x01b", RoleARN: ""},
			KeyInput{Source: "a", RoleARN: "b"}},
		{"element split in two",
			KeyInput{PolicyARNs: []string{"ab"}},
			KeyInput{PolicyARNs: []string{"a", "b"}}},
		{"element moved to another list",
			KeyInput{PolicyARNs: []string{"a"}},
			KeyInput{TransitiveTagKeys: []string{"a"}}},
		{"tag key and value swapped",
			KeyInput{Tags: []Tag{{"a", "b"}}},
			KeyInput{Tags: []Tag{{"b", "a"}}}},
		{"characters between tag key and value",
			KeyInput{Tags: []Tag{{"ab", "c"}}},
			KeyInput{Tags: []Tag{{"a", "bc"}}}},
		{"tag values exchanged between keys",
			KeyInput{Tags: []Tag{{"a", "1"}, {"b", "2"}}},
			KeyInput{Tags: []Tag{{"a", "2"}, {"b", "1"}}}},
		{"invalid UTF-8 differing bytes",
			KeyInput{SessionName: "\xff"},
			KeyInput{SessionName: "\xfe"}},
		{"negative and positive duration",
			KeyInput{DurationSeconds: -1},
			KeyInput{DurationSeconds: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.a.Key() == tt.b.Key() {
				t.Errorf("%+v and %+v share a key", tt.a, tt.b)
			}
		})
	}
}

func BenchmarkKey(b *testing.B) {
	k := baseKeyInput()
	b.ReportAllocs()
	for b.Loop() {
		k.Key()
	}
}
