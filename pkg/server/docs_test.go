package server

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readDoc returns a page of docs/ with its white space runs made single
// spaces, so that a claim may be looked for across line breaks.
func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`\s+`).ReplaceAllString(string(b), " ")
}

// TestDocsClaims: what docs/server.md and docs/sso.md say of the endpoint
// is what it does (issue 21 item 10): the limits are the constants, and
// the claims found wrong are gone.
func TestDocsClaims(t *testing.T) {
	server := readDoc(t, "server.md")
	for claim, ok := range map[string]bool{
		"headers at most 8 KiB (431 beyond)": maxHeaderBytes == 8<<10,
		"has 2 seconds to send its headers":  pendingTimeout == 2*time.Second,
		"past 1,024 such connections, the oldest is closed for each new one once it has sent nothing for 250 ms, and past 2,048 whatever its age": maxPendingConns == 1024 && evictAfter == 250*time.Millisecond,
		"Connections with the token hold one of 256 slots": maxTrustedConns == 256,
		"1,000 requests a second, bursts of 2,000":         DefaultRequestRate == 1000 && DefaultRequestBurst == 2000,
		"in v7 `--server` is an alias of it":               true,
		"`--ec2-server`, the EC2 metadata one":             true,
		"1 s, 2 s, 4 s, … up to a minute":                  backoff(1) == time.Second && backoff(3) == 4*time.Second && maxBackoff == time.Minute,
		"STS gets one call per step however many":          true,
	} {
		if !strings.Contains(server, claim) {
			t.Errorf("docs/server.md does not say %q", claim)
		}
		if !ok {
			t.Errorf("docs/server.md says %q, which the code no longer does", claim)
		}
	}
	for _, wrong := range []string{"aws-vault `--server` (EC2 metadata)", "256 connections"} {
		if strings.Contains(server, wrong) {
			t.Errorf("docs/server.md still says %q", wrong)
		}
	}
	sso := readDoc(t, "sso.md")
	if !strings.Contains(sso, "A running `rolecall serve` or `exec --server` is another matter: it keeps the credentials it holds in memory") {
		t.Errorf("docs/sso.md does not say that a running serve keeps serving after logout")
	}
}
