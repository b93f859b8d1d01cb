package assume

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestResolveForConsole: the resolver alone decides how a console session
// is reached; no STS call is made here.
func TestResolveForConsole(t *testing.T) {
	keys := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV0000000000001", "AWS_SECRET_ACCESS_KEY": "s"}
	sessionKeys := merge(keys, map[string]string{"AWS_SESSION_TOKEN": "t"})
	mfaProfile := "[profile mfa]\nrole_arn = " + ststest.DemoRoleARN("needs-mfa") + "\nsource_profile = alice\nmfa_serial = " + ststest.DemoMFASerial + "\n"
	config := roleProfiles + mfaProfile + ssoConfig
	tests := []struct {
		name    string
		env     map[string]string
		req     Request
		hops    []string // kind and role ARN of each hop
		check   func(t *testing.T, p Plan)
		wantErr string
		usage   bool // the error must be a usage error (exit 2)
	}{
		{name: "user keys of a profile become a federated user", req: Request{Profile: "alice"},
			hops: []string{"federation-token "}, check: func(t *testing.T, p Plan) {
				h := p.Hops[0]
				if h.Policy != FederationAllowAllPolicy || h.SessionName != "" || h.Label != "alice" {
					t.Errorf("federation hop %+v: want the allow-all policy, no name (the IAM user's), label alice", h)
				}
			}},
		{name: "user keys in the environment too", env: keys, hops: []string{"federation-token "}},
		{name: "a session policy replaces the allow-all one", req: Request{Profile: "alice", PolicyARNs: []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, SessionName: "bob", Duration: "24h"},
			hops: []string{"federation-token "}, check: func(t *testing.T, p Plan) {
				h := p.Hops[0]
				if h.Policy != "" || !reflect.DeepEqual(h.PolicyARNs, []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}) || h.SessionName != "bob" || h.Duration != 24*time.Hour {
					t.Errorf("federation hop %+v: want only the policy ARN, name bob, 24h", h)
				}
			}},
		{name: "a role from user keys is assumed, not federated", req: Request{Profile: "alice", Roles: []string{demo}}, hops: []string{"assume-role " + demo}},
		{name: "temporary keys sign in as they are", env: sessionKeys},
		{name: "an SSO session signs in as it is", req: Request{Profile: "sso"}, hops: []string{"sso-role "}},
		{name: "a federated user takes no MFA", req: Request{Profile: "alice", MFASerial: ststest.DemoMFASerial}, wantErr: "GetFederationToken", usage: true},
		{name: "nor transitive tag keys", req: Request{Profile: "alice", Tags: []string{"a=b"}, TransitiveTagKeys: []string{"a"}}, wantErr: "--transitive-tag-key", usage: true},
		{name: "a federated user's name is at most 32", req: Request{Profile: "alice", SessionName: strings.Repeat("n", 33)}, wantErr: "federated user name", usage: true},
		{name: "a role is held to 12h", req: Request{Profile: "alice", Roles: []string{demo}, Duration: "24h"}, wantErr: "duration", usage: true},
		{name: "36h is the federated limit", req: Request{Profile: "alice", Duration: "37h"}, wantErr: "duration", usage: true},

		// --console-duration (SessionDuration) where the endpoint takes it.
		{name: "console duration for a role from user keys", req: Request{Profile: "alice", Roles: []string{demo}, ConsoleDuration: 8 * time.Hour}, hops: []string{"assume-role " + demo}},
		{name: "console duration with MFA: no session token in between", req: Request{Roles: []string{"mfa"}, ConsoleDuration: time.Hour},
			hops: []string{"assume-role " + ststest.DemoRoleARN("needs-mfa")}},
		{name: "MFA without console duration keeps the MFA session", req: Request{Roles: []string{"mfa"}},
			hops: []string{"session-token ", "assume-role " + ststest.DemoRoleARN("needs-mfa")}},
		{name: "console duration for a chained role", req: Request{Roles: []string{"deploy", chained}, ConsoleDuration: time.Hour}, wantErr: "role chaining", usage: true},
		{name: "console duration for a federated user", req: Request{Profile: "alice", ConsoleDuration: time.Hour}, wantErr: "federated user", usage: true},
		{name: "console duration for a role from temporary keys", env: sessionKeys, req: Request{Roles: []string{demo}, ConsoleDuration: time.Hour}, wantErr: "temporary credentials", usage: true},
		{name: "console duration for a role from SSO", req: Request{Profile: "sso", Roles: []string{demo}, ConsoleDuration: time.Hour}, wantErr: "role chaining", usage: true},
		{name: "console duration out of range", req: Request{Profile: "alice", Roles: []string{demo}, ConsoleDuration: 13 * time.Hour}, wantErr: "console duration", usage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.ForConsole = true
			p, err := resolveIn(t, config, demoCredentials, tt.env, req)
			if tt.wantErr != "" {
				var ue *UsageError
				var ie *InputError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if tt.usage && !errors.As(err, &ue) && !errors.As(err, &ie) {
					t.Errorf("error is %T, want a usage or input error (exit 2)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range p.Hops {
				got = append(got, h.Kind+" "+h.RoleARN)
			}
			if !reflect.DeepEqual(got, tt.hops) {
				t.Errorf("hops %q, want %q", got, tt.hops)
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}

	// Without ForConsole nothing changes: a profile without a role is an
	// error, and nothing is federated.
	if _, err := resolveIn(t, config, demoCredentials, nil, Request{Profile: "alice"}); err == nil || !strings.Contains(err.Error(), "no role_arn") {
		t.Errorf("--profile alice without ForConsole: %v, want the no role_arn error", err)
	}
}

// TestFederationHopIsNeverChained: GetFederationToken is called with
// long-term keys only, so the one-hour clamp never applies to it.
func TestFederationHopIsNeverChained(t *testing.T) {
	p := Plan{
		Source: Source{Source: awsconfig.Source{Kind: awsconfig.SourceSSO}},
		Hops:   []Hop{{Kind: cache.KindFederationToken, Duration: 24 * time.Hour}},
	}
	if p.chained(0) {
		t.Error("a federation hop counts as chained")
	}
}

// TestObtainFederatesAndCaches: IAM user keys with no role make one
// GetCallerIdentity (for the name) and one GetFederationToken, cached like
// any hop; a second request is a cache hit, and a named federated user is
// another entry.
func TestObtainFederatesAndCaches(t *testing.T) {
	w := newWorld(t, ststest.DemoConfig(), "", demoCredentials)
	ctx := context.Background()
	req := w.request()
	req.Profile, req.ForConsole = "alice", true
	env, _ := w.traced()
	for range 2 {
		res, err := Obtain(ctx, req, env)
		if err != nil {
			t.Fatal(err)
		}
		if want := "arn:aws:sts::" + ststest.DemoAccount + ":federated-user/alice"; res.Credentials.AssumedRoleARN != want {
			t.Errorf("signed in as %q, want %q", res.Credentials.AssumedRoleARN, want)
		}
	}
	if got := w.callLog(); !reflect.DeepEqual(got, []string{"GetCallerIdentity", "GetFederationToken Policy=" + FederationAllowAllPolicy}) {
		t.Errorf("calls %q, want GetCallerIdentity then one GetFederationToken with the allow-all policy", got)
	}
	last := w.sts.Calls()[len(w.sts.Calls())-1]
	if last.Params["Name"] != "alice" {
		t.Errorf("GetFederationToken Name=%q, want alice (the IAM user's name)", last.Params["Name"])
	}
	if n := len(w.cacheKeys()); n != 1 {
		t.Errorf("%d cache entries, want 1", n)
	}

	req.SessionName, req.PolicyARNs = "bob", []string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}
	res, err := Obtain(ctx, req, env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.Credentials.AssumedRoleARN, ":federated-user/bob") {
		t.Errorf("signed in as %q, want federated-user/bob", res.Credentials.AssumedRoleARN)
	}
	last = w.sts.Calls()[len(w.sts.Calls())-1]
	if _, ok := last.Params["Policy"]; ok || last.Params["PolicyArns.member.1.arn"] != "arn:aws:iam::aws:policy/ReadOnlyAccess" {
		t.Errorf("GetFederationToken params %v, want the policy ARN and no inline policy", last.Params)
	}
	if got := w.sts.CallCount("GetCallerIdentity"); got != 1 {
		t.Errorf("%d GetCallerIdentity calls, want 1: a named federated user needs none", got)
	}
	if n := len(w.cacheKeys()); n != 2 {
		t.Errorf("%d cache entries, want 2", n)
	}
}

func TestFederatedUserNameFor(t *testing.T) {
	tests := map[string]string{
		"arn:aws:iam::123456789012:user/alice":                      "alice",
		"arn:aws:iam::123456789012:user/team/ops/bob":               "bob",
		"arn:aws:iam::123456789012:root":                            "root",
		"arn:aws:iam::123456789012:user/" + strings.Repeat("x", 64): strings.Repeat("x", 32),
		"arn:aws:iam::123456789012:user/a":                          "rolecall-a",
		"arn:aws:iam::123456789012:user/ab":                         "ab", // two characters are enough
		":carol":                                                    "carol",
	}
	for in, want := range tests {
		got := FederatedUserNameFor(in)
		if got != want {
			t.Errorf("FederatedUserNameFor(%q) = %q, want %q", in, got, want)
		}
		if err := ValidateFederatedUserName(got); err != nil {
			t.Errorf("FederatedUserNameFor(%q) = %q is not a valid name: %v", in, got, err)
		}
	}
}
