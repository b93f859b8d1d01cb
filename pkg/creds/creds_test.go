package creds

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestFormattingNeverShowsSecrets(t *testing.T) {
	c := Credentials{
		AccessKeyID:     "ASIAEXAMPLEEXAMPLE01",
		SecretAccessKey: "canary-secret-value",
		SessionToken:    "canary-session-token",
		Expiration:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(verb, c)
		if strings.Contains(out, "canary") {
			t.Errorf("%s leaked a secret: %s", verb, out)
		}
		if !strings.Contains(out, "ASIAEXAMPLEEXAMPLE01") {
			t.Errorf("%s lost the access key id: %s", verb, out)
		}
	}
	wrapped := fmt.Errorf("context: %v", struct{ C Credentials }{c})
	if strings.Contains(wrapped.Error(), "canary") {
		t.Errorf("nested value leaked a secret: %s", wrapped)
	}
}

func TestValidFor(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		expiry time.Time
		window time.Duration
		want   bool
	}{
		{"no expiry", time.Time{}, time.Hour, true},
		{"well inside", now.Add(time.Hour), 15 * time.Minute, true},
		{"inside window", now.Add(10 * time.Minute), 15 * time.Minute, false},
		{"exactly window", now.Add(15 * time.Minute), 15 * time.Minute, false},
		{"expired", now.Add(-time.Minute), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Credentials{Expiration: tt.expiry}
			if got := c.ValidFor(now, tt.window); got != tt.want {
				t.Errorf("ValidFor = %v, want %v", got, tt.want)
			}
		})
	}
}
