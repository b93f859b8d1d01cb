package creds

import (
	"strings"
	"testing"
	"time"
)

// TestCheckTemporaryRefusesImplausible (issue 23, item 10): an expiration
// beyond the longest session AWS issues (36h) plus a margin, or a control
// character in a key or the token, is no STS answer.
func TestCheckTemporaryRefusesImplausible(t *testing.T) {
	now := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	good := Credentials{AccessKeyID: "ASIAEXAMPLE000000001", SecretAccessKey: strings.Repeat("s", 40), SessionToken: "token", Expiration: now.Add(time.Hour)}
	if err := good.CheckTemporary(now); err != nil {
		t.Fatalf("good credentials refused: %v", err)
	}
	long := good
	long.Expiration = now.Add(36 * time.Hour)
	if err := long.CheckTemporary(now); err != nil {
		t.Errorf("a 36h session (GetSessionToken's longest) refused: %v", err)
	}
	tests := map[string]func(*Credentials){
		"year 8999":        func(c *Credentials) { c.Expiration = time.Date(8999, 1, 1, 0, 0, 0, 0, time.UTC) },
		"38h away":         func(c *Credentials) { c.Expiration = now.Add(38 * time.Hour) },
		"LF in the secret": func(c *Credentials) { c.SecretAccessKey = "abc\ndef" },
		"CR in the token":  func(c *Credentials) { c.SessionToken = "abc\rdef" },
		"ESC in the token": func(c *Credentials) { c.SessionToken = "abc\x1bdef" },
		"NUL in the token": func(c *Credentials) { c.SessionToken = "abc\x00def" },
	}
	for name, mutate := range tests {
		c := good
		mutate(&c)
		if err := c.CheckTemporary(now); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
