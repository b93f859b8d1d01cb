//go:build unix

package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestAnswersThatAreNoCredentials: whatever an endpoint answers with a 200
// that holds no usable credentials (nothing, garbage, an XML bomb, a result
// without keys, keys already expired), rolecall exits 5 naming the
// endpoint, prints nothing on stdout, and exec never starts its command
// (an empty AWS_ACCESS_KEY_ID would make the command's SDK fall back to
// other credentials without a word).
func TestAnswersThatAreNoCredentials(t *testing.T) {
	t.Parallel()
	expired := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	result := func(inner string) string {
		return `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` + inner +
			`</AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>`
	}
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><AssumeRoleResponse>&lol3;</AssumeRoleResponse>`
	bodies := map[string]string{
		"empty":          "",
		"garbage":        "\x00\x01 this is no XML {",
		"xml bomb":       bomb,
		"no credentials": result(""),
		"no secret":      result(`<Credentials><AccessKeyId>ASIAEXAMPLE000000001</AccessKeyId><SessionToken>t</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>`),
		"expired":        result(`<Credentials><AccessKeyId>ASIAEXAMPLE000000001</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>` + expired + `</Expiration></Credentials>`),
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				_, _ = w.Write([]byte(body))
			}))
			t.Cleanup(fake.Close)
			e := newRCEnv(t, ststest.DemoConfig())
			e.vars["AWS_ENDPOINT_URL_STS"] = fake.URL
			for _, args := range [][]string{
				// --timeout as long as the guard: only the answer may end it.
				{"process", "--timeout", hangGuard.String(), ststest.DemoRoleARN("demo")},
				{"exec", "--timeout", hangGuard.String(), ststest.DemoRoleARN("demo"), "--", "sh", "-c", "echo the command ran"},
			} {
				r := e.run(args...)
				if r.code != 5 || r.stdout != "" {
					t.Fatalf("%s: exit %d, stdout %q, want 5 and nothing:\n%s", args[0], r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stderr, fake.URL) || !strings.Contains(r.stderr, "rolecall: hint:") {
					t.Errorf("%s: the error does not name %s or has no hint:\n%s", args[0], fake.URL, r.stderr)
				}
			}
		})
	}
}

// TestCredentialsTimedBySTSClock: with this machine's clock hours off
// STS's, credentials are timed by STS's clock (the Date header): the
// expiration printed is an hour from now by the local clock, a second run
// is a cache hit, and rolecall says once that the clock is off. Before, a
// clock 3 h behind served expired credentials from the cache, and 3 h ahead
// printed already-expired ones and called STS on every run.
func TestCredentialsTimedBySTSClock(t *testing.T) {
	t.Parallel()
	role := ststest.DemoRoleARN("demo")
	for _, skew := range []time.Duration{3 * time.Hour, -3 * time.Hour} {
		t.Run(skew.String(), func(t *testing.T) {
			e := newRCEnv(t, ststest.DemoConfig())
			e.sts.SetRequestClockSkew(skew)
			r := e.mustRun("process", role)
			left := time.Until(parseProcess(t, r.stdout).Expiration)
			if left < 50*time.Minute || left > 70*time.Minute {
				t.Errorf("expiration %s from now by this clock, want about an hour", left.Round(time.Minute))
			}
			if strings.Count(r.stderr, "clock is 3h0m0s") != 1 {
				t.Errorf("want one warning naming the 3h skew, got:\n%s", r.stderr)
			}
			r = e.mustRun("process", role)
			if n := e.sts.CallCount("AssumeRole"); n > 2 {
				t.Errorf("%d AssumeRole calls for two runs: the second was no cache hit", n)
			}
			if !strings.Contains(r.stderr, "clock is 3h0m0s") {
				t.Errorf("a cache hit should still say the clock is off:\n%s", r.stderr)
			}
		})
	}
}
