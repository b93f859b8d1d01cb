package sso

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sso"
	ssotypes "github.com/aws/aws-sdk-go-v2/service/sso/types"
	"github.com/aws/smithy-go"

	"github.com/rolecall/rolecall/pkg/creds"
)

// The IAM Identity Center portal (the SSO API, service/sso): role
// credentials, the accounts and roles a user can reach, and sign-out. Every
// call carries the access token (x-amz-sso_bearer_token) and no signature.
//
// The portal refuses a token it does not know, one that expired or was
// signed out with 401 UnauthorizedException ("Session token not found or
// invalid"), and a role the user has no assignment of with 403
// ForbiddenException ("No access"; not in the API reference, quoted in
// aws/aws-sam-cli#2129 and fwdcloudsec/granted#276).

// RoleCredentials is GetRoleCredentials: the credentials of a permission
// set (roleName) in an account.
func (c *Client) RoleCredentials(ctx context.Context, s Session, t Token, accountID, roleName string) (creds.Credentials, error) {
	if t.Expired(c.Env.now()) {
		return creds.Credentials{}, &LoginRequiredError{Session: s, Reason: "the sign-in expired at " + formatTime(t.ExpiresAt)}
	}
	start := time.Now()
	out, err := c.portal(s.Region).GetRoleCredentials(ctx, &sso.GetRoleCredentialsInput{
		AccessToken: aws.String(t.AccessToken), AccountId: aws.String(accountID), RoleName: aws.String(roleName),
	})
	if err != nil {
		return creds.Credentials{}, c.portalError(s, "GetRoleCredentials", err, accountID, roleName)
	}
	c.Env.trace("sso GetRoleCredentials %s/%s took %s", accountID, roleName, time.Since(start).Round(time.Millisecond))
	rc := out.RoleCredentials
	if rc == nil {
		rc = &ssotypes.RoleCredentials{}
	}
	cr := creds.Credentials{
		AccessKeyID:     aws.ToString(rc.AccessKeyId),
		SecretAccessKey: aws.ToString(rc.SecretAccessKey),
		SessionToken:    aws.ToString(rc.SessionToken),
		Expiration:      time.UnixMilli(rc.Expiration).UTC(),
	}
	if err := cr.CheckTemporary(c.Env.now()); err != nil {
		return creds.Credentials{}, &CallError{Service: "sso", Action: "GetRoleCredentials", Err: errors.New("the answer holds " + err.Error())}
	}
	return cr, nil
}

// portalError classifies a portal refusal: the token (a person must sign
// in), the role (no access), or anything else.
func (c *Client) portalError(s Session, action string, err error, accountID, roleName string) error {
	var unauthorized *ssotypes.UnauthorizedException
	var apiErr smithy.APIError
	switch {
	case errors.As(err, &unauthorized):
		return &LoginRequiredError{Session: s, Reason: "the portal no longer accepts the token (signed out or expired)", Err: err}
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "ForbiddenException" && roleName != "":
		return &NoAccessError{Session: s, AccountID: accountID, RoleName: roleName, Err: err}
	}
	return &CallError{Service: "sso", Action: action, Err: err}
}

// Account is an AWS account the signed-in user can reach, with the
// permission sets (roles) assigned to her there.
type Account struct {
	ID    string   `json:"accountId"`
	Name  string   `json:"accountName"`
	Email string   `json:"emailAddress"`
	Roles []string `json:"roles"`
}

// listConcurrency bounds the ListAccountRoles calls in flight.
const listConcurrency = 8

// Accounts lists every account the token reaches and its roles, sorted by
// account name then ID, roles by name.
func (c *Client) Accounts(ctx context.Context, s Session, t Token) ([]Account, error) {
	portal := c.portal(s.Region)
	token := aws.String(t.AccessToken)
	var accounts []Account
	pages := sso.NewListAccountsPaginator(portal, &sso.ListAccountsInput{AccessToken: token})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, c.portalError(s, "ListAccounts", err, "", "")
		}
		for _, a := range page.AccountList {
			accounts = append(accounts, Account{ID: aws.ToString(a.AccountId), Name: aws.ToString(a.AccountName), Email: aws.ToString(a.EmailAddress)})
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(accounts))
	sem := make(chan struct{}, listConcurrency)
	for i := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			roles := sso.NewListAccountRolesPaginator(portal, &sso.ListAccountRolesInput{AccessToken: token, AccountId: aws.String(accounts[i].ID)})
			accounts[i].Roles = []string{}
			for roles.HasMorePages() {
				page, err := roles.NextPage(ctx)
				if err != nil {
					errs[i] = c.portalError(s, "ListAccountRoles", err, "", "")
					return
				}
				for _, r := range page.RoleList {
					accounts[i].Roles = append(accounts[i].Roles, aws.ToString(r.RoleName))
				}
			}
			sort.Strings(accounts[i].Roles)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, errs[firstError(errs)]
	}
	sort.Slice(accounts, func(i, j int) bool {
		if accounts[i].Name != accounts[j].Name {
			return accounts[i].Name < accounts[j].Name
		}
		return accounts[i].ID < accounts[j].ID
	})
	return accounts, nil
}

func firstError(errs []error) int {
	for i, err := range errs {
		if err != nil {
			return i
		}
	}
	return 0
}

// logout is the portal's Logout: the token and its sign-in stop working
// (credentials already issued stay valid until they expire).
func (c *Client) logout(ctx context.Context, s Session, t Token) error {
	if _, err := c.portal(s.Region).Logout(ctx, &sso.LogoutInput{AccessToken: aws.String(t.AccessToken)}); err != nil {
		return &CallError{Service: "sso", Action: "Logout", Err: err}
	}
	return nil
}
