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

func TestAccountID(t *testing.T) {
	tests := []struct{ arn, want string }{
		{"arn:aws:sts::123456789012:assumed-role/deploy/s", "123456789012"},
		{"arn:aws-cn:sts::210987654321:assumed-role/r/s:with:colons", "210987654321"},
		{"arn:aws:iam::123456789012:role/deploy", "123456789012"},
		{"", ""},
		{"arn:aws:sts::12345678901:assumed-role/x/y", ""},
		{"arn:aws:sts::12345678901a:assumed-role/x/y", ""},
		{"nope:aws:sts::123456789012:assumed-role/x/y", ""},
		{"arn:aws:sts::123456789012", ""},
	}
	for _, tt := range tests {
		if got := (Credentials{AssumedRoleARN: tt.arn}).AccountID(); got != tt.want {
			t.Errorf("AccountID of %q = %q, want %q", tt.arn, got, tt.want)
		}
	}
}
