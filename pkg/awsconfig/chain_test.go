package awsconfig

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFiles puts a config and a credentials file in a temp dir; an empty
// string leaves that file missing.
func writeFiles(t *testing.T, config, credentials string) Files {
	t.Helper()
	dir := t.TempDir()
	f := Files{Config: filepath.Join(dir, "config"), Credentials: filepath.Join(dir, "credentials")}
	if config != "" {
		if err := os.WriteFile(f.Config, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if credentials != "" {
		if err := os.WriteFile(f.Credentials, []byte(credentials), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func mustLoad(t *testing.T, f Files) *Config {
	t.Helper()
	c, err := Load(f)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// chainSummary flattens a chain for comparison: the source and the role
// profile names.
type chainSummary struct {
	Kind        SourceKind
	Profile     string
	KeyID       string
	RoleSession bool
	Roles       []string
}

func summarize(ch Chain) chainSummary {
	s := chainSummary{Kind: ch.Source.Kind, Profile: ch.Source.Profile, RoleSession: ch.Source.RoleSession()}
	if ch.Source.StaticKeys != nil {
		s.KeyID = ch.Source.StaticKeys.AccessKeyID
	}
	for _, r := range ch.Roles {
		s.Roles = append(s.Roles, r.Name)
	}
	return s
}

func TestChain(t *testing.T) {

	const credentials = `[base]
aws_access_key_id = AKIABASE0000000000001
aws_secret_access_key = base-secret
`
	tests := []struct {
		name    string
		config  string
		creds   string
		profile string
		want    chainSummary
		wantErr []string // substrings of the error
	}{
		{
			name: "plain role with static source",
			config: `[profile dev]
role_arn = arn:aws:iam::111111111111:role/dev
source_profile = base
`,
			creds: credentials, profile: "dev",
			want: chainSummary{Kind: SourceStatic, Profile: "base", KeyID: "AKIABASE0000000000001", Roles: []string{"dev"}},
		},
		{
			name: "chain of three",
			config: `[profile hub]
role_arn = arn:aws:iam::111111111111:role/hub
source_profile = base
[profile spoke]
role_arn = arn:aws:iam::222222222222:role/spoke
source_profile = hub
[profile prod]
role_arn = arn:aws:iam::333333333333:role/prod
source_profile = spoke
`,
			creds: credentials, profile: "prod",
			want: chainSummary{Kind: SourceStatic, Profile: "base", KeyID: "AKIABASE0000000000001", Roles: []string{"hub", "spoke", "prod"}},
		},
		{
			// botocore's order: keys from the credentials file, then
			// credential_process, then keys from the config file.
			name: "keys in the credentials file win over credential_process",
			config: `[profile both]
credential_process = /bin/false
`,
			creds:   "[both]\naws_access_key_id = AKIACREDSFILE0000001\naws_secret_access_key = s\n",
			profile: "both",
			want:    chainSummary{Kind: SourceStatic, Profile: "both", KeyID: "AKIACREDSFILE0000001"},
		},
		{
			name: "credential_process wins over keys in the config file",
			config: `[profile both]
credential_process = /bin/false
aws_access_key_id = AKIACONFIGFILE000001
aws_secret_access_key = s
`,
			profile: "both",
			want:    chainSummary{Kind: SourceProcess, Profile: "both"},
		},
		{
			name: "self-referencing source_profile with static keys",
			config: `[profile self]
role_arn = arn:aws:iam::111111111111:role/self
source_profile = self
aws_access_key_id = AKIASELF000000000001
aws_secret_access_key = self-secret
`,
			profile: "self",
			want:    chainSummary{Kind: SourceStatic, Profile: "self", KeyID: "AKIASELF000000000001", Roles: []string{"self"}},
		},
		{
			name: "self-referencing profile used as a source is only its keys",
			config: `[profile self]
role_arn = arn:aws:iam::111111111111:role/self
source_profile = self
aws_access_key_id = AKIASELF000000000001
aws_secret_access_key = self-secret
[profile top]
role_arn = arn:aws:iam::111111111111:role/top
source_profile = self
`,
			profile: "top",
			want:    chainSummary{Kind: SourceStatic, Profile: "self", KeyID: "AKIASELF000000000001", Roles: []string{"top"}},
		},
		{
			name: "source with static keys and role_arn is not assumed (botocore)",
			config: `[profile mid]
role_arn = arn:aws:iam::111111111111:role/mid
source_profile = base
aws_access_key_id = AKIAMID0000000000001
aws_secret_access_key = mid-secret
[profile top]
role_arn = arn:aws:iam::111111111111:role/top
source_profile = mid
`,
			creds: credentials, profile: "top",
			want: chainSummary{Kind: SourceStatic, Profile: "mid", KeyID: "AKIAMID0000000000001", Roles: []string{"top"}},
		},
		{
			name: "credential_source Environment",
			config: `[profile ci]
role_arn = arn:aws:iam::111111111111:role/ci
credential_source = Environment
`,
			profile: "ci",
			want:    chainSummary{Kind: SourceEnvironment, Profile: "ci", Roles: []string{"ci"}},
		},
		{
			name: "credential_source Ec2InstanceMetadata is not role chaining",
			config: `[profile box]
role_arn = arn:aws:iam::111111111111:role/box
credential_source = Ec2InstanceMetadata
[profile next]
role_arn = arn:aws:iam::111111111111:role/next
source_profile = box
`,
			profile: "next",
			want:    chainSummary{Kind: SourceEC2, Profile: "box", Roles: []string{"box", "next"}},
		},
		{
			name: "credential_source EcsContainer",
			config: `[profile task]
role_arn = arn:aws:iam::111111111111:role/task
credential_source = EcsContainer
`,
			profile: "task",
			want:    chainSummary{Kind: SourceECS, Profile: "task", Roles: []string{"task"}},
		},
		{
			name: "web identity source",
			config: `[profile oidc]
role_arn = arn:aws:iam::111111111111:role/oidc
web_identity_token_file = /var/run/token
[profile deploy]
role_arn = arn:aws:iam::222222222222:role/deploy
source_profile = oidc
`,
			profile: "deploy",
			want:    chainSummary{Kind: SourceWebIdentity, Profile: "oidc", RoleSession: true, Roles: []string{"deploy"}},
		},
		{
			name: "web identity profile asked for directly is loaded by the SDK",
			config: `[profile oidc]
role_arn = arn:aws:iam::111111111111:role/oidc
web_identity_token_file = /var/run/token
`,
			profile: "oidc",
			want:    chainSummary{Kind: SourceWebIdentity, Profile: "oidc", RoleSession: true},
		},
		{
			name: "web identity token file without role_arn is left to the SDK",
			config: `[profile oidc]
web_identity_token_file = /var/run/token
[profile deploy]
role_arn = arn:aws:iam::222222222222:role/deploy
source_profile = oidc
`,
			profile: "deploy",
			want:    chainSummary{Kind: SourceWebIdentity, Profile: "oidc", RoleSession: true, Roles: []string{"deploy"}},
		},
		{
			name: "sso source",
			config: `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile sso]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Admin
[profile admin]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = sso
`,
			profile: "admin",
			want:    chainSummary{Kind: SourceSSO, Profile: "sso", RoleSession: true, Roles: []string{"admin"}},
		},
		{
			name: "credential_process source",
			config: `[profile proc]
credential_process = /usr/bin/get-creds --json
[profile admin]
role_arn = arn:aws:iam::222222222222:role/admin
source_profile = proc
`,
			profile: "admin",
			want:    chainSummary{Kind: SourceProcess, Profile: "proc", Roles: []string{"admin"}},
		},
		{
			name: "a source with role_arn and credential_process but no keys is assumed",
			config: `[profile mid]
role_arn = arn:aws:iam::111111111111:role/mid
source_profile = base
credential_process = /usr/bin/ignored
[profile top]
role_arn = arn:aws:iam::111111111111:role/top
source_profile = mid
`,
			creds: credentials, profile: "top",
			want: chainSummary{Kind: SourceStatic, Profile: "base", KeyID: "AKIABASE0000000000001", Roles: []string{"mid", "top"}},
		},
		{
			name: "SSO settings win over static keys in a source (botocore's provider order)",
			config: `[sso-session corp]
sso_start_url = https://corp.awsapps.com/start
sso_region = eu-west-1
[profile both]
sso_session = corp
aws_access_key_id = AKIABOTH000000000001
aws_secret_access_key = both-secret
[profile top]
role_arn = arn:aws:iam::111111111111:role/top
source_profile = both
`,
			profile: "top",
			want:    chainSummary{Kind: SourceSSO, Profile: "both", RoleSession: true, Roles: []string{"top"}},
		},
		{
			name:    "plain static profile is its own source",
			creds:   credentials,
			profile: "base",
			want:    chainSummary{Kind: SourceStatic, Profile: "base", KeyID: "AKIABASE0000000000001"},
		},
		{
			name:    "profile with nothing rolecall handles is left to the SDK",
			config:  "[profile empty]\nregion = eu-west-1\n",
			profile: "empty",
			want:    chainSummary{Kind: SourceNone, Profile: "empty"},
		},
		{
			name: "cycle",
			config: `[profile a]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = b
[profile b]
role_arn = arn:aws:iam::111111111111:role/b
source_profile = a
`,
			profile: "a",
			wantErr: []string{`profile "b"`, "loops: a -> b -> a", "config line 4"},
		},
		{
			name: "cycle through a profile with keys is still a loop (botocore)",
			config: `[profile a]
role_arn = arn:aws:iam::111111111111:role/a
source_profile = b
aws_access_key_id = AKIAA000000000000001
aws_secret_access_key = a-secret
[profile b]
role_arn = arn:aws:iam::111111111111:role/b
source_profile = a
`,
			profile: "a",
			wantErr: []string{"loops: a -> b -> a"},
		},
		{
			name:    "self reference without keys",
			config:  "[profile s]\nrole_arn = arn:aws:iam::111111111111:role/s\nsource_profile = s\n",
			profile: "s",
			wantErr: []string{`profile "s"`, "names the profile itself"},
		},
		{
			name:    "missing source",
			config:  "[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\nsource_profile = nope\n",
			profile: "dev",
			wantErr: []string{`profile "dev"`, `source_profile "nope" does not exist`, "config line 1"},
		},
		{
			name: "both source_profile and credential_source",
			config: `[profile dev]
role_arn = arn:aws:iam::111111111111:role/dev
source_profile = base
credential_source = Environment
`,
			creds: credentials, profile: "dev",
			wantErr: []string{`profile "dev"`, "both source_profile and credential_source", "keep only one"},
		},
		{
			name:    "neither",
			config:  "[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\n",
			profile: "dev",
			wantErr: []string{`profile "dev"`, "neither source_profile nor credential_source"},
		},
		{
			name:    "bad credential_source",
			config:  "[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\ncredential_source = environment\n",
			profile: "dev",
			wantErr: []string{`credential_source "environment" is not valid`, "did you mean Environment?"},
		},
		{
			name:    "unknown credential_source",
			config:  "[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\ncredential_source = Laptop\n",
			profile: "dev",
			wantErr: []string{"use Environment, Ec2InstanceMetadata or EcsContainer"},
		},
		{
			name:    "source profile without credentials",
			config:  "[profile bare]\nregion = us-east-1\n[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\nsource_profile = bare\n",
			profile: "dev",
			wantErr: []string{`source_profile "bare"`, "has no credentials"},
		},
		{
			name:    "source profile with half a key pair",
			config:  "[profile half]\naws_access_key_id = AKIAHALF000000000001\n[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\nsource_profile = half\n",
			profile: "dev",
			wantErr: []string{`profile "half"`, "no aws_secret_access_key"},
		},
		{
			name:    "source_profile without role_arn",
			config:  "[profile odd]\nsource_profile = base\n",
			creds:   credentials,
			profile: "odd",
			wantErr: []string{`profile "odd"`, "source_profile but no role_arn"},
		},
		{
			name:    "empty role_arn",
			config:  "[profile dev]\nrole_arn =\nsource_profile = base\n",
			creds:   credentials,
			profile: "dev",
			wantErr: []string{"role_arn is empty"},
		},
		{
			name:    "bad duration",
			config:  "[profile dev]\nrole_arn = arn:aws:iam::111111111111:role/dev\nsource_profile = base\nduration_seconds = 1h\n",
			creds:   credentials,
			profile: "dev",
			wantErr: []string{"duration_seconds must be a whole number", "config line 4"},
		},
		{
			name:    "missing profile suggests close names",
			config:  "[profile production]\nregion = x\n",
			profile: "prodution",
			wantErr: []string{`profile "prodution" not found`, `did you mean "production"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, writeFiles(t, tt.config, tt.creds))
			ch, err := c.Chain(tt.profile)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("Chain(%q) = %+v, want an error", tt.profile, summarize(ch))
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans several lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Chain(%q): %v", tt.profile, err)
			}
			if got := summarize(ch); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Chain(%q) = %+v, want %+v", tt.profile, got, tt.want)
			}
		})
	}
}

func TestChainCarriesRoleSettings(t *testing.T) {
	c := mustLoad(t, writeFiles(t, `[profile base]
region = eu-west-1
services = local
[services local]
sts =
  endpoint_url = http://127.0.0.1:4566
[profile dev]
role_arn = arn:aws:iam::111111111111:role/dev
source_profile = base
mfa_serial = arn:aws:iam::000000000000:mfa/me
external_id = ext-42
role_session_name = me@example.com
duration_seconds = 7200
region = us-west-2
endpoint_url = https://sts.example.com
`, "[base]\naws_access_key_id = AKIABASE0000000000001\naws_secret_access_key = s\naws_session_token = tok\n"))
	ch, err := c.Chain("dev")
	if err != nil {
		t.Fatal(err)
	}
	dev := ch.Roles[0]
	got := []any{dev.RoleARN, dev.MFASerial, dev.ExternalID, dev.RoleSessionName, dev.DurationSeconds, dev.Region, dev.STSEndpointURL}
	want := []any{"arn:aws:iam::111111111111:role/dev", "arn:aws:iam::000000000000:mfa/me", "ext-42", "me@example.com", 7200, "us-west-2", "https://sts.example.com"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("role settings = %v, want %v", got, want)
	}
	if ch.Source.StaticKeys.SessionToken != "tok" {
		t.Error("source session token not carried")
	}
	base, err := c.Profile("base")
	if err != nil {
		t.Fatal(err)
	}
	if base.STSEndpointURL != "http://127.0.0.1:4566" || base.Region != "eu-west-1" {
		t.Errorf("base endpoint, region = %q, %q; want the services section's sts endpoint_url", base.STSEndpointURL, base.Region)
	}
}

func TestChainMalformedFile(t *testing.T) {
	f := writeFiles(t, "[profile ok]\nregion = x\n\n[profile dev]\naws_secret_access_key wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n", "")
	_, err := Load(f)
	if err == nil {
		t.Fatal("Load accepted a line without a delimiter")
	}
	for _, want := range []string{f.Config, "line 5", "key = value"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "wJalr") {
		t.Errorf("error quotes the malformed line: %q", err)
	}
}
