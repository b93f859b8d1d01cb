package assume

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/cache"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/ststest"
)

// resolveIn resolves req against a home holding config and credentials and
// an environment of env; no STS call is made.
func resolveIn(t *testing.T, config, credentials string, env map[string]string, req Request) (Plan, error) {
	t.Helper()
	home := t.TempDir()
	aws := filepath.Join(home, ".aws")
	if err := os.MkdirAll(aws, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "token"), []byte("a.b.c"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"config": config, "credentials": credentials} {
		if content != "" {
			if err := os.WriteFile(filepath.Join(aws, name), []byte(strings.ReplaceAll(content, "HOME", home)), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	vars := map[string]string{"USER": "tester", "AWS_EC2_METADATA_DISABLED": "true"}
	for k, v := range env {
		vars[k] = strings.ReplaceAll(v, "HOME", home)
	}
	if req.Timeout == 0 {
		req.Timeout = time.Minute
	}
	return Resolve(context.Background(), req, Env{Getenv: func(k string) string { return vars[k] }, HomeDir: home, Stdin: strings.NewReader("")})
}

func hopSummary(p Plan) []string {
	var out []string
	for _, h := range p.Hops {
		s := h.Kind + " " + h.RoleARN
		if h.Duration != 0 {
			s += " " + h.Duration.String()
		}
		out = append(out, s)
	}
	return out
}

var (
	demo    = ststest.DemoRoleARN("demo")
	chained = ststest.DemoRoleARN("chained")
)

const roleProfiles = `[profile deploy]
role_arn = arn:aws:iam::123456789012:role/demo
source_profile = alice
region = eu-west-1
[profile base]
region = eu-central-1
[profile proc]
credential_process = /bin/echo creds
[profile other-proc]
credential_process = /bin/echo other
`

func TestResolve(t *testing.T) {
	keys := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAENV0000000000001", "AWS_SECRET_ACCESS_KEY": "s"}
	irsa := map[string]string{"AWS_ROLE_ARN": demo, "AWS_WEB_IDENTITY_TOKEN_FILE": "HOME/token"}
	tests := []struct {
		name    string
		env     map[string]string
		req     Request
		source  awsconfig.SourceKind
		hops    []string
		region  string // "" skips; "default:X" means X and not known
		wantErr string // substring; the type is checked by errType
		errType any
	}{
		{name: "role profile alone uses its own source", req: Request{Roles: []string{"deploy"}},
			source: awsconfig.SourceStatic, hops: []string{"assume-role " + demo}, region: "eu-west-1"},
		{name: "ARN with keys in the environment", env: keys, req: Request{Roles: []string{chained}},
			source: awsconfig.SourceEnvironment, hops: []string{"assume-role " + chained}, region: "default:us-east-1"},
		{name: "AWS_PROFILE names the base like --profile", env: map[string]string{"AWS_PROFILE": "deploy"}, req: Request{Roles: []string{chained}},
			source: awsconfig.SourceStatic, hops: []string{"assume-role " + demo, "assume-role " + chained}},
		{name: "AWS_DEFAULT_PROFILE too", env: map[string]string{"AWS_DEFAULT_PROFILE": "deploy"}, req: Request{Roles: []string{chained}},
			source: awsconfig.SourceStatic, hops: []string{"assume-role " + demo, "assume-role " + chained}},
		{name: "keys in the environment win over AWS_PROFILE", env: merge(keys, map[string]string{"AWS_PROFILE": "deploy"}), req: Request{Roles: []string{chained}},
			source: awsconfig.SourceEnvironment, hops: []string{"assume-role " + chained}},
		{name: "--profile wins over keys in the environment", env: keys, req: Request{Profile: "deploy", Roles: []string{chained}},
			source: awsconfig.SourceStatic, hops: []string{"assume-role " + demo, "assume-role " + chained}},
		{name: "no role: the named profile's role", env: map[string]string{"AWS_PROFILE": "deploy"},
			source: awsconfig.SourceStatic, hops: []string{"assume-role " + demo}},
		{name: "no role and a profile without one", req: Request{Profile: "alice"}, wantErr: "no role_arn", errType: &ConfigError{}},
		{name: "source only", req: Request{Profile: "alice", SourceOnly: true}, source: awsconfig.SourceStatic},
		{name: "no role at all", wantErr: "no role given", errType: &UsageError{}},
		{name: "EKS: naming AWS_ROLE_ARN is one hop", env: irsa, req: Request{Roles: []string{demo}},
			source: awsconfig.SourceWebIdentity, hops: []string{"web-identity " + demo}},
		{name: "EKS: another role is chained", env: irsa, req: Request{Roles: []string{chained}},
			source: awsconfig.SourceWebIdentity, hops: []string{"web-identity " + demo, "assume-role " + chained}},
		{name: "a profile of the base's own role is one hop", req: Request{Profile: "deploy", Roles: []string{demo}},
			source: awsconfig.SourceStatic, hops: []string{"assume-role " + demo}},
		{name: "session flags go to the role named last", req: Request{Roles: []string{"deploy", chained}, Duration: "2h"},
			hops: []string{"assume-role " + demo, "assume-role " + chained + " 2h0m0s"}},
		{name: "credential_process source", req: Request{Profile: "proc", Roles: []string{demo}}, source: awsconfig.SourceProcess},
		{name: "the [default] profile", req: Request{Roles: []string{demo}}, source: awsconfig.SourceStatic},
		{name: "--region wins", env: map[string]string{"AWS_REGION": "us-west-2"}, req: Request{Roles: []string{"deploy"}, Region: "ap-south-1"}, region: "ap-south-1"},
		{name: "AWS_REGION wins over the profile", env: map[string]string{"AWS_REGION": "us-west-2"}, req: Request{Roles: []string{"deploy"}}, region: "us-west-2"},
		{name: "AWS_DEFAULT_REGION wins over the profile", env: map[string]string{"AWS_DEFAULT_REGION": "us-west-1"}, req: Request{Roles: []string{"deploy"}}, region: "us-west-1"},
		{name: "the partition's region when none is named", env: keys, req: Request{Roles: []string{"arn:aws-cn:iam::123456789012:role/x"}}, region: "default:cn-north-1"},
		{name: "invalid --region", env: keys, req: Request{Roles: []string{demo}, Region: "us east"}, wantErr: `--region "us east"`, errType: &UsageError{}},
		{name: "invalid AWS_REGION", env: merge(keys, map[string]string{"AWS_REGION": "us east"}), req: Request{Roles: []string{demo}}, wantErr: "AWS_REGION", errType: &UsageError{}},
		{name: "invalid endpoint", env: keys, req: Request{Roles: []string{demo}, EndpointURL: "not a url"}, wantErr: "not an http(s) URL", errType: &UsageError{}},
		{name: "--timeout 0", env: keys, req: Request{Roles: []string{demo}, Timeout: -1}, wantErr: "--timeout", errType: &UsageError{}},
		{name: "tags on a web identity hop", env: irsa, req: Request{Roles: []string{demo}, Tags: []string{"a=b"}}, wantErr: "AssumeRoleWithWebIdentity takes no", errType: &UsageError{}},
		{name: "unknown profile suggests", req: Request{Profile: "deplyo", Roles: []string{demo}}, wantErr: `did you mean "deploy"`, errType: &ConfigError{}},
	}
	credentials := demoCredentials + "[default]\naws_access_key_id = AKIADEFAULT000000001\naws_secret_access_key = d\n"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := resolveIn(t, roleProfiles, credentials, merge(tt.env, map[string]string{}), tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				switch tt.errType.(type) {
				case *UsageError:
					var ue *UsageError
					if !errors.As(err, &ue) {
						t.Errorf("error is %T, want a usage error", err)
					}
				case *ConfigError:
					var ce *ConfigError
					if !errors.As(err, &ce) {
						t.Errorf("error is %T, want a config error", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.source != "" && p.Source.Kind != tt.source {
				t.Errorf("source %s, want %s", p.Source.Kind, tt.source)
			}
			if tt.hops != nil && strings.Join(hopSummary(p), " | ") != strings.Join(tt.hops, " | ") {
				t.Errorf("hops\n got  %v\n want %v", hopSummary(p), tt.hops)
			}
			if want, ok := strings.CutPrefix(tt.region, "default:"); ok {
				if p.Region != want || p.RegionKnown {
					t.Errorf("region %s (known %v), want the default %s", p.Region, p.RegionKnown, want)
				}
			} else if tt.region != "" && (p.Region != tt.region || !p.RegionKnown) {
				t.Errorf("region %s (known %v), want %s", p.Region, p.RegionKnown, tt.region)
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestResolveRegionInProfileNamesFileAndLine: a comment after a value is
// part of it in AWS config files; the error says where.
func TestResolveRegionInProfileNamesFileAndLine(t *testing.T) {
	config := "[profile deploy]\nrole_arn = " + demo + "\nsource_profile = alice\nregion = us-east-1 # eu later\n"
	_, err := resolveIn(t, config, demoCredentials, nil, Request{Roles: []string{"deploy"}})
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "config line 4") || !strings.Contains(err.Error(), `"us-east-1 # eu later"`) {
		t.Fatalf("error %v, want a config error naming config line 4", err)
	}
}

// TestCacheKeyNamesTheBaseIdentity: a source the cache cannot name by its
// own key ID (SDK default chain, credential_process) must still never
// share another source's entries.
func TestCacheKeyNamesTheBaseIdentity(t *testing.T) {
	lastKey := func(t *testing.T, config, credentials string, env map[string]string, req Request) string {
		t.Helper()
		p, err := resolveIn(t, config, credentials, env, req)
		if err != nil {
			t.Fatal(err)
		}
		keys := p.Keys()
		return keys[len(keys)-1]
	}
	req := Request{Roles: []string{demo}}
	userA := "[default]\naws_access_key_id = AKIAUSERA00000000001\naws_secret_access_key = a\n"
	userB := "[default]\naws_access_key_id = AKIAUSERB00000000001\naws_secret_access_key = b\n"
	if lastKey(t, "", userA, nil, req) == lastKey(t, "", userB, nil, req) {
		t.Error("[default] keys of two users share a cache key")
	}
	if a, b := lastKey(t, "", userA, nil, req), lastKey(t, "", userA, nil, req); a != b {
		t.Error("the same [default] keys in two homes give two cache keys")
	}
	if lastKey(t, roleProfiles, "", nil, Request{Profile: "proc", Roles: []string{demo}}) ==
		lastKey(t, roleProfiles, "", nil, Request{Profile: "other-proc", Roles: []string{demo}}) {
		t.Error("two credential_process sources share a cache key")
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": "AKIAUSERA00000000001", "AWS_SECRET_ACCESS_KEY": "a"}
	if lastKey(t, "", userA, nil, req) != lastKey(t, "", "", env, req) {
		t.Error("the same key ID from the environment and from [default] give two cache keys")
	}
}

// TestEveryHopFieldChangesTheKey: every field of a hop that changes what
// STS returns changes the hop's cache key, at the plan level (not only in
// pkg/cache's encoding). Label and TokenCode do not: a name for messages and
// a one-time code name no different credentials.
func TestEveryHopFieldChangesTheKey(t *testing.T) {
	keyOf := func(p Plan) string { return p.Keys()[0] }
	plan := func(h Hop) Plan {
		return Plan{
			Source: staticSource(awsconfig.SourceEnvironment, "", &creds.Credentials{AccessKeyID: "AKIAKEY0000000000001"}),
			Hops:   []Hop{h}, Region: "us-east-1",
		}
	}
	base := Hop{Kind: cache.KindAssumeRole, RoleARN: demo, SessionName: "s"}
	ref := keyOf(plan(base))
	hv := reflect.ValueOf(&base).Elem()
	for i := 0; i < hv.NumField(); i++ {
		name := hv.Type().Field(i).Name
		h := base
		f := reflect.ValueOf(&h).Elem().Field(i)
		switch f.Interface().(type) {
		case string:
			f.SetString(f.String() + "x")
		case time.Duration:
			f.SetInt(int64(time.Hour))
		case []string:
			f.Set(reflect.ValueOf([]string{"x"}))
		case []cache.Tag:
			f.Set(reflect.ValueOf([]cache.Tag{{Key: "k", Value: "v"}}))
		default:
			t.Fatalf("field %s of type %s: teach this test its zero and non-zero values", name, f.Type())
		}
		changed := keyOf(plan(h)) != ref
		if want := name != "Label" && name != "TokenCode"; changed != want {
			t.Errorf("changing %s changes the key: %v, want %v", name, changed, want)
		}
	}
	for name, mutate := range map[string]func(*Plan){
		"region":      func(p *Plan) { p.Region = "eu-west-1" },
		"endpoint":    func(p *Plan) { p.Endpoint = "https://sts.example" },
		"source keys": func(p *Plan) { p.Source.StaticKeys = &creds.Credentials{AccessKeyID: "AKIAOTHER00000000001"} },
	} {
		p := plan(base)
		mutate(&p)
		if keyOf(p) == ref {
			t.Errorf("changing the %s leaves the key", name)
		}
	}
}

// TestValidRegion: a region has the shape of its partition's region names
// (the SDK's regionRegex), which also keeps it a host label.
func TestValidRegion(t *testing.T) {
	valid := []string{"us-east-1", "eu-wset-1", "ap-southeast-9", "us-gov-west-1", "cn-north-1",
		"us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1", "il-central-1"}
	invalid := []string{"", "a", "us-east", "us-east-1a", "US-EAST-1", "us east", "us_east", "-us", "us-",
		"euwest1", "xx-east-1", "us-east-1 # eu later", "us.east-1", "é", "us-east-" + strings.Repeat("1", 60)}
	for _, s := range valid {
		if !ValidRegion(s) {
			t.Errorf("ValidRegion(%q) = false, want true", s)
		}
	}
	for _, s := range invalid {
		if ValidRegion(s) {
			t.Errorf("ValidRegion(%q) = true, want false", s)
		}
	}
}

// TestRegionEndpointAndDurationFromProfiles: a chain takes its region and
// STS endpoint from the most specific profile that has one, down to the
// source profile at the far end; duration_seconds is seconds.
func TestRegionEndpointAndDurationFromProfiles(t *testing.T) {
	config := "[profile base]\naws_access_key_id = AKIABASE000000000001\naws_secret_access_key = s\n" +
		"region = ap-southeast-2\nendpoint_url = https://sts.base.example\n" +
		"[profile middle]\nrole_arn = " + demo + "\nsource_profile = base\nduration_seconds = 7200\n" +
		"[profile top]\nrole_arn = " + chained + "\nsource_profile = middle\n"
	p, err := resolveIn(t, config, "", nil, Request{Roles: []string{"top"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Region != "ap-southeast-2" || !p.RegionKnown || p.Endpoint != "https://sts.base.example" {
		t.Errorf("region %q (known %v), endpoint %q; want the source profile's", p.Region, p.RegionKnown, p.Endpoint)
	}
	if got, want := strings.Join(hopSummary(p), " | "), "assume-role "+demo+" 2h0m0s | assume-role "+chained; got != want {
		t.Errorf("hops %s, want %s", got, want)
	}
}

// TestResolveErrorsFromProfiles: what comes from a config file is a config
// error (exit 3) that names the profile or says how to fix the file.
func TestResolveErrorsFromProfiles(t *testing.T) {
	tests := []struct {
		name   string
		config string
		req    Request
		want   string
	}{
		{"a ROLE profile without role_arn", roleProfiles, Request{Roles: []string{"alice"}}, `profile "alice" has no role_arn`},
		{"a bad setting names its profile", "[profile bad]\nrole_arn = " + demo + "\nsource_profile = alice\nrole_session_name = a b\n",
			Request{Roles: []string{"bad"}}, "profile bad: "},
		{"an unreadable config file says how to fix it", "[profile broken\n", Request{Roles: []string{demo}}, "AWS_CONFIG_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolveIn(t, tt.config, demoCredentials, nil, tt.req)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v (%T), want a config error", err, err)
			}
			if !strings.Contains(err.Error()+" "+ce.Hint, tt.want) {
				t.Errorf("error %q (hint %q) does not say %q", err, ce.Hint, tt.want)
			}
		})
	}
}

// TestPlanKeyIsTheHopsCacheKey: a hop's cache key is cache.KeyInput's, with
// the duration in seconds as the entry records it, so the same plan finds
// the entries every rolecall version wrote.
func TestPlanKeyIsTheHopsCacheKey(t *testing.T) {
	p := Plan{
		Source: staticSource(awsconfig.SourceEnvironment, "", &creds.Credentials{AccessKeyID: "AKIAKEY0000000000001"}),
		Hops:   []Hop{{Kind: cache.KindAssumeRole, RoleARN: demo, SessionName: "s", Duration: 2 * time.Hour}},
		Region: "us-east-1",
	}
	want := cache.KeyInput{Kind: cache.KindAssumeRole, Source: "keys:AKIAKEY0000000000001", RoleARN: demo,
		SessionName: "s", DurationSeconds: 7200, Region: "us-east-1"}.Key()
	if got := p.Keys()[0]; got != want {
		t.Errorf("key %s, want %s", got, want)
	}
}
