package console

import (
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// partition is where a partition's console and sign-in live.
type partition struct {
	// signinHost serves the federation endpoint for the partition as a whole.
	signinHost string
	// consoleHost is the console's host without a region.
	consoleHost string
	// regional says that the partition has documented regional hosts of
	// both: REGION.signin… and REGION.console….
	regional bool
	// globalRegion is the region whose sign-in endpoint is signinHost itself.
	globalRegion string
}

// The partitions rolecall assumes roles in (see assume.ValidateRoleARN).
//
//   - aws: "AWS Sign-In endpoints and quotas"
//     (https://docs.aws.amazon.com/general/latest/gr/signin-service.html)
//     lists signin.aws.amazon.com for us-east-1 and REGION.signin.aws.amazon.com
//     for every other region; "AWS Management Console endpoints and quotas"
//     (https://docs.aws.amazon.com/general/latest/gr/mgmt-console.html) gives
//     https://REGION.console.aws.amazon.com for every region, us-east-1
//     included.
//   - aws-cn and aws-us-gov: one sign-in and one console host each, as
//     aws-vault (cli/login.go) and granted (pkg/console/partition.go) use
//     them; no regional hosts are documented for these partitions, so the
//     region goes only in the destination's ?region=.
var partitions = map[string]partition{
	"aws":        {signinHost: "signin.aws.amazon.com", consoleHost: "console.aws.amazon.com", regional: true, globalRegion: "us-east-1"},
	"aws-cn":     {signinHost: "signin.amazonaws.cn", consoleHost: "console.amazonaws.cn"},
	"aws-us-gov": {signinHost: "signin.amazonaws-us-gov.com", consoleHost: "console.amazonaws-us-gov.com"},
}

// PartitionOf names the partition of the first ARN that parses, else the
// one a region belongs to (cn-…, us-gov-…), else "aws".
func PartitionOf(region string, arns ...string) string {
	for _, a := range arns {
		if parsed, err := arn.Parse(a); err == nil {
			if _, ok := partitions[parsed.Partition]; ok {
				return parsed.Partition
			}
		}
	}
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func partitionNamed(name string) partition {
	if p, ok := partitions[name]; ok {
		return p
	}
	return partitions["aws"]
}

// FederationEndpoint is the federation endpoint of a partition, regional
// where the partition has regional sign-in endpoints and a region is
// known (region is "" when none is).
func FederationEndpoint(partitionName, region string) string {
	p := partitionNamed(partitionName)
	host := p.signinHost
	if p.regional && region != "" && region != p.globalRegion {
		host = region + "." + host
	}
	return "https://" + host + "/federation"
}

// DefaultService is the console page a link lands on without --service:
// Console Home.
const DefaultService = "console"

// Destination is the console page for service (a path such as s3, ec2 or
// cloudformation; "" for Console Home) in region ("" to let the console
// pick the user's last region): https://REGION.console.aws.amazon.com/SERVICE/home?region=REGION
// in the aws partition, the partition's console host elsewhere.
func Destination(partitionName, region, service string) string {
	p := partitionNamed(partitionName)
	if service == "" {
		service = DefaultService
	}
	host := p.consoleHost
	if p.regional && region != "" {
		host = region + "." + host
	}
	u := url.URL{Scheme: "https", Host: host, Path: "/" + strings.Trim(service, "/") + "/home"}
	if region != "" {
		u.RawQuery = url.Values{"region": {region}}.Encode()
	}
	return u.String()
}

// validService reports whether s can be a console path: lower-case letters,
// digits, '-' and inner '/' (s3, ec2, codesuite/codecommit).
func validService(s string) bool {
	if s == "" || len(s) > 100 || s[0] == '/' || s[len(s)-1] == '/' || strings.Contains(s, "//") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '-' && c != '/' && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
