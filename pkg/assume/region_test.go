package assume

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPartitionsMatchSDK: the patterns and regions rolecall knows are the
// SDK's, from the partitions.json of the aws-sdk-go-v2 this module builds
// with. An SDK update that adds a region fails here until region.go has it.
func TestPartitionsMatchSDK(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Fatalf("go list the SDK's module directory: %v", err)
	}
	path := filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the SDK's partition metadata: %v", err)
	}
	var doc struct {
		Partitions []struct {
			ID          string                     `json:"id"`
			RegionRegex string                     `json:"regionRegex"`
			Regions     map[string]json.RawMessage `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Partitions) != len(partitionsByPattern) {
		t.Errorf("the SDK has %d partitions, region.go %d", len(doc.Partitions), len(partitionsByPattern))
	}
	for _, sdk := range doc.Partitions {
		i := slices.IndexFunc(partitionsByPattern, func(p partitionRegions) bool { return p.id == sdk.ID })
		if i < 0 {
			t.Errorf("partition %s is missing from region.go", sdk.ID)
			continue
		}
		ours := partitionsByPattern[i]
		if ours.pattern != sdk.RegionRegex {
			t.Errorf("partition %s: pattern %q, the SDK's is %q", sdk.ID, ours.pattern, sdk.RegionRegex)
		}
		var regions []string
		for r := range sdk.Regions {
			if !strings.HasSuffix(r, "-global") {
				regions = append(regions, r)
			}
		}
		slices.Sort(regions)
		if !slices.Equal(regions, ours.regions) {
			t.Errorf("partition %s: regions %v, the SDK's are %v", sdk.ID, ours.regions, regions)
		}
		for _, r := range regions {
			if !patterns()[i].MatchString(r) {
				t.Errorf("the SDK's region %s does not fit its partition's pattern", r)
			}
		}
	}
}

// TestCheckRegion: a typo is refused with the nearest known region; a
// well-shaped unknown name is used with one warning that names it.
func TestCheckRegion(t *testing.T) {
	tests := []struct {
		region, wantErr, wantWarn string
	}{
		{"us-east-1", "", ""},
		{"us-east", `--region "us-east" is not a region name: did you mean us-east-1?`, ""},
		{"eu-west-1a", "did you mean eu-west-1?", ""},
		{"local", `--region "local" is not a region name`, ""},
		{"eu-wset-1", "", "--region eu-wset-1 is not a region this build of rolecall knows (the nearest is eu-west-1): using it as given"},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			var warned []string
			env := Env{Warn: func(msg string) { warned = append(warned, msg) }}
			err := checkRegion(tt.region, "--region", nil, env)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.wantErr == "local" && strings.Contains(err.Error(), "did you mean") {
				t.Errorf("err = %v: suggests a region nothing like it", err)
			}
			if tt.wantWarn == "" && len(warned) > 0 || tt.wantWarn != "" && (len(warned) != 1 || warned[0] != tt.wantWarn) {
				t.Errorf("warnings %q, want %q", warned, tt.wantWarn)
			}
		})
	}
}
