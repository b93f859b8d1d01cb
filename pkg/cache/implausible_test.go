package cache

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestImplausibleEntriesAreMisses (issue 23, item 10): an entry holding
// what STS never sends, a control character in a key or the token, or a
// clock skew no machine that could sign a request has, is not used: a
// miss, never an ESC printed raw or a skew that overflows.
func TestImplausibleEntriesAreMisses(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Entry)
	}{
		{"ESC in the access key ID", func(e *Entry) { e.Credentials.AccessKeyID = "ASIA\x1b[31mRED" }},
		{"LF in the secret key", func(e *Entry) { e.Credentials.SecretAccessKey = "secret\nexport X=1" }},
		{"CR in the session token", func(e *Entry) { e.Credentials.SessionToken = "tok\ren" }},
		{"DEL in the session token", func(e *Entry) { e.Credentials.SessionToken = "tok\x7fen" }},
		{"clock skew of -2^63", func(e *Entry) { e.ClockSkew = math.MinInt64 }},
		{"clock skew of two days", func(e *Entry) { e.ClockSkew = 48 * time.Hour }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := testEntry("demo", time.Hour)
			e.Version, e.Key, e.CreatedAt = CurrentVersion, testKey("demo"), testNow
			if _, err := decodeEntry(mustEncode(t, e)); err != nil {
				t.Fatalf("the unmutated entry is refused: %v", err)
			}
			tt.mutate(&e)
			_, err := decodeEntry(mustEncode(t, e))
			if err == nil {
				t.Fatal("decoded, want an invalid entry")
			}
			if strings.ContainsAny(err.Error(), "\x1b\n\r\x7f") {
				t.Errorf("the error carries the control character: %q", err)
			}
		})
	}
	// A skew of up to a day is kept (a badly set clock, still measured).
	e := testEntry("demo", time.Hour)
	e.Version, e.Key, e.CreatedAt, e.ClockSkew = CurrentVersion, testKey("demo"), testNow, -3*time.Hour
	if _, err := decodeEntry(mustEncode(t, e)); err != nil {
		t.Errorf("a 3h skew is refused: %v", err)
	}
}

func mustEncode(t *testing.T, e Entry) []byte {
	t.Helper()
	b, err := encodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
