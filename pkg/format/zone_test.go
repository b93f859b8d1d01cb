package format

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// inLocalZone makes zone the process's local time zone until the test ends.
// Every other test runs in the machine's zone, UTC on CI, where a formatter
// that printed local time would print the right text by accident. The test
// that calls it must not be parallel: time.Local is global.
func inLocalZone(t *testing.T, zone *time.Location) {
	t.Helper()
	saved := time.Local
	time.Local = zone
	t.Cleanup(func() { time.Local = saved })
}

// TestExpirationIsUTCWhateverTheLocalZone: every place an expiration is
// printed for a machine (AWS_CREDENTIAL_EXPIRATION in each shell format and
// dotenv, Expiration in json and credential_process, x_security_token_expires
// in ini, GITHUB_ENV and GITHUB_OUTPUT) prints it in UTC with a Z, with the
// local zone 5h30 east of UTC, and whatever zone the time value carries (STS
// hands out UTC; time.Now is local).
func TestExpirationIsUTCWhateverTheLocalZone(t *testing.T) {
	inLocalZone(t, time.FixedZone("UTC+5:30", 5*3600+1800))
	const want = "2030-01-02T03:04:05Z"
	// What a formatter using local time, or the value's own zone, would print.
	wrong := []string{"+05:30", "-08:00", "08:34:05", "19:04:05"}
	held := []*time.Location{time.UTC, time.Local, time.FixedZone("UTC-8", -8*3600)}

	check := func(t *testing.T, what string, out []byte) {
		t.Helper()
		if n := bytes.Count(out, []byte(want)); n != 1 {
			t.Errorf("%s: %d times %s, want once:\n%s", what, n, want, out)
		}
		for _, w := range wrong {
			if bytes.Contains(out, []byte(w)) {
				t.Errorf("%s: has %q, a local or zoned time:\n%s", what, w, out)
			}
		}
	}
	for _, zone := range held {
		t.Run("held in "+zone.String(), func(t *testing.T) {
			c := testCreds()
			c.Expiration = c.Expiration.In(zone)
			opt := Options{Region: "eu-central-1", ProfileName: "deploy"}
			for _, f := range canonical {
				if f == GitHub {
					continue // -f github writes only the masks to stdout
				}
				check(t, "-f "+string(f), render(t, f, c, opt))
			}
			var env, outputs bytes.Buffer
			if err := GitHubEnvFile(&env, EnvVars(c, opt), counterDelimiter()); err != nil {
				t.Fatal(err)
			}
			check(t, "GITHUB_ENV", env.Bytes())
			if err := GitHubEnvFile(&outputs, GitHubOutputs(c, opt), counterDelimiter()); err != nil {
				t.Fatal(err)
			}
			check(t, "GITHUB_OUTPUT", outputs.Bytes())
			for _, v := range EnvVars(c, opt) {
				if strings.Contains(v.Name, "EXPIRATION") && v.Value != want {
					t.Errorf("EnvVars: %s = %q, want %s", v.Name, v.Value, want)
				}
			}
		})
	}
}
