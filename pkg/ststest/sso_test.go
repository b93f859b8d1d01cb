package ststest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/rolecall/rolecall/pkg/ststest"
)

// ssoClient is the SDK's portal client pointed at the emulator, retries
// off, answers read whole (wholeAnswers).
func ssoClient(t *testing.T, s *ststest.Server) *sso.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(ststest.DemoSSORegion),
		config.WithRetryMaxAttempts(1),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if err != nil {
		t.Fatalf("load SDK config: %v", err)
	}
	return sso.NewFromConfig(cfg, func(o *sso.Options) {
		o.BaseEndpoint = aws.String(s.URL())
		o.HTTPClient = wholeAnswers{s: s, next: o.HTTPClient}
	})
}

// stsCredentials turns portal role credentials into STS's shape.
func stsCredentials(c *ssotypes.RoleCredentials) *types.Credentials {
	return &types.Credentials{AccessKeyId: c.AccessKeyId, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken}
}

// ssoSessionARN is the assumed-role ARN of the demo user's session of a
// permission set in an account.
func ssoSessionARN(account, permissionSet string) string {
	role := ststest.SSORoleARN(account, permissionSet)
	return "arn:aws:sts::" + account + ":assumed-role/" + role[strings.LastIndex(role, "/")+1:] + "/" + ststest.DemoSSOUser
}

func TestSSOGetRoleCredentials(t *testing.T) {
	cfg := ststest.DemoConfig()
	cfg.Roles = append(cfg.Roles, ststest.Role{
		ARN: ststest.DemoRoleARN("from-sso"), MaxSessionDuration: 43200,
		Trust: ststest.Trust{Principals: []string{ststest.SSORoleARN(ststest.DemoAccount, "AdministratorAccess")}},
	})
	s := ststest.NewServer(cfg)
	t.Cleanup(s.Close)
	ctx := context.Background()
	c := ssoClient(t, s)
	token := s.IssueSSOToken(ststest.DemoSSOUser, time.Hour)

	before := s.Now()
	out, err := c.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(token), AccountId: aws.String(ststest.DemoAccount), RoleName: aws.String("AdministratorAccess"),
	})
	if err != nil {
		t.Fatalf("GetRoleCredentials: %v", err)
	}
	rc := out.RoleCredentials
	if !strings.HasPrefix(aws.ToString(rc.AccessKeyId), "ASIA") || len(aws.ToString(rc.SessionToken)) < 400 {
		t.Errorf("credentials %+v do not look like STS's", rc)
	}
	// AdministratorAccess has an 8-hour session duration; expiration is in
	// milliseconds since the epoch.
	expires := time.UnixMilli(rc.Expiration)
	if want := before.Add(8 * time.Hour); expires.Before(want.Add(-2*time.Second)) || expires.After(want.Add(2*time.Second)) {
		t.Errorf("expiration %v, want about %v", expires, want)
	}

	id, err := with(t, s, stsCredentials(rc)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity with portal credentials: %v", err)
	}
	wantARN := ssoSessionARN(ststest.DemoAccount, "AdministratorAccess")
	if aws.ToString(id.Arn) != wantARN || aws.ToString(id.Account) != ststest.DemoAccount ||
		!strings.HasPrefix(aws.ToString(id.UserId), "AROA") || !strings.HasSuffix(aws.ToString(id.UserId), ":"+ststest.DemoSSOUser) {
		t.Errorf("identity %s %s %s, want %s", aws.ToString(id.Arn), aws.ToString(id.UserId), aws.ToString(id.Account), wantARN)
	}
	if !strings.Contains(wantARN, ":assumed-role/AWSReservedSSO_AdministratorAccess_") {
		t.Errorf("role session ARN %s is not shaped like Identity Center's", wantARN)
	}

	// The session is a session of the permission set's role, which a trust
	// policy can name; AssumeRole with it is role chaining.
	chain := func(seconds int32) error {
		_, err := with(t, s, stsCredentials(rc)).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: aws.String(ststest.DemoRoleARN("from-sso")), RoleSessionName: aws.String("chained"), DurationSeconds: aws.Int32(seconds),
		})
		return err
	}
	wantAPIError(t, chain(7200), "ValidationError", http.StatusBadRequest, "1 hour session limit for roles assumed by role chaining")
	if err := chain(3600); err != nil {
		t.Errorf("AssumeRole from the portal's credentials: %v", err)
	}

	if n := s.CallCount("GetRoleCredentials"); n != 1 {
		t.Errorf("GetRoleCredentials calls = %d, want 1", n)
	}
	call := lastCall(t, s, "GetRoleCredentials")
	if call.Service != ststest.ServiceSSO || call.Caller != ststest.DemoSSOUser || call.Error != "" ||
		call.Params["account_id"] != ststest.DemoAccount || call.Params["role_name"] != "AdministratorAccess" {
		t.Errorf("logged %+v", call)
	}
	logged, _ := json.Marshal(s.Calls())
	if strings.Contains(string(logged), token) {
		t.Error("the access token reached the call log")
	}
}

func TestSSOListAccountsAndRoles(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	c := ssoClient(t, s)
	// The configured token works from the start.
	token := aws.String(ststest.DemoSSOAccessToken)

	var accounts []string
	pages := sso.NewListAccountsPaginator(c, &sso.ListAccountsInput{AccessToken: token, MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListAccounts: %v", err)
		}
		if len(page.AccountList) != 1 {
			t.Fatalf("page of %d accounts with max_result 1", len(page.AccountList))
		}
		a := page.AccountList[0]
		accounts = append(accounts, aws.ToString(a.AccountId)+" "+aws.ToString(a.AccountName)+" "+aws.ToString(a.EmailAddress))
	}
	want := []string{"123456789012 demo aws-demo@example.com", "210987654321 sandbox aws-sandbox@example.com"}
	if strings.Join(accounts, "; ") != strings.Join(want, "; ") {
		t.Errorf("accounts %q, want %q", accounts, want)
	}
	if n := s.CallCount("ListAccounts"); n != 2 {
		t.Errorf("ListAccounts calls = %d, want 2 pages", n)
	}

	roles, err := c.ListAccountRoles(ctx, &sso.ListAccountRolesInput{AccessToken: token, AccountId: aws.String(ststest.DemoAccount)})
	if err != nil {
		t.Fatalf("ListAccountRoles: %v", err)
	}
	var names []string
	for _, r := range roles.RoleList {
		if aws.ToString(r.AccountId) != ststest.DemoAccount {
			t.Errorf("role %s in account %s", aws.ToString(r.RoleName), aws.ToString(r.AccountId))
		}
		names = append(names, aws.ToString(r.RoleName))
	}
	if strings.Join(names, ",") != "AdministratorAccess,ReadOnlyAccess" || roles.NextToken != nil {
		t.Errorf("roles %v (next %v)", names, roles.NextToken)
	}
}

func TestSSOErrors(t *testing.T) {
	ctx := context.Background()
	getCreds := func(c *sso.Client, token, account, role string) error {
		_, err := c.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
			AccessToken: aws.String(token), AccountId: aws.String(account), RoleName: aws.String(role),
		})
		return err
	}
	tests := []struct {
		name   string
		call   func(t *testing.T, s *ststest.Server, c *sso.Client) error
		code   string
		status int
		typed  any
	}{
		{
			name: "unknown token",
			call: func(_ *testing.T, _ *ststest.Server, c *sso.Client) error {
				return getCreds(c, "aoa-not-a-token", ststest.DemoAccount, "ReadOnlyAccess")
			},
			code: "UnauthorizedException", status: http.StatusUnauthorized, typed: new(*ssotypes.UnauthorizedException),
		},
		{
			name: "expired token",
			call: func(_ *testing.T, s *ststest.Server, c *sso.Client) error {
				token := s.IssueSSOToken(ststest.DemoSSOUser, time.Hour)
				s.Advance(time.Hour)
				return getCreds(c, token, ststest.DemoAccount, "ReadOnlyAccess")
			},
			code: "UnauthorizedException", status: http.StatusUnauthorized, typed: new(*ssotypes.UnauthorizedException),
		},
		{
			name: "logged out",
			call: func(t *testing.T, s *ststest.Server, c *sso.Client) error {
				token := s.IssueSSOToken(ststest.DemoSSOUser, time.Hour)
				out, err := c.GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
					AccessToken: aws.String(token), AccountId: aws.String(ststest.DemoAccount), RoleName: aws.String("ReadOnlyAccess"),
				})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(token)}); err != nil {
					t.Fatalf("Logout: %v", err)
				}
				// Credentials already issued stay valid after Logout.
				if _, err := with(t, s, stsCredentials(out.RoleCredentials)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
					t.Errorf("credentials from before Logout: %v", err)
				}
				return getCreds(c, token, ststest.DemoAccount, "ReadOnlyAccess")
			},
			code: "UnauthorizedException", status: http.StatusUnauthorized, typed: new(*ssotypes.UnauthorizedException),
		},
		{
			name: "permission set not assigned in the account",
			call: func(t *testing.T, s *ststest.Server, c *sso.Client) error {
				return getCreds(c, s.IssueSSOToken(ststest.DemoSSOUser, time.Hour), ststest.DemoSandboxAccount, "AdministratorAccess")
			},
			code: "ForbiddenException", status: http.StatusForbidden,
		},
		{
			name: "no role in the account",
			call: func(t *testing.T, s *ststest.Server, c *sso.Client) error {
				_, err := c.ListAccountRoles(ctx, &sso.ListAccountRolesInput{
					AccessToken: aws.String(s.IssueSSOToken(ststest.DemoSSOUser, time.Hour)), AccountId: aws.String("999999999999"),
				})
				return err
			},
			code: "ForbiddenException", status: http.StatusForbidden,
		},
		{
			name: "throttled",
			call: func(t *testing.T, s *ststest.Server, c *sso.Client) error {
				s.SetFaults(ststest.Fault{Action: "GetRoleCredentials", Kind: ststest.FaultThrottle, Count: 1})
				return getCreds(c, ststest.DemoSSOAccessToken, ststest.DemoAccount, "ReadOnlyAccess")
			},
			code: "TooManyRequestsException", status: http.StatusTooManyRequests, typed: new(*ssotypes.TooManyRequestsException),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			err := tt.call(t, s, ssoClient(t, s))
			wantAPIError(t, err, tt.code, tt.status, "")
			if tt.typed != nil && !errors.As(err, tt.typed) {
				t.Errorf("error %T is not the SDK's %T", err, tt.typed)
			}
			if tt.code == "ForbiddenException" && apiMessage(err) != "No access" {
				t.Errorf("message %q, want the portal's \"No access\"", apiMessage(err))
			}
			if tt.code == "UnauthorizedException" && apiMessage(err) != "Session token not found or invalid" {
				t.Errorf("message %q", apiMessage(err))
			}
			if calls := s.Calls(); calls[len(calls)-1].Error != tt.code {
				t.Errorf("logged error %q, want %s", calls[len(calls)-1].Error, tt.code)
			}
		})
	}
}

// writeTokenCache writes an AWS CLI v2 token cache file for the token under
// dir, named for key, and returns its path.
func writeTokenCache(t *testing.T, s *ststest.Server, dir, key, token string) string {
	t.Helper()
	entry, ok := s.SSOTokenCacheEntry(token)
	if !ok {
		t.Fatal("the emulator does not know the token")
	}
	data, err := json.Marshal(entry)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ststest.SSOTokenCacheFile(key))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSSOCredsProviderReadsTheTokenCache(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	token := s.IssueSSOToken(ststest.DemoSSOUser, time.Hour)
	path := writeTokenCache(t, s, t.TempDir(), ststest.DemoSSOStartURL, token)

	provider := aws.NewCredentialsCache(ssocreds.New(ssoClient(t, s), ststest.DemoAccount, "ReadOnlyAccess", ststest.DemoSSOStartURL,
		func(o *ssocreds.Options) { o.CachedTokenFilepath = path }))
	creds, err := provider.Retrieve(ctx)
	if err != nil {
		t.Fatalf("Retrieve: %v", err)
	}
	// ReadOnlyAccess has Identity Center's default one-hour sessions.
	if left := time.Until(creds.Expires); !creds.CanExpire || left < 59*time.Minute || left > time.Hour {
		t.Errorf("credentials expire in %v, want an hour", left)
	}
	c := client(t, s, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	if want := ssoSessionARN(ststest.DemoAccount, "ReadOnlyAccess"); aws.ToString(id.Arn) != want {
		t.Errorf("identity %s, want %s", aws.ToString(id.Arn), want)
	}
	if _, err := provider.Retrieve(ctx); err != nil || s.CallCount("GetRoleCredentials") != 1 {
		t.Errorf("cached Retrieve: %v, %d GetRoleCredentials calls, want 1", err, s.CallCount("GetRoleCredentials"))
	}
}

// TestSSOProfilesFromSharedConfig drives the SDK's whole SSO chain: a
// profile in ~/.aws/config, the token cache file the AWS CLI would have
// written under ~/.aws/sso/cache, and the portal and STS endpoints from the
// config file's services section or from AWS_ENDPOINT_URL_SSO.
func TestSSOProfilesFromSharedConfig(t *testing.T) {
	tests := []struct {
		name     string
		profile  string
		cacheKey string // what the cache file is named after
		envURLs  bool
	}{
		{
			name: "sso-session profile, endpoints from a services section",
			profile: `[profile dev]
sso_session = ststest
sso_account_id = 210987654321
sso_role_name = ReadOnlyAccess
region = us-east-1
services = emulator

[sso-session ststest]
sso_start_url = ` + ststest.DemoSSOStartURL + `
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[services emulator]
sso =
  endpoint_url = URL
sts =
  endpoint_url = URL
`,
			cacheKey: "ststest",
		},
		{
			name: "legacy profile, endpoints from AWS_ENDPOINT_URL_SSO",
			profile: `[profile dev]
sso_start_url = ` + ststest.DemoSSOStartURL + `
sso_region = us-east-1
sso_account_id = 210987654321
sso_role_name = ReadOnlyAccess
region = us-east-1
`,
			cacheKey: ststest.DemoSSOStartURL,
			envURLs:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ctx := context.Background()
			home := t.TempDir()
			t.Setenv("HOME", home)
			for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
				"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
				t.Setenv(k, "")
			}
			if tt.envURLs {
				t.Setenv("AWS_ENDPOINT_URL_SSO", s.URL())
				t.Setenv("AWS_ENDPOINT_URL_STS", s.URL())
			}
			configPath := filepath.Join(home, ".aws", "config")
			if err := os.MkdirAll(filepath.Dir(configPath), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(configPath, []byte(strings.ReplaceAll(tt.profile, "URL", s.URL())), 0o600); err != nil {
				t.Fatal(err)
			}
			writeTokenCache(t, s, filepath.Join(home, ".aws", "sso", "cache"), tt.cacheKey, s.IssueSSOToken(ststest.DemoSSOUser, time.Hour))

			cfg, err := config.LoadDefaultConfig(ctx,
				config.WithSharedConfigProfile("dev"),
				config.WithSharedConfigFiles([]string{configPath}),
				config.WithSharedCredentialsFiles([]string{}),
				config.WithRetryMaxAttempts(1),
			)
			if err != nil {
				t.Fatalf("load the profile: %v", err)
			}
			id, err := sts.NewFromConfig(cfg, func(o *sts.Options) {
				o.HTTPClient = wholeAnswers{s: s, next: o.HTTPClient}
			}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if err != nil {
				t.Fatalf("GetCallerIdentity through the SSO profile: %v", err)
			}
			if want := ssoSessionARN(ststest.DemoSandboxAccount, "ReadOnlyAccess"); aws.ToString(id.Arn) != want {
				t.Errorf("identity %s, want %s", aws.ToString(id.Arn), want)
			}
			if n := s.CallCount("GetRoleCredentials"); n != 1 {
				t.Errorf("GetRoleCredentials calls = %d, want 1", n)
			}
		})
	}
}

func TestIssueSSOTokenPanicsForAnUnknownUser(t *testing.T) {
	s := newServer(t)
	defer func() {
		if recover() == nil {
			t.Error("IssueSSOToken for nobody did not panic")
		}
	}()
	s.IssueSSOToken("nobody@example.com", time.Hour)
}
