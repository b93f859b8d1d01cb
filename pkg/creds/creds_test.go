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
