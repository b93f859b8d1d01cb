package assume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// chainConfig is the chain of issue 20: chained from demo from alice.
const chainConfig = "[profile chained]\nrole_arn = " + "arn:aws:iam::123456789012:role/chained" + "\nsource_profile = demo\n" +
	"[profile demo]\nrole_arn = arn:aws:iam::123456789012:role/demo\nsource_profile = alice\n"

// A role profile's own chain stands against a profile named only by the
// environment: AWS_PROFILE=alice must not make `assume chained` skip the
// demo hop.
func TestAmbientProfileKeepsRoleProfilesChain(t *testing.T) {
	for _, variable := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		t.Run(variable, func(t *testing.T) {
			w := newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
			var warnings []string
			env := w.with(map[string]string{variable: "alice"})
			env.Warn = func(m string) { warnings = append(warnings, m) }
			res, err := Obtain(context.Background(), w.request("chained"), env)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.callLog(); len(got) != 2 || !strings.Contains(got[0], "role/demo") || !strings.Contains(got[1], "role/chained") {
				t.Errorf("calls = %q, want demo then chained", got)
			}
			if res.Plan.Target() != "chained" || res.Plan.Source.Profile != "alice" || len(res.Plan.Hops) != 2 {
				t.Errorf("plan = %s", res.Plan.describe())
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none: the variable is simply not used", warnings)
			}
		})
	}
}

// An ambient profile still names the base of a role given by ARN.
func TestAmbientProfileIsBaseOfRoleARN(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
	res, err := Obtain(context.Background(), w.request(ststest.DemoRoleARN("chained")), w.with(map[string]string{"AWS_PROFILE": "demo"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := w.callLog(); len(got) != 2 || !strings.Contains(got[1], "role/chained") {
		t.Errorf("calls = %q, want demo (AWS_PROFILE's role) then chained", got)
	}
	if res.Plan.Source.Profile != "alice" {
		t.Errorf("source = %q, want alice", res.Plan.Source.Profile)
	}
}

// An explicit --profile replaces a role profile's source, and says so once.
func TestExplicitProfileReplacesSourceAndSaysSo(t *testing.T) {
	// --profile demo with ROLE demo is demo's own chain: nothing replaced.
	w := newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
	req := w.request("demo")
	req.Profile = "demo"
	var warnings []string
	env := w.with(nil)
	env.Warn = func(m string) { warnings = append(warnings, m) }
	if _, err := Obtain(context.Background(), req, env); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 || len(w.sts.Calls()) != 1 {
		t.Errorf("warnings = %q, calls = %q; want none and one AssumeRole", warnings, w.callLog())
	}

	w = newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
	req = w.request("chained")
	req.Profile = "alice"
	warnings = nil
	env = w.with(nil)
	env.Warn = func(m string) { warnings = append(warnings, m) }
	_, err := Obtain(context.Background(), req, env)
	var call *CallError
	if !errors.As(err, &call) || !strings.Contains(call.Error(), "AccessDenied") {
		t.Errorf("err = %v, want chained assumed straight from alice, refused", err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "--profile alice replaces profile chained's own source_profile = demo: chained is assumed with alice's credentials") {
		t.Errorf("warnings = %q", warnings)
	}
	// The same with source_profile naming the --profile itself: nothing replaced, nothing said.
	w = newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
	req = w.request("chained")
	req.Profile = "demo"
	warnings = nil
	env = w.with(nil)
	env.Warn = func(m string) { warnings = append(warnings, m) }
	if _, err := Obtain(context.Background(), req, env); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
}

// A profile that a variable names and that does not exist is blamed on
// the variable, not on the ROLE the user typed.
func TestStaleProfileVariableIsNamed(t *testing.T) {
	for _, variable := range []string{"AWS_PROFILE", "AWS_DEFAULT_PROFILE"} {
		t.Run(variable, func(t *testing.T) {
			w := newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
			_, err := Obtain(context.Background(), w.request(ststest.DemoRoleARN("demo")), w.with(map[string]string{variable: "demoo"}))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			if !strings.HasPrefix(ce.Error(), variable+"=demoo names no profile") || !strings.Contains(ce.Error(), `did you mean "demo"`) {
				t.Errorf("message = %q", ce.Error())
			}
			if !strings.HasPrefix(ce.Hint, "unset "+variable) {
				t.Errorf("hint = %q, want unset %s", ce.Hint, variable)
			}
			if n := len(w.sts.Calls()); n != 0 {
				t.Errorf("%d STS calls, want none", n)
			}
		})
	}
	// --profile is the user's own word: no variable to blame.
	w := newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
	req := w.request(ststest.DemoRoleARN("demo"))
	req.Profile = "demoo"
	_, err := Obtain(context.Background(), req, w.with(nil))
	if err == nil || strings.Contains(err.Error(), "AWS_PROFILE") || !strings.HasPrefix(err.Error(), `profile "demoo" not found`) {
		t.Errorf("err = %v", err)
	}
}

// Keys an earlier assume exported, after their session ended: refused
// before any STS call, naming the variables, when, and that rolecall
// exported them; the hint is unassume or the unset line.
func TestExpiredEnvironmentKeysRefusedBeforeAnyCall(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), chainConfig, demoCredentials)
	req := w.request(ststest.DemoRoleARN("demo"))
	req.Profile = "alice"
	first, err := Obtain(context.Background(), req, w.with(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := first.Credentials
	w.sts.Advance(2 * time.Hour)
	w.sts.ResetCalls()
	exported := map[string]string{
		"AWS_ACCESS_KEY_ID":         c.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":     c.SecretAccessKey,
		"AWS_SESSION_TOKEN":         c.SessionToken,
		"AWS_CREDENTIAL_EXPIRATION": c.Expiration.Format(time.RFC3339),
	}
	for _, tc := range []struct {
		name   string
		cache  string // the cache the command reads
		wantBy bool
	}{
		{"key ID in the cache", w.cache, true},
		{"another cache", filepath.Join(t.TempDir(), "other"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := w.request(ststest.DemoRoleARN("chained"))
			req.CacheDir = tc.cache
			_, err := Obtain(context.Background(), req, w.with(exported))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ConfigError", err)
			}
			msg := ce.Error()
			for _, want := range []string{"AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN", "expired at " + c.Expiration.UTC().Format(time.RFC3339), "AWS_CREDENTIAL_EXPIRATION"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if by := strings.Contains(msg, "exported by an earlier rolecall assume"); by != tc.wantBy {
				t.Errorf("message %q: says rolecall exported them = %v, want %v", msg, by, tc.wantBy)
			}
			if ce.Hint != StaleEnvKeysHint || !strings.Contains(ce.Hint, "unassume") || !strings.Contains(ce.Hint, "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_CREDENTIAL_EXPIRATION") {
				t.Errorf("hint = %q", ce.Hint)
			}
			if strings.Contains(msg, c.SecretAccessKey) || strings.Contains(msg, c.SessionToken) {
				t.Error("the message holds a secret")
			}
			if n := len(w.sts.Calls()); n != 0 {
				t.Errorf("%d STS calls, want none", n)
			}
		})
	}

	// Without the expiration variable STS is the judge: its ExpiredToken
	// is marked as signed with the environment's keys, for the CLI's hint.
	delete(exported, "AWS_CREDENTIAL_EXPIRATION")
	_, err = Obtain(context.Background(), w.request(ststest.DemoRoleARN("chained")), w.with(exported))
	var call *CallError
	if !errors.As(err, &call) || !strings.Contains(err.Error(), "ExpiredToken") || !call.BaseFromEnvironment {
		t.Errorf("err = %v (%+v), want an ExpiredToken CallError marked BaseFromEnvironment", err, call)
	}

	// An expiration still ahead is no reason to refuse.
	w2 := newWorld(t, ststest.DemoConfig(), "", "")
	fresh := map[string]string{
		"AWS_ACCESS_KEY_ID": ststest.DemoAccessKeyID, "AWS_SECRET_ACCESS_KEY": ststest.DemoSecretAccessKey,
		"AWS_CREDENTIAL_EXPIRATION": w2.sts.Now().Add(time.Minute).Format(time.RFC3339),
	}
	if _, err := Obtain(context.Background(), w2.request(ststest.DemoRoleARN("demo")), w2.with(fresh)); err != nil {
		t.Errorf("unexpired keys: %v", err)
	}
}

// Behind one container endpoint URI, each authorization token is its own
// identity (EKS Pod Identity gives every service account a token): the
// first hop's cache key names the token's digest, from the token file
// when there is one, as that is what the SDKs send.
func TestContainerSourceKeyedByToken(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", "")
	dir := t.TempDir()
	fileA, fileB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for path, token := range map[string]string{fileA: "token-of-alice", fileB: "token-of-bob"} {
		if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	key := func(extra map[string]string) string {
		t.Helper()
		env := map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"}
		for k, v := range extra {
			env[k] = v
		}
		plan, err := Resolve(context.Background(), w.request(ststest.DemoRoleARN("demo")), w.with(env))
		if err != nil {
			t.Fatal(err)
		}
		return plan.Keys()[0]
	}
	alice := key(map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN": "token-of-alice"})
	bob := key(map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN": "token-of-bob"})
	aliceFile := key(map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": fileA})
	bobFile := key(map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": fileB, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "token-of-alice"})
	none := key(nil)
	if alice == bob || aliceFile == bobFile || alice == none {
		t.Errorf("tokens share a key: alice %s bob %s, files %s %s, none %s", alice, bob, aliceFile, bobFile, none)
	}
	if alice != aliceFile {
		t.Error("the same token from a file and from the variable keyed differently")
	}
	if again := key(map[string]string{"AWS_CONTAINER_AUTHORIZATION_TOKEN": "token-of-alice"}); again != alice {
		t.Error("the key is not stable")
	}
	_, err := Resolve(context.Background(), w.request(ststest.DemoRoleARN("demo")), w.with(map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": filepath.Join(dir, "missing"),
	}))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
		t.Errorf("missing token file: %v", err)
	}
}
