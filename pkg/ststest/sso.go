package ststest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The IAM Identity Center portal, as aws-sdk-go-v2's service/sso calls it
// (REST-JSON, API version 2019-06-10; the Portal API Reference):
//
//	GET  /federation/credentials?account_id=&role_name=  GetRoleCredentials
//	GET  /assignment/accounts?max_result=&next_token=    ListAccounts
//	GET  /assignment/roles?account_id=&max_result=&next_token=  ListAccountRoles
//	POST /logout                                          Logout
//
// each with the access token in the x-amz-sso_bearer_token header and no
// SigV4 signature. Errors are JSON {"message": …} with the exception named
// in the X-Amzn-ErrorType header, which is where the SDK reads the code.

// Portal errors. The API reference lists UnauthorizedException (401),
// InvalidRequestException (400), ResourceNotFoundException (404) and
// TooManyRequestsException (429). What the portal sends for a role that is
// not assigned to the user is not in it: that is 403 ForbiddenException "No
// access" (aws/aws-sam-cli#2129, ministryofjustice/aws-root-account#579,
// fwdcloudsec/granted#276 quote it), which the SDK surfaces as a generic
// API error with that code.
var (
	// A token the portal does not know, expired or logged out:
	// ryansonshine/aws-sso-creds-helper#57, fwdcloudsec/granted#715.
	errSSOUnauthorized = &apiError{http.StatusUnauthorized, "UnauthorizedException", "Session token not found or invalid"}
	errSSONoAccess     = &apiError{http.StatusForbidden, "ForbiddenException", "No access"}
)

func errSSOInvalidRequest(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidRequestException", msg}
}

// ssoRolePath is the path of the roles Identity Center provisions for
// permission sets, e.g.
// arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_d5947e17ce774e79
// (as CloudTrail records them); their sessions are named after the user:
// assumed-role/AWSReservedSSO_NAME_SUFFIX/USER
// (tilfinltd/aws-extend-switch-roles#299).
const ssoRolePath = "aws-reserved/sso.amazonaws.com/"

// SSORoleARN returns the ARN of the IAM role that a permission set is in an
// account: aws-reserved/sso.amazonaws.com/AWSReservedSSO_NAME_SUFFIX, where
// SUFFIX is 16 hex digits the emulator derives from the account and the
// name. Tests use it to trust the role, or to check an assumed-role ARN.
func SSORoleARN(accountID, permissionSet string) string {
	sum := sha256.Sum256([]byte(accountID + "/" + permissionSet))
	return "arn:aws:iam::" + accountID + ":role/" + ssoRolePath +
		"AWSReservedSSO_" + permissionSet + "_" + hex.EncodeToString(sum[:8])
}

// ssoDirectory is the configured Identity Center instance: its users and
// the roles their assignments make. Immutable after construction.
type ssoDirectory struct {
	cfg   SSO
	users map[string]*ssoUser
}

// ssoUser is an Identity Center user with her assignments.
type ssoUser struct {
	name            string
	configuredToken string
	// roles holds the permission sets assigned to her, by account and
	// permission set name.
	roles map[string]map[string]*roleEntry
}

func newSSODirectory(cfg SSO) *ssoDirectory {
	d := &ssoDirectory{cfg: cfg, users: map[string]*ssoUser{}}
	durations := map[string]int{}
	for _, p := range cfg.PermissionSets {
		durations[p.Name] = p.SessionDuration
	}
	roles := map[string]*roleEntry{}
	for _, u := range cfg.Users {
		e := &ssoUser{name: u.UserName, configuredToken: u.AccessToken, roles: map[string]map[string]*roleEntry{}}
		for _, a := range u.Assignments {
			roleARN := SSORoleARN(a.AccountID, a.PermissionSet)
			r := roles[roleARN]
			if r == nil {
				r = newRoleEntry(Role{ARN: roleARN, MaxSessionDuration: durations[a.PermissionSet]})
				roles[roleARN] = r
			}
			if e.roles[a.AccountID] == nil {
				e.roles[a.AccountID] = map[string]*roleEntry{}
			}
			e.roles[a.AccountID][a.PermissionSet] = r
		}
		d.users[u.UserName] = e
	}
	return d
}

// user returns the named user, or nil (also when there is no directory).
func (d *ssoDirectory) user(name string) *ssoUser {
	if d == nil {
		return nil
	}
	return d.users[name]
}

// portalFormat is the portal's REST-JSON answers.
type portalFormat struct{}

func (portalFormat) contentType() string { return "application/json" }

func (portalFormat) errorAnswer(e *apiError, _ string, caller string) answer {
	body, _ := json.Marshal(map[string]string{"message": e.Message})
	h := http.Header{}
	h.Set("X-Amzn-ErrorType", e.Code)
	return answer{status: e.Status, body: body, header: h, caller: caller, err: e.Code}
}

func (portalFormat) faultError(kind string) *apiError {
	if kind == FaultThrottle {
		return &apiError{http.StatusTooManyRequests, "TooManyRequestsException", "Rate exceeded"}
	}
	// A server fault, in the AWS common errors' words.
	return &apiError{http.StatusInternalServerError, "InternalFailure",
		"The request processing has failed because of an unknown error, exception or failure."}
}

// portalOperation answers one portal operation for a user with a valid
// token, under the server's lock.
type portalOperation func(u *ssoUser, r *http.Request) (any, *apiError)

// servePortal serves a portal operation: it logs the call (query
// parameters only; the token is a header and never logged), applies faults,
// checks the access token and answers as JSON.
func (s *Server) servePortal(action string, op portalOperation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		params := map[string]string{}
		for k, vs := range q {
			params[k] = vs[0]
		}
		call := Call{Service: ServiceSSO, Action: action, Params: params}
		s.serveCall(w, r, portalFormat{}, call, func(requestID string) answer {
			s.mu.Lock()
			defer s.mu.Unlock()
			u, e := s.ssoCallerLocked(r, s.nowLocked())
			if e != nil {
				return portalFormat{}.errorAnswer(e, requestID, "")
			}
			out, e := op(u, r)
			if e != nil {
				return portalFormat{}.errorAnswer(e, requestID, u.name)
			}
			body := []byte{}
			if out != nil {
				body, _ = json.Marshal(out)
			}
			return answer{status: http.StatusOK, body: body, caller: u.name}
		})
	}
}

type jsonRoleCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	// Expiration is in milliseconds since the epoch.
	Expiration int64 `json:"expiration"`
}

// getRoleCredentials issues role credentials for a permission set assigned
// to the user: a session of the permission set's role, named after the
// user, lasting the permission set's session duration. STS accepts them like
// any role session it issued; AssumeRole with them is role chaining.
func (s *Server) getRoleCredentials(u *ssoUser, r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	accountID, roleName := q.Get("account_id"), q.Get("role_name")
	if accountID == "" || roleName == "" {
		return nil, errSSOInvalidRequest("account_id and role_name are required")
	}
	role := u.roles[accountID][roleName]
	if role == nil {
		return nil, errSSONoAccess
	}
	sizing, _ := sizeSessionToken(0, false, 0) // a token without session data fits
	sess := &session{
		arn:            assumedRoleARN(role, u.name),
		userID:         role.id + ":" + u.name,
		account:        role.account,
		role:           role,
		transitiveTags: map[string]tag{},
	}
	s.issue(sess, s.nowLocked(), role.maxSecs, sizing)
	return map[string]jsonRoleCredentials{"roleCredentials": {
		AccessKeyID:     sess.accessKeyID,
		SecretAccessKey: sess.secretAccessKey,
		SessionToken:    sess.sessionToken,
		Expiration:      sess.expiration.UnixMilli(),
	}}, nil
}

type jsonAccountInfo struct {
	AccountID    string `json:"accountId"`
	AccountName  string `json:"accountName,omitempty"`
	EmailAddress string `json:"emailAddress,omitempty"`
}

type jsonRoleInfo struct {
	RoleName  string `json:"roleName"`
	AccountID string `json:"accountId"`
}

// listAccounts lists the accounts where the user has an assignment, by
// account ID.
func (s *Server) listAccounts(u *ssoUser, r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	ids := make([]string, 0, len(u.roles))
	for id := range u.roles {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	page, next, e := paginate(len(ids), q)
	if e != nil {
		return nil, e
	}
	list := []jsonAccountInfo{}
	for _, id := range ids[page[0]:page[1]] {
		a := s.accounts[id]
		list = append(list, jsonAccountInfo{AccountID: id, AccountName: a.Name, EmailAddress: a.Email})
	}
	return struct {
		AccountList []jsonAccountInfo `json:"accountList"`
		NextToken   string            `json:"nextToken,omitempty"`
	}{list, next}, nil
}

// listAccountRoles lists the permission sets assigned to the user in an
// account, by name. For an account where she has none it answers as
// GetRoleCredentials does, ForbiddenException "No access": what the portal
// answers there is not documented.
func (s *Server) listAccountRoles(u *ssoUser, r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	accountID := q.Get("account_id")
	if accountID == "" {
		return nil, errSSOInvalidRequest("account_id is required")
	}
	roles := u.roles[accountID]
	if len(roles) == 0 {
		return nil, errSSONoAccess
	}
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	page, next, e := paginate(len(names), q)
	if e != nil {
		return nil, e
	}
	list := []jsonRoleInfo{}
	for _, n := range names[page[0]:page[1]] {
		list = append(list, jsonRoleInfo{RoleName: n, AccountID: accountID})
	}
	return struct {
		RoleList  []jsonRoleInfo `json:"roleList"`
		NextToken string         `json:"nextToken,omitempty"`
	}{list, next}, nil
}

// logout ends the access token's session. Role credentials already issued
// stay valid until they expire, as the Logout API reference says.
func (s *Server) logout(_ *ssoUser, r *http.Request) (any, *apiError) {
	s.revokeSSOTokenLocked(r)
	return nil, nil
}

// defaultPageSize is the page size of the list operations without
// max_result. The portal's own default is not documented.
const defaultPageSize = 20

// paginate picks the page [start, end) of n items for max_result and
// next_token, and the next page's token ("" on the last page). Tokens are
// opaque to clients; the emulator's encode the offset.
func paginate(n int, q url.Values) ([2]int, string, *apiError) {
	size := defaultPageSize
	if v := q.Get("max_result"); v != "" {
		m, err := strconv.Atoi(v)
		if err != nil || m < 1 {
			return [2]int{}, "", errSSOInvalidRequest("max_result must be a positive integer")
		}
		size = m
	}
	start := 0
	if v := q.Get("next_token"); v != "" {
		raw, err := base64.RawURLEncoding.DecodeString(v)
		offset, ok := strings.CutPrefix(string(raw), "ststest-page:")
		m, aerr := strconv.Atoi(offset)
		if err != nil || !ok || aerr != nil || m < 0 || m > n {
			return [2]int{}, "", errSSOInvalidRequest("The next_token is invalid")
		}
		start = m
	}
	end := min(start+size, n)
	next := ""
	if end < n {
		next = base64.RawURLEncoding.EncodeToString([]byte("ststest-page:" + strconv.Itoa(end)))
	}
	return [2]int{start, end}, next, nil
}
