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

// TestRegionEnvironmentOrder: AWS_REGION wins over AWS_DEFAULT_REGION, as
// in the AWS CLI and SDKs, and a bad value is blamed on the variable that
// was used. No other test sets both, so checking AWS_DEFAULT_REGION first
// survived a mutation pass (issue 22).
func TestRegionEnvironmentOrder(t *testing.T) {
	// A profile with a region of its own: the environment must win over it.
	config := "[profile deploy]\nrole_arn = " + ststest.DemoRoleARN("demo") + "\nsource_profile = alice\nregion = eu-west-1\n"
	credentials := "[alice]\naws_access_key_id = " + ststest.DemoAccessKeyID + "\naws_secret_access_key = " + ststest.DemoSecretAccessKey + "\n"
	tests := []struct {
		name    string
		env     map[string]string
		region  string
		wantErr string
	}{
		{name: "AWS_REGION over AWS_DEFAULT_REGION",
			env: map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "ap-south-1"}, region: "us-west-2"},
		{name: "AWS_DEFAULT_REGION when AWS_REGION is empty",
			env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "ap-south-1"}, region: "ap-south-1"},
		{name: "a bad AWS_DEFAULT_REGION is not read when AWS_REGION is set",
			env: map[string]string{"AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "not a region"}, region: "us-west-2"},
		{name: "a bad AWS_REGION is blamed on AWS_REGION",
			env: map[string]string{"AWS_REGION": "not a region", "AWS_DEFAULT_REGION": "ap-south-1"}, wantErr: `AWS_REGION "not a region"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			for name, content := range map[string]string{"config": config, "credentials": credentials} {
				path := filepath.Join(home, ".aws", name)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			vars := map[string]string{"USER": "tester", "AWS_EC2_METADATA_DISABLED": "true"}
			for k, v := range tt.env {
				vars[k] = v
			}
			env := Env{Getenv: func(k string) string { return vars[k] }, HomeDir: home, Stdin: strings.NewReader("")}
			p, err := Resolve(context.Background(), Request{Roles: []string{"deploy"}, Timeout: time.Minute}, env)
			if tt.wantErr != "" {
				var ue *UsageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want a usage error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Region != tt.region || !p.RegionKnown {
				t.Errorf("region %s (known %v), want %s", p.Region, p.RegionKnown, tt.region)
			}
		})
	}
}
