package ststest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The demo configuration's fixed names. Docs, scripts and outside checks rely
// on them, so they never change.
//
// The keys are AWS's documentation example keys and the secrets are the
// emulator's own: public by design, valid nowhere but here.
//
//nolint:gosec // published example credentials, not secrets
const (
	DemoAccount            = "123456789012"
	DemoUserARN            = "arn:aws:iam::123456789012:user/alice"
	DemoAccessKeyID        = "AKIAIOSFODNN7EXAMPLE"
	DemoSecretAccessKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	DemoMFASerial          = "arn:aws:iam::123456789012:mfa/alice"
	DemoMFASecret          = "JBSWY3DPEHPK3PXP"
	DemoGitHubIssuer       = "https://token.actions.githubusercontent.com"
	DemoGitHubRequestToken = "ststest-github-request-token"

	// DemoSandboxAccount is the demo's second account, reached only
	// through IAM Identity Center.
	DemoSandboxAccount = "210987654321"
	// DemoSSOStartURL and DemoSSORegion are the demo Identity Center
	// instance's AWS access portal URL and region (a profile's
	// sso_start_url and sso_region).
	DemoSSOStartURL = "https://d-ststest00.awsapps.com/start"
	DemoSSORegion   = "us-east-1"
	// DemoSSOUser is the demo Identity Center user; DemoSSOAccessToken is
	// an access token of hers that the portal accepts from the start.
	DemoSSOUser        = "alice@example.com"
	DemoSSOAccessToken = "ststest-sso-access-token-alice"
)

// DemoRoleARN returns the ARN of the demo account's role with that name.
func DemoRoleARN(name string) string {
	return "arn:aws:iam::" + DemoAccount + ":role/" + name
}

// Config describes the world the emulator serves: accounts, IAM users and
// their access keys, MFA devices, roles with their trust, OIDC providers, the
// fake GitHub token endpoint and initial faults. Its JSON form is the
// configuration file of cmd/ststest (docs/ststest.md).
type Config struct {
	Accounts      []Account      `json:"accounts"`
	Users         []User         `json:"users"`
	MFADevices    []MFADevice    `json:"mfa_devices,omitempty"`
	Roles         []Role         `json:"roles"`
	OIDCProviders []OIDCProvider `json:"oidc_providers,omitempty"`
	GitHub        *GitHub        `json:"github,omitempty"`
	SSO           *SSO           `json:"sso,omitempty"`
	Faults        []Fault        `json:"faults,omitempty"`
}

// Account is an AWS account the emulator knows. Users and roles must belong
// to a listed account.
type Account struct {
	ID string `json:"id"`
	// Name and Email are what the SSO portal's ListAccounts reports
	// (accountName, emailAddress).
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// User is an IAM user with long-term access keys, or the account's root
// user when ARN is arn:aws:iam::ACCOUNT:root.
type User struct {
	ARN string `json:"arn"`
	// ID is the user's unique ID (AIDA…) as GetCallerIdentity reports it;
	// derived from the ARN when empty.
	ID         string      `json:"id,omitempty"`
	AccessKeys []AccessKey `json:"access_keys"`
}

// AccessKey is a long-term access key pair of a user.
type AccessKey struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// MFADevice is a virtual MFA device: a TOTP secret (base32, RFC 6238 with 30
// second steps and 6 digits) assigned to a user.
type MFADevice struct {
	Serial string `json:"serial"`
	User   string `json:"user"`
	Secret string `json:"secret"`
}

// Role is an IAM role that can be assumed.
type Role struct {
	ARN string `json:"arn"`
	// ID is the role's unique ID (AROA…) used in AssumedRoleId; derived from
	// the ARN when empty.
	ID string `json:"id,omitempty"`
	// MaxSessionDuration in seconds, 3600 to 43200; 0 means IAM's default
	// of 3600.
	MaxSessionDuration int   `json:"max_session_duration,omitempty"`
	Trust              Trust `json:"trust"`
}

// Trust is a role's trust policy reduced to what the emulator evaluates.
type Trust struct {
	// Principals may assume the role with AssumeRole: user ARNs, role ARNs
	// (any session of that role), or an account's root
	// ("arn:aws:iam::ACCOUNT:root" or the bare account ID), which lets every
	// principal of that account in.
	Principals []string `json:"principals,omitempty"`
	// RequireMFA is the aws:MultiFactorAuthPresent condition.
	RequireMFA bool `json:"require_mfa,omitempty"`
	// ExternalID is the sts:ExternalId condition; empty means none.
	ExternalID string `json:"external_id,omitempty"`
	// WebIdentity lets AssumeRoleWithWebIdentity in.
	WebIdentity *WebIdentityTrust `json:"web_identity,omitempty"`
}

// WebIdentityTrust is a federated trust statement: the OIDC provider's
// issuer, the aud values accepted and StringLike patterns on sub.
type WebIdentityTrust struct {
	Issuer      string   `json:"issuer"`
	Audiences   []string `json:"audiences"`
	SubjectLike []string `json:"subject_like"`
}

// OIDCProvider is an IAM OIDC identity provider: an issuer URL and the client
// IDs (audiences) it accepts. The emulator makes an RSA key for each.
type OIDCProvider struct {
	Issuer    string   `json:"issuer"`
	ClientIDs []string `json:"client_ids"`
}

// GitHub configures the fake GitHub Actions token endpoint
// (GET /_ststest/github-token).
type GitHub struct {
	// Issuer is the OIDC provider that signs the tokens; it must be listed
	// in OIDCProviders. Empty means DemoGitHubIssuer.
	Issuer string `json:"issuer,omitempty"`
	// RequestToken is the bearer token the endpoint demands
	// (ACTIONS_ID_TOKEN_REQUEST_TOKEN in a real workflow).
	RequestToken string `json:"request_token"`
	Repository   string `json:"repository"`
	Ref          string `json:"ref"`
}

// SSO is an IAM Identity Center instance, served by the emulator's portal
// (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout).
type SSO struct {
	// StartURL is the AWS access portal URL (sso_start_url): an https URL.
	// The AWS CLI names a legacy profile's token cache file after it.
	StartURL string `json:"start_url"`
	// Region is the instance's region (sso_region).
	Region         string          `json:"region"`
	PermissionSets []PermissionSet `json:"permission_sets"`
	Users          []SSOUser       `json:"users"`
}

// PermissionSet is an Identity Center permission set. Assigned to a user in
// an account, it is an IAM role there named
// aws-reserved/sso.amazonaws.com/AWSReservedSSO_NAME_SUFFIX, and its name is
// the role_name GetRoleCredentials takes.
type PermissionSet struct {
	// Name is 1 to 32 characters of [\w+=,.@-].
	Name string `json:"name"`
	// SessionDuration in seconds, 3600 to 43200; 0 means Identity Center's
	// default of 3600. GetRoleCredentials issues credentials for this long.
	SessionDuration int `json:"session_duration,omitempty"`
}

// SSOUser is an Identity Center user and the permission sets assigned to
// her in accounts.
type SSOUser struct {
	// UserName is the session name of her role sessions
	// (assumed-role/AWSReservedSSO_…/USERNAME): 2 to 64 characters of
	// [\w+=,.@-], often an email address.
	UserName string `json:"user_name"`
	// AccessToken, if set, is a portal access token of hers accepted from
	// the start, until Logout. Tests mint others with IssueSSOToken.
	AccessToken string          `json:"access_token,omitempty"`
	Assignments []SSOAssignment `json:"assignments"`
}

// SSOAssignment gives a user a permission set in an account.
type SSOAssignment struct {
	AccountID     string `json:"account_id"`
	PermissionSet string `json:"permission_set"`
}

// DemoConfig returns the fixed demo configuration: account 123456789012, user
// alice with AWS's documentation example keys and an MFA device, the roles
// demo, needs-mfa, needs-external-id, chained and ci-deploy, and an Identity
// Center instance where alice@example.com has AdministratorAccess and
// ReadOnlyAccess in 123456789012 and ReadOnlyAccess in the sandbox account
// 210987654321.
func DemoConfig() Config {
	return Config{
		Accounts: []Account{
			{ID: DemoAccount, Name: "demo", Email: "aws-demo@example.com"},
			{ID: DemoSandboxAccount, Name: "sandbox", Email: "aws-sandbox@example.com"},
		},
		Users: []User{{
			ARN:        DemoUserARN,
			AccessKeys: []AccessKey{{AccessKeyID: DemoAccessKeyID, SecretAccessKey: DemoSecretAccessKey}},
		}},
		MFADevices: []MFADevice{{Serial: DemoMFASerial, User: DemoUserARN, Secret: DemoMFASecret}},
		Roles: []Role{
			{ARN: DemoRoleARN("demo"), MaxSessionDuration: 43200, Trust: Trust{Principals: []string{DemoUserARN}}},
			{ARN: DemoRoleARN("needs-mfa"), Trust: Trust{Principals: []string{DemoUserARN}, RequireMFA: true}},
			{ARN: DemoRoleARN("needs-external-id"), Trust: Trust{Principals: []string{DemoUserARN}, ExternalID: "rolecall-example"}},
			{ARN: DemoRoleARN("chained"), Trust: Trust{Principals: []string{DemoRoleARN("demo")}}},
			{ARN: DemoRoleARN("ci-deploy"), Trust: Trust{WebIdentity: &WebIdentityTrust{
				Issuer:      DemoGitHubIssuer,
				Audiences:   []string{"sts.amazonaws.com"},
				SubjectLike: []string{"repo:example/app:*"},
			}}},
		},
		OIDCProviders: []OIDCProvider{{Issuer: DemoGitHubIssuer, ClientIDs: []string{"sts.amazonaws.com"}}},
		GitHub: &GitHub{
			Issuer:       DemoGitHubIssuer,
			RequestToken: DemoGitHubRequestToken,
			Repository:   "example/app",
			Ref:          "refs/heads/main",
		},
		SSO: &SSO{
			StartURL: DemoSSOStartURL,
			Region:   DemoSSORegion,
			PermissionSets: []PermissionSet{
				{Name: "AdministratorAccess", SessionDuration: 28800},
				{Name: "ReadOnlyAccess"},
			},
			Users: []SSOUser{{
				UserName:    DemoSSOUser,
				AccessToken: DemoSSOAccessToken,
				Assignments: []SSOAssignment{
					{AccountID: DemoAccount, PermissionSet: "AdministratorAccess"},
					{AccountID: DemoAccount, PermissionSet: "ReadOnlyAccess"},
					{AccountID: DemoSandboxAccount, PermissionSet: "ReadOnlyAccess"},
				},
			}},
		},
	}
}

// LoadConfigFile reads a JSON configuration file and checks it. Unknown
// fields are errors, so that a misspelt key does not silently drop a role.
func LoadConfigFile(path string) (Config, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the path is the operator's --config
	if err != nil {
		return Config{}, fmt.Errorf("read ststest config: %w", err)
	}
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("parse ststest config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("ststest config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate checks that the configuration is coherent: ARNs parse, every
// principal belongs to a listed account, access keys and serials are unique,
// and references (MFA device owners, trusted issuers) resolve.
func (c Config) Validate() error {
	var errs []error
	accounts := map[string]bool{}
	for _, a := range c.Accounts {
		if !isAccountID(a.ID) {
			errs = append(errs, fmt.Errorf("account %q: not a 12-digit account ID", a.ID))
		}
		accounts[a.ID] = true
	}
	checkARN := func(what, s, service, prefix string) {
		a, err := arn.Parse(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s %q: %w", what, s, err))
		case a.Service != service || !strings.HasPrefix(a.Resource, prefix) || len(a.Resource) == len(prefix):
			errs = append(errs, fmt.Errorf("%s %q: want an arn:aws:%s::ACCOUNT:%sNAME ARN", what, s, service, prefix))
		case !accounts[a.AccountID]:
			errs = append(errs, fmt.Errorf("%s %q: account %s is not in accounts", what, s, a.AccountID))
		}
	}
	users := map[string]bool{}
	keys := map[string]bool{}
	for _, u := range c.Users {
		if a, err := arn.Parse(u.ARN); err == nil && a.Service == "iam" && a.Resource == "root" {
			if !accounts[a.AccountID] {
				errs = append(errs, fmt.Errorf("user %q: account %s is not in accounts", u.ARN, a.AccountID))
			}
		} else {
			checkARN("user", u.ARN, "iam", "user/")
		}
		users[u.ARN] = true
		for _, k := range u.AccessKeys {
			if len(k.AccessKeyID) < 16 || k.SecretAccessKey == "" {
				errs = append(errs, fmt.Errorf("user %s: access key %q needs an ID of 16 or more characters and a secret", u.ARN, k.AccessKeyID))
			}
			if keys[k.AccessKeyID] {
				errs = append(errs, fmt.Errorf("access key %s is listed twice", k.AccessKeyID))
			}
			keys[k.AccessKeyID] = true
		}
	}
	serials := map[string]bool{}
	for _, d := range c.MFADevices {
		if !users[d.User] {
			errs = append(errs, fmt.Errorf("mfa device %s: user %q is not in users", d.Serial, d.User))
		}
		if serials[d.Serial] {
			errs = append(errs, fmt.Errorf("mfa device %s is listed twice", d.Serial))
		}
		serials[d.Serial] = true
		if _, err := totpCode(d.Secret, 0); err != nil {
			errs = append(errs, fmt.Errorf("mfa device %s: %w", d.Serial, err))
		}
	}
	issuers := map[string]bool{}
	for _, p := range c.OIDCProviders {
		if !strings.HasPrefix(p.Issuer, "https://") {
			errs = append(errs, fmt.Errorf("oidc provider %q: the issuer must be an https URL", p.Issuer))
		}
		issuers[p.Issuer] = true
	}
	roles := map[string]bool{}
	for _, r := range c.Roles {
		checkARN("role", r.ARN, "iam", "role/")
		if roles[r.ARN] {
			errs = append(errs, fmt.Errorf("role %s is listed twice", r.ARN))
		}
		roles[r.ARN] = true
		if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < 3600 || r.MaxSessionDuration > 43200) {
			errs = append(errs, fmt.Errorf("role %s: max_session_duration %d is outside IAM's 3600 to 43200", r.ARN, r.MaxSessionDuration))
		}
		for _, p := range r.Trust.Principals {
			if isAccountID(p) {
				continue
			}
			if _, err := arn.Parse(p); err != nil {
				errs = append(errs, fmt.Errorf("role %s: principal %q: %w", r.ARN, p, err))
			}
		}
		if w := r.Trust.WebIdentity; w != nil && !issuers[w.Issuer] {
			errs = append(errs, fmt.Errorf("role %s: web identity issuer %q is not in oidc_providers", r.ARN, w.Issuer))
		}
	}
	if g := c.GitHub; g != nil {
		issuer := g.Issuer
		if issuer == "" {
			issuer = DemoGitHubIssuer
		}
		if !issuers[issuer] {
			errs = append(errs, fmt.Errorf("github: issuer %q is not in oidc_providers", issuer))
		}
		if g.RequestToken == "" || !strings.Contains(g.Repository, "/") || g.Ref == "" {
			errs = append(errs, errors.New("github: request_token, repository (OWNER/REPO) and ref are required"))
		}
	}
	if c.SSO != nil {
		errs = append(errs, c.SSO.validate(accounts)...)
	}
	for _, f := range c.Faults {
		if err := f.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// validate checks an Identity Center instance against the listed accounts.
func (c *SSO) validate(accounts map[string]bool) []error {
	var errs []error
	if !strings.HasPrefix(c.StartURL, "https://") {
		errs = append(errs, fmt.Errorf("sso: start_url %q is not an https URL", c.StartURL))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("sso: region is required"))
	}
	sets := map[string]bool{}
	for _, p := range c.PermissionSets {
		if !rePermissionSetName.MatchString(p.Name) {
			errs = append(errs, fmt.Errorf("sso: permission set %q: want 1 to 32 characters of [\\w+=,.@-]", p.Name))
		}
		if sets[p.Name] {
			errs = append(errs, fmt.Errorf("sso: permission set %s is listed twice", p.Name))
		}
		sets[p.Name] = true
		if p.SessionDuration != 0 && (p.SessionDuration < 3600 || p.SessionDuration > 43200) {
			errs = append(errs, fmt.Errorf("sso: permission set %s: session_duration %d is outside 3600 to 43200", p.Name, p.SessionDuration))
		}
	}
	users := map[string]bool{}
	tokens := map[string]bool{}
	for _, u := range c.Users {
		if n := len(u.UserName); n < 2 || n > 64 || !reSessionName.MatchString(u.UserName) {
			errs = append(errs, fmt.Errorf("sso: user %q: want 2 to 64 characters of [\\w+=,.@-] (it is the session name)", u.UserName))
		}
		if users[u.UserName] {
			errs = append(errs, fmt.Errorf("sso: user %s is listed twice", u.UserName))
		}
		users[u.UserName] = true
		if u.AccessToken != "" {
			if tokens[u.AccessToken] {
				errs = append(errs, fmt.Errorf("sso: user %s: access_token is another user's too", u.UserName))
			}
			tokens[u.AccessToken] = true
		}
		for _, a := range u.Assignments {
			if !accounts[a.AccountID] {
				errs = append(errs, fmt.Errorf("sso: user %s: account %q is not in accounts", u.UserName, a.AccountID))
			}
			if !sets[a.PermissionSet] {
				errs = append(errs, fmt.Errorf("sso: user %s: permission set %q is not in permission_sets", u.UserName, a.PermissionSet))
			}
		}
	}
	return errs
}
