package sso

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// TestTokenFileReadByGoSDK: aws-sdk-go-v2's ssocreds provider gets role
// credentials with the token file rolecall's login wrote, and its token
// provider refreshes it with the refresh token rolecall stored.
func TestTokenFileReadByGoSDK(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	res, err := Login(ctx, LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: w.browser("allow")}}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	path := TokenPath(w.home, res.Session)
	portal := sso.New(sso.Options{Region: ststest.DemoSSORegion, BaseEndpoint: aws.String(w.sts.URL())})
	oidc := ssooidc.New(ssooidc.Options{Region: ststest.DemoSSORegion, BaseEndpoint: aws.String(w.sts.URL())})
	provider := ssocreds.New(portal, ststest.DemoAccount, "ReadOnlyAccess", ststest.DemoSSOStartURL, func(o *ssocreds.Options) {
		o.CachedTokenFilepath = path
		o.SSOTokenProvider = ssocreds.NewSSOTokenProvider(oidc, path)
	})
	c, err := provider.Retrieve(ctx)
	if err != nil {
		t.Fatalf("the Go SDK cannot use rolecall's token file: %v", err)
	}
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") {
		t.Errorf("credentials %s", c.AccessKeyID)
	}
	// The SDK refreshes a token once it has expired (on the wall clock):
	// backdate it, and the refresh token rolecall stored must work.
	tok, err := ReadToken(path)
	if err != nil {
		t.Fatal(err)
	}
	tok.ExpiresAt = time.Now().Add(-time.Minute)
	if err := writeFileAtomic(path, tok.encode()); err != nil {
		t.Fatal(err)
	}
	bearer, err := ssocreds.NewSSOTokenProvider(oidc, path).RetrieveBearerToken(ctx)
	if err != nil {
		t.Fatalf("the Go SDK cannot refresh rolecall's token: %v", err)
	}
	again, err := ReadToken(path)
	if err != nil || again.AccessToken != bearer.Value || again.AccessToken == tok.AccessToken {
		t.Fatalf("after the SDK's refresh rolecall reads %v", err)
	}
}

// awsCLIv2Python is the AWS CLI v2's Python (Debian's awscli, which .ci/run
// installs): its botocore is awscli.botocore.
const awsCLIv2Python = "/usr/bin/python3"

func needAWSCLIv2(t *testing.T) {
	t.Helper()
	err := exec.CommandContext(t.Context(), awsCLIv2Python, "-c", "import sys; sys.path.insert(0, '/usr/lib/python3/dist-packages'); import awscli.botocore.utils").Run()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("needs the AWS CLI v2's botocore (apt-get install awscli): %v", err)
		}
		t.Fatalf("this test needs the AWS CLI v2's botocore (apt-get install awscli): %v", err)
	}
}

func runPython(t *testing.T, script string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), awsCLIv2Python, append([]string{"-c", "import sys; sys.path.insert(0, '/usr/lib/python3/dist-packages')\n" + script}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestCacheFilesLikeAWSCLIv2: the AWS CLI v2's own code names the
// registration file as rolecall does (its SSOTokenFetcher's cache key),
// loads rolecall's token (SSOTokenLoader over its JSONFileCache), and
// writes a token and registration rolecall reads.
func TestCacheFilesLikeAWSCLIv2(t *testing.T) {
	needAWSCLIv2(t)
	sessions := []Session{
		{Name: "corp", StartURL: ststest.DemoSSOStartURL, Region: "us-east-1"},
		{Name: "corp", StartURL: ststest.DemoSSOStartURL, Region: "eu-west-1", Scopes: []string{"sso:account:access", "codewhisperer:completions"}},
		{Profile: "legacy", StartURL: "https://d-1234.awsapps.com/start#/", Region: "us-east-1"},
		{Name: "ünïcode \"quoted\" \\ \t", StartURL: "https://example.com/start?x=<y>&z", Region: "ap-south-1"},
	}
	for _, s := range sessions {
		args, _ := json.Marshal(map[string]any{"start_url": s.StartURL, "region": s.Region, "scopes": s.Scopes, "session": nilIfEmpty(s.Name)})
		key := runPython(t, `
import json
from awscli.botocore.utils import SSOTokenFetcher
a = json.loads(sys.argv[1])
try:
    f = SSOTokenFetcher(a["region"], None)
except TypeError:
    f = SSOTokenFetcher(a["region"], None, None)
print(f._registration_cache_key(a["start_url"], a["session"], a["scopes"]))`, string(args))
		if want := strings.TrimSuffix(filepath.Base(registrationPath("", s)), ".json"); key != want {
			t.Errorf("%+v: the AWS CLI names the registration %s, rolecall %s", s, key, want)
		}
	}

	// rolecall's token, loaded by the AWS CLI.
	w := newWorld(t)
	res, err := Login(context.Background(), LoginRequest{Ref: Ref{Session: "corp"}, LoginOptions: LoginOptions{Browser: w.browser("allow")}}, w.env())
	if err != nil {
		t.Fatal(err)
	}
	got := runPython(t, `
from awscli.botocore.utils import SSOTokenLoader, JSONFileCache
t = SSOTokenLoader(JSONFileCache(sys.argv[1]))(sys.argv[2], session_name="corp")
print(t["accessToken"] == sys.argv[3], t["expiresAt"], t["refreshToken"] != "")`, CacheDir(w.home), ststest.DemoSSOStartURL, res.Token.AccessToken)
	if got != "True "+formatTime(res.Token.ExpiresAt)+" True" {
		t.Errorf("the AWS CLI loaded %q", got)
	}

	// A token and a registration the AWS CLI wrote (datetimes through its
	// own JSON encoder), read by rolecall.
	dir := CacheDir(t.TempDir())
	runPython(t, `
import datetime
from dateutil.tz import tzutc
from awscli.botocore.utils import JSONFileCache
try:
    from awscli.botocore.tokens import _sso_json_dumps
except ImportError:
    from awscli.customizations.sso.utils import _sso_json_dumps
cache = JSONFileCache(sys.argv[1], dumps_func=_sso_json_dumps)
exp = datetime.datetime(2031, 2, 3, 4, 5, 6, tzinfo=tzutc())
cache["token"] = {"startUrl": "https://s/start", "region": "eu-west-1", "accessToken": "aoa-token",
    "expiresAt": exp, "clientId": "cid", "clientSecret": "secret", "registrationExpiresAt": exp, "refreshToken": "aor-refresh"}
cache["registration"] = {"clientId": "cid", "clientSecret": "secret", "expiresAt": exp,
    "scopes": ["sso:account:access"], "grantTypes": ["authorization_code", "refresh_token"]}`, dir)
	tok, err := ReadToken(filepath.Join(dir, "token.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)
	if tok.AccessToken != "aoa-token" || !tok.ExpiresAt.Equal(want) || tok.RefreshToken != "aor-refresh" || !tok.RegistrationExpiresAt.Equal(want) || tok.ClientID != "cid" {
		t.Errorf("rolecall read the AWS CLI's token as %+v", tok)
	}
	reg, err := readRegistration(filepath.Join(dir, "registration.json"))
	if err != nil || !reg.forAuthorizationCode() || !reg.ExpiresAt.Equal(want) {
		t.Errorf("rolecall read the AWS CLI's registration as %+v, %v", reg, err)
	}
	// rolecall writes it back the way the AWS CLI wrote it.
	orig, _ := os.ReadFile(filepath.Join(dir, "token.json"))
	if string(tok.encode()) != string(orig) {
		t.Errorf("rewritten token differs from the AWS CLI's:\n%s\n%s", tok.encode(), orig)
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
