package assume

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// matrixConfig is the demo world plus a third role, so that a chain of
// three can be tried.
func matrixConfig() ststest.Config {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles,
		ststest.Role{ARN: ststest.DemoRoleARN("third"), Trust: ststest.Trust{Principals: []string{ststest.DemoRoleARN("chained")}}},
		ststest.Role{ARN: ststest.DemoRoleARN("from-sso"), Trust: ststest.Trust{Principals: []string{ststest.SSORoleARN(ststest.DemoAccount, "AdministratorAccess")}}},
	)
	return cfg
}

// TestProfileNamedAnyWayResolvesTheSame is the matrix of the one resolver:
// for every kind of profile, --profile X, AWS_PROFILE=X and
// AWS_DEFAULT_PROFILE=X make the same STS calls, leave the same cache
// entries and give the same identity.
func TestProfileNamedAnyWayResolvesTheSame(t *testing.T) {
	process := fmt.Sprintf(`printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s"}'`, ststest.DemoAccessKeyID, ststest.DemoSecretAccessKey)
	cases := []struct {
		name     string
		config   string
		wantARN  string
		wantHops int // STS (and GetRoleCredentials) calls on a cold cache
	}{
		{"plain role", "[profile x]\nrole_arn = " + ststest.DemoRoleARN("demo") + "\nsource_profile = alice\n", "assumed-role/demo/", 1},
		{"chain of 3", "[profile one]\nrole_arn = " + ststest.DemoRoleARN("demo") + "\nsource_profile = alice\n" +
			"[profile two]\nrole_arn = " + ststest.DemoRoleARN("chained") + "\nsource_profile = one\n" +
			"[profile x]\nrole_arn = " + ststest.DemoRoleARN("third") + "\nsource_profile = two\n", "assumed-role/third/", 3},
		{"MFA at the first hop", "[profile x]\nrole_arn = " + ststest.DemoRoleARN("needs-mfa") + "\nsource_profile = alice\nmfa_serial = " + ststest.DemoMFASerial + "\n", "assumed-role/needs-mfa/", 2},
		{"external ID", "[profile x]\nrole_arn = " + ststest.DemoRoleARN("needs-external-id") + "\nsource_profile = alice\nexternal_id = rolecall-example\n", "assumed-role/needs-external-id/", 1},
		{"web identity", "[profile x]\nrole_arn = " + ststest.DemoRoleARN("ci-deploy") + "\nweb_identity_token_file = TOKEN\n", "assumed-role/ci-deploy/", 1},
		{"credential_process source", "[profile proc]\ncredential_process = " + process + "\n[profile x]\nrole_arn = " + ststest.DemoRoleARN("demo") + "\nsource_profile = proc\n", "assumed-role/demo/", 1},
		// GetRoleCredentials is a cached hop of its own.
		{"SSO source", ssoConfig + "[profile x]\nrole_arn = " + ststest.DemoRoleARN("from-sso") + "\nsource_profile = sso\n", "assumed-role/from-sso/", 2},
	}
	ways := []struct {
		name string
		req  func(r *Request) map[string]string
	}{
		{"--profile", func(r *Request) map[string]string { r.Profile = "x"; return nil }},
		{"AWS_PROFILE", func(*Request) map[string]string { return map[string]string{"AWS_PROFILE": "x"} }},
		{"AWS_DEFAULT_PROFILE", func(*Request) map[string]string { return map[string]string{"AWS_DEFAULT_PROFILE": "x"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			type outcome struct {
				Calls     []string
				CacheKeys []string
				ARN       string
			}
			var first *outcome
			w := newWorld(t, matrixConfig(), "", demoCredentials)
			token := filepath.Join(w.home, "token")
			mintToken(t, w.sts, token)
			w.write(filepath.Join(w.home, ".aws", "config"), strings.ReplaceAll(tc.config, "TOKEN", token))
			w.loginSSO("corp")
			for i, way := range ways {
				// A cold cache of its own, a clean call log, and the next
				// MFA code (STS refuses a code twice).
				w.cache = filepath.Join(t.TempDir(), fmt.Sprint(i))
				w.sts.ResetCalls()
				w.sts.Advance(time.Minute)
				req := w.request()
				extra := way.req(&req)
				id, err := WhoAmI(context.Background(), req, w.with(extra))
				if err != nil {
					t.Fatalf("%s: %v", way.name, err)
				}
				got := &outcome{Calls: w.callLog(), CacheKeys: w.cacheKeys(), ARN: id.ARN}
				if n := len(got.CacheKeys); n != tc.wantHops {
					t.Errorf("%s: %d cache entries, want %d (one a hop): %v", way.name, n, tc.wantHops, got.Calls)
				}
				if !strings.Contains(id.ARN, tc.wantARN) {
					t.Errorf("%s: identity %s, want %s", way.name, id.ARN, tc.wantARN)
				}
				if first == nil {
					first = got
					continue
				}
				if !reflect.DeepEqual(got, first) {
					t.Errorf("%s resolves differently from --profile:\n got  %+v\n want %+v", way.name, got, first)
				}
			}
		})
	}
}

// ssoConfig is an Identity Center profile of the demo directory.
const ssoConfig = "[sso-session corp]\nsso_start_url = " + ststest.DemoSSOStartURL + "\nsso_region = " + ststest.DemoSSORegion + "\n" +
	"[profile sso]\nsso_session = corp\nsso_account_id = " + ststest.DemoAccount + "\nsso_role_name = AdministratorAccess\n"
