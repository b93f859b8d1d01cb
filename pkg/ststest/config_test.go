package ststest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rolecall/rolecall/pkg/ststest"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ststest.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadConfigFileRoundTrip(t *testing.T) {
	demo := ststest.DemoConfig()
	demo.Faults = []ststest.Fault{{Action: "AssumeRole", Kind: ststest.FaultLatency, Latency: 1500 * time.Millisecond, Count: 1}}
	data, err := json.MarshalIndent(demo, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ststest.LoadConfigFile(writeConfig(t, string(data)))
	if err != nil {
		t.Fatalf("LoadConfigFile: %v", err)
	}
	if !reflect.DeepEqual(got, demo) {
		t.Errorf("round trip changed the configuration:\n got %+v\nwant %+v", got, demo)
	}
	if !strings.Contains(string(data), `"latency": "1.5s"`) {
		t.Errorf("latency not written as a duration string:\n%s", data)
	}
}

func TestLoadConfigFileRejects(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *ststest.Config)
		raw    string
		errors string
	}{
		{name: "unknown field", raw: `{"acounts": []}`, errors: `unknown field "acounts"`},
		{name: "not JSON", raw: `accounts: [123]`, errors: "parse ststest config"},
		{name: "bad account ID", edit: func(c *ststest.Config) { c.Accounts[0].ID = "1234" }, errors: "not a 12-digit account ID"},
		{name: "user of an unlisted account", edit: func(c *ststest.Config) {
			c.Users = append(c.Users, ststest.User{ARN: "arn:aws:iam::999999999999:user/bob"})
		}, errors: "account 999999999999 is not in accounts"},
		{name: "access key listed twice", edit: func(c *ststest.Config) {
			c.Users = append(c.Users, ststest.User{ARN: "arn:aws:iam::123456789012:user/bob", AccessKeys: c.Users[0].AccessKeys})
		}, errors: "listed twice"},
		{name: "MFA device of nobody", edit: func(c *ststest.Config) { c.MFADevices[0].User = "arn:aws:iam::123456789012:user/bob" }, errors: "is not in users"},
		{name: "MFA secret not base32", edit: func(c *ststest.Config) { c.MFADevices[0].Secret = "not base32!" }, errors: "mfa device"},
		{name: "role ARN of a user", edit: func(c *ststest.Config) { c.Roles[0].ARN = "arn:aws:iam::123456789012:user/x" }, errors: "want an arn:aws:iam::ACCOUNT:role/NAME ARN"},
		{name: "max session too long", edit: func(c *ststest.Config) { c.Roles[0].MaxSessionDuration = 50000 }, errors: "outside IAM's 3600 to 43200"},
		{name: "web identity from an unknown provider", edit: func(c *ststest.Config) { c.OIDCProviders = nil; c.GitHub = nil }, errors: "is not in oidc_providers"},
		{name: "bad fault", raw: `{"faults": [{"kind": "explode"}]}`, errors: `fault kind "explode"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := tt.raw
			if tt.edit != nil {
				cfg := ststest.DemoConfig()
				tt.edit(&cfg)
				data, err := json.Marshal(cfg)
				if err != nil {
					t.Fatal(err)
				}
				raw = string(data)
			}
			_, err := ststest.LoadConfigFile(writeConfig(t, raw))
			if err == nil || !strings.Contains(err.Error(), tt.errors) {
				t.Errorf("got %v, want an error containing %q", err, tt.errors)
			}
		})
	}
}

// TestConfigAccountRoot checks a trust naming an account: every principal of
// that account may assume the role.
func TestConfigAccountRoot(t *testing.T) {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles, ststest.Role{
		ARN:   ststest.DemoRoleARN("open"),
		Trust: ststest.Trust{Principals: []string{"arn:aws:iam::123456789012:root"}},
	})
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)
	demo := assumeRoleNamed(t, alice(t, s), "demo", "a1")
	assumeRoleNamed(t, alice(t, s), "open", "a2")
	assumeRoleNamed(t, with(t, s, demo.Credentials), "open", "a3")
}

// TestDocsShowTheDemoConfig keeps docs/ststest.md honest: its demo
// configuration block must load and equal DemoConfig.
func TestDocsShowTheDemoConfig(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "ststest.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## The demo configuration")
	_, block, ok2 := strings.Cut(section, "```json\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("docs/ststest.md has no JSON block under \"## The demo configuration\"")
	}
	got, err := ststest.LoadConfigFile(writeConfig(t, block))
	if err != nil {
		t.Fatalf("the documented demo configuration does not load: %v", err)
	}
	if !reflect.DeepEqual(got, ststest.DemoConfig()) {
		t.Errorf("the documented demo configuration differs from DemoConfig:\n got %+v\nwant %+v", got, ststest.DemoConfig())
	}
}
