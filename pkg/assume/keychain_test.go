package assume

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
)

const keychainConfig = `[profile alice]
x_rolecall_keyring = file
x_rolecall_access_key_id = AKIAIOSFODNN7EXAMPLE
credential_process = rolecall process --profile alice

[profile alice-mfa]
x_rolecall_keyring = file
x_rolecall_access_key_id = AKIAIOSFODNN7EXAMPLE
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile demo]
role_arn = arn:aws:iam::123456789012:role/demo
source_profile = alice

[profile admin]
role_arn = arn:aws:iam::123456789012:role/admin
source_profile = alice
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile half]
x_rolecall_keyring = file
`

// TestResolveKeychainSource: a profile whose key is in a keychain is a
// source like keys in a file, named by its access key ID alone (the
// resolver never opens the store); without a role it hands out a
// GetSessionToken session, with MFA when the profile has mfa_serial, and
// that session is the very cache entry the MFA session of a role uses.
func TestResolveKeychainSource(t *testing.T) {
	resolve := func(req Request) Plan {
		t.Helper()
		req.MFASessionTTL = DefaultMFASessionDuration
		p, err := resolveIn(t, keychainConfig, "", nil, req)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := resolve(Request{Profile: "alice"})
	if p.Source.Kind != awsconfig.SourceKeychain || p.Source.StaticKeys.AccessKeyID != "AKIAIOSFODNN7EXAMPLE" || p.Source.StaticKeys.SecretAccessKey != "" {
		t.Fatalf("source = %+v", p.Source)
	}
	if got := hopSummary(p); !reflect.DeepEqual(got, []string{cache.KindSessionToken + "  " + DefaultMFASessionDuration.String()}) {
		t.Fatalf("hops = %q", got)
	}
	if p.Hops[0].MFASerial != "" {
		t.Fatalf("no mfa_serial, yet the session asks for MFA")
	}

	role := resolve(Request{Roles: []string{"demo"}})
	if got := hopSummary(role); !reflect.DeepEqual(got, []string{cache.KindAssumeRole + " arn:aws:iam::123456789012:role/demo"}) {
		t.Fatalf("role hops = %q", got)
	}
	if role.Source.cacheID("") != "keys:AKIAIOSFODNN7EXAMPLE" {
		t.Fatalf("cache ID = %q", role.Source.cacheID(""))
	}

	// The MFA session of the profile and that of a role behind MFA share a
	// cache key: one code serves both.
	session := resolve(Request{Profile: "alice-mfa"})
	admin := resolve(Request{Roles: []string{"admin"}})
	if len(admin.Hops) != 2 || session.Hops[0].MFASerial == "" || session.Keys()[0] != admin.Keys()[0] {
		t.Fatalf("the profile's MFA session %q is not the role's %q", session.Keys(), admin.Keys())
	}

	// The console: a federated user's session, as for keys in a file.
	console := resolve(Request{Profile: "alice", ForConsole: true})
	if len(console.Hops) != 1 || console.Hops[0].Kind != cache.KindFederationToken {
		t.Fatalf("console hops = %q", hopSummary(console))
	}

	if _, err := resolveIn(t, keychainConfig, "", nil, Request{Profile: "half", Timeout: time.Minute}); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Fatalf("half a keychain entry: %v", err)
	}
}

// TestMaskKeyID hides all but the last 4 characters.
func TestMaskKeyID(t *testing.T) {
	if got := MaskKeyID("AKIAIOSFODNN7EXAMPLE"); got != "****************MPLE" {
		t.Fatalf("MaskKeyID = %q", got)
	}
}
