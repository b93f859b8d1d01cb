package assume

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/suggest"
)

// Region names as the AWS SDKs know them. Each partition names its regions
// to a pattern, and this build knows the regions that existed when it was
// made. Both come from aws-sdk-go-v2's partition metadata
// (internal/endpoints/awsrulesfn/partitions.json, which no package outside
// the SDK may import); region_test.go checks this copy against the SDK's
// file in the module cache, so an SDK update that adds a region fails the
// test until it is copied here too.
//
// A name that fits no partition's pattern ("us-east", "eu-west-1a") is a
// typo, refused before any call; one that fits but is not known
// ("eu-wset-1", or a region AWS opened after this build) is used as given,
// with a warning naming the nearest known region.
type partitionRegions struct {
	id      string
	pattern string // compiled on first use: see patterns
	regions []string
}

// patterns are partitionsByPattern's patterns, compiled on first use, not
// at start-up: every command (a cache hit above all) would pay for them,
// and a known region is recognised without them.
var patterns = sync.OnceValue(func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(partitionsByPattern))
	for i, p := range partitionsByPattern {
		out[i] = regexp.MustCompile(p.pattern)
	}
	return out
})

var partitionsByPattern = []partitionRegions{
	{"aws", `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`, []string{
		"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
		"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
		"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",
		"ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
		"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
		"me-west-1", "mx-central-1", "sa-east-1", "sa-west-1", "us-east-1", "us-east-2",
		"us-west-1", "us-west-2",
	}},
	{"aws-cn", `^cn\-\w+\-\d+$`, []string{"cn-north-1", "cn-northwest-1"}},
	{"aws-eusc", `^eusc\-(de)\-\w+\-\d+$`, []string{"eusc-de-east-1"}},
	{"aws-iso", `^us\-iso\-\w+\-\d+$`, []string{"us-iso-east-1", "us-iso-west-1"}},
	{"aws-iso-b", `^us\-isob\-\w+\-\d+$`, []string{"us-isob-east-1", "us-isob-west-1"}},
	{"aws-iso-e", `^eu\-isoe\-\w+\-\d+$`, []string{"eu-isoe-west-1"}},
	{"aws-iso-f", `^us\-isof\-\w+\-\d+$`, []string{"us-isof-east-1", "us-isof-south-1"}},
	{"aws-us-gov", `^us\-gov\-\w+\-\d+$`, []string{"us-gov-east-1", "us-gov-west-1"}},
}

// ValidRegion reports whether s has the shape of a region name in some
// partition (the SDK's regionRegex): "us-east-1" and "eu-wset-1" do,
// "us-east", "US-EAST-1" and "us-east-1 # eu later" do not. Every name of
// that shape is a host label, so none reaches a hostname unchecked.
func ValidRegion(s string) bool {
	if len(s) > 63 || !isASCII(s) {
		return false
	}
	if KnownRegion(s) {
		return true
	}
	for _, re := range patterns() {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

// KnownRegion reports whether s is a region this build of rolecall knows.
func KnownRegion(s string) bool {
	for _, p := range partitionsByPattern {
		for _, r := range p.regions {
			if r == s {
				return true
			}
		}
	}
	return false
}

// NearestRegion is the known region fewest edits away from s (letters
// compared without case), and that number of edits.
func NearestRegion(s string) (string, int) {
	s = strings.ToLower(s)
	best, bestDist := "", -1
	for _, p := range partitionsByPattern {
		for _, r := range p.regions {
			if d := suggest.EditDistance(s, r); bestDist < 0 || d < bestDist {
				best, bestDist = r, d
			}
		}
	}
	return best, bestDist
}

// regionSuggestion is " (did you mean R?)" when a known region R is a few
// edits from s, else "".
func regionSuggestion(s string) string {
	if len(s) > 63 {
		return ""
	}
	r, d := NearestRegion(s)
	if d > 3 && d > len(r)/3 {
		return ""
	}
	return ": did you mean " + r + "?"
}

// checkRegion refuses a region name that fits no partition's pattern (a
// flag or variable as a usage error, a profile's region as a config error
// naming its line), and warns of one that fits but is not known.
func checkRegion(region, from string, prof *awsconfig.Profile, env Env) error {
	if region == "" {
		return nil
	}
	if !ValidRegion(region) {
		if prof != nil {
			return configErrorf("fix region in the profile: a region name such as us-east-1 (a comment after a value is part of it)",
				"profile %q (%s): region %q is not a region name%s", prof.Name, prof.KeyWhere("region"), region, regionSuggestion(region))
		}
		return usageErrorf("pass a region name such as us-east-1 (aws ec2 describe-regions lists them)",
			"%s %q is not a region name%s", from, region, regionSuggestion(region))
	}
	if !KnownRegion(region) {
		nearest, _ := NearestRegion(region)
		if prof != nil {
			from = "profile " + prof.Name + " region"
		}
		env.warn("%s %s is not a region this build of rolecall knows (the nearest is %s): using it as given", from, region, nearest)
	}
	return nil
}

// noRegionWarning is what a command whose credentials go on to another
// program says when nothing names a region: the program gets none, and
// rolecall does not guess one for it.
func noRegionWarning(program string, profiles []awsconfig.Profile) string {
	where := "add region = … to the profile"
	if n := len(profiles); n > 0 && profiles[n-1].Name != "" {
		where = fmt.Sprintf("add region = … to [%s]", sectionName(profiles[n-1].Name))
	}
	return fmt.Sprintf("no region: neither --region, AWS_REGION, AWS_DEFAULT_REGION nor a profile names one, so %s gets none; pass --region, export AWS_REGION, or %s", program, where)
}

func sectionName(profile string) string {
	if profile == "default" {
		return "default"
	}
	return "profile " + profile
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// defaultProfileHasRegion reports whether the [default] profile names a
// region, which a program started without AWS_PROFILE finds by itself. A
// config file that cannot be read names none (the error, if it matters,
// is reported where the file is needed).
func (r *resolver) defaultProfileHasRegion() bool {
	cfg, err := r.config()
	if err != nil || cfg == nil || !cfg.HasProfile("default") {
		return false
	}
	prof, err := cfg.Profile("default")
	return err == nil && prof.Region != ""
}
