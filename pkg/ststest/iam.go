package ststest

// IAM's access key actions for the configured users: CreateAccessKey,
// DeleteAccessKey, ListAccessKeys and GetUser, enough for `rolecall keys
// rotate`. IAM speaks the AWS Query protocol like STS, at its own endpoint
// (AWS_ENDPOINT_URL_IAM) and API version 2010-05-08; the emulator tells the
// two apart by the Version parameter and checks that the signature is
// scoped to "iam" (IAM is signed in us-east-1).
//
// Wire format, from the IAM API reference
// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_AccessKey.html,
// API_CreateAccessKey.html, API_ListAccessKeys.html, API_GetUser.html,
// CommonErrors.html): answers are <ActionResponse
// xmlns="https://iam.amazonaws.com/doc/2010-05-08/"> with an <ActionResult>
// and <ResponseMetadata><RequestId>; AccessKey has UserName, AccessKeyId,
// Status (Active | Inactive | Expired), SecretAccessKey (in
// CreateAccessKey's answer only) and CreateDate; ListAccessKeys lists
// AccessKeyMetadata members and IsTruncated. Errors are STS's ErrorResponse
// shape in IAM's namespace. A user may have two access keys: a third
// CreateAccessKey is 409 LimitExceeded "Cannot exceed quota for
// AccessKeysPerUser: 2" (the message IAM sends, quoted in
// simonw/s3-credentials#64 and pcreux/aws-rotate-keys#1); a key or user
// that does not exist is 404 NoSuchEntity.
//
// IAM refuses credentials from GetSessionToken without MFA
// (InvalidClientTokenId): "You cannot call any IAM API operations unless
// MFA authentication information is included in the request" (STS API
// reference, GetSessionToken).

import (
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

const (
	iamVersion   = "2010-05-08"
	iamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/"
	// iamKeysPerUser is IAM's quota AccessKeysPerUser.
	iamKeysPerUser = 2
)

// iamFormat is IAM's Query-protocol answers.
type iamFormat struct{}

func (iamFormat) contentType() string { return "text/xml" }

func (iamFormat) errorAnswer(e *apiError, requestID, caller string) answer {
	return iamFailure(e, requestID, caller)
}

func (iamFormat) faultError(kind string) *apiError {
	if kind == FaultThrottle {
		return &apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	}
	return &apiError{http.StatusInternalServerError, "ServiceFailure",
		"The request processing has failed because of an unknown error, exception or failure."}
}

func iamFailure(e *apiError, requestID, caller string) answer {
	var r xmlErrorResponse
	r.Xmlns = iamNamespace
	r.Error.Type = e.errorType()
	r.Error.Code = e.Code
	r.Error.Message = e.Message
	r.RequestID = requestID
	return answer{status: e.Status, body: marshalXML(r), caller: caller, err: e.Code}
}

// SetIAMKeyDelay makes STS refuse a key CreateAccessKey made for d of wall
// time (InvalidClientTokenId), as AWS does while IAM's change propagates.
// IAM itself accepts the key at once.
func (s *Server) SetIAMKeyDelay(d time.Duration) {
	s.mu.Lock()
	s.iamKeyDelay = d
	s.mu.Unlock()
}

type xmlIAMAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey,omitempty"`
	CreateDate      string `xml:"CreateDate"`
}

type xmlIAMUser struct {
	Path       string `xml:"Path"`
	UserName   string `xml:"UserName"`
	UserID     string `xml:"UserId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

type xmlIAMResponse struct {
	XMLName  xml.Name
	Xmlns    string              `xml:"xmlns,attr"`
	Result   any                 `xml:",omitempty"`
	Metadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

func iamSuccess(action string, result any, requestID, caller string) answer {
	r := xmlIAMResponse{XMLName: xml.Name{Local: action + "Response"}, Xmlns: iamNamespace, Result: result}
	r.Metadata.RequestID = requestID
	return answer{status: http.StatusOK, body: marshalXML(r), caller: caller}
}

// dispatchIAM authenticates an IAM request and routes it.
func (s *Server) dispatchIAM(r *http.Request, body []byte, params url.Values, requestID string) answer {
	action := params.Get("Action")
	handlers := map[string]func(*userEntry, string, url.Values, string) answer{
		"CreateAccessKey": s.iamCreateAccessKey,
		"DeleteAccessKey": s.iamDeleteAccessKey,
		"ListAccessKeys":  s.iamListAccessKeys,
		"GetUser":         s.iamGetUser,
	}
	h, ok := handlers[action]
	if !ok {
		return iamFailure(&apiError{http.StatusBadRequest, "InvalidAction",
			fmt.Sprintf("Could not find operation %s for version %s", action, iamVersion)}, requestID, "")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, serr := s.authenticate(r, body, ServiceIAM, time.Now().Add(s.requestSkew), s.nowLocked())
	if serr != nil {
		return iamFailure(serr, requestID, "")
	}
	switch {
	case p.session != nil && p.session.role != nil, p.session != nil && p.session.federated:
		return iamFailure(errAccessDenied(fmt.Sprintf("User: %s is not authorized to perform: iam:%s", p.arn, action)), requestID, p.arn)
	case p.session != nil && !p.session.mfa:
		return iamFailure(errInvalidClientTokenID, requestID, p.arn)
	case p.user == nil || p.user.root:
		return iamFailure(errAccessDenied("the emulator serves IAM users' own access keys only"), requestID, p.arn)
	}
	user := p.user
	if name := params.Get("UserName"); name != "" && name != iamUserName(user) {
		other := s.iamUserNamed(user.account, name)
		if other == nil {
			return iamFailure(&apiError{http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The user with name %s cannot be found.", name)}, requestID, p.arn)
		}
		user = other
	}
	return h(user, p.arn, params, requestID)
}

func iamUserName(u *userEntry) string { return u.arn[strings.LastIndex(u.arn, "/")+1:] }

func (s *Server) iamUserNamed(account, name string) *userEntry {
	for _, u := range s.users {
		if !u.root && u.account == account && iamUserName(u) == name {
			return u
		}
	}
	return nil
}

// iamKeysOf lists a user's keys, oldest first; mu held.
func (s *Server) iamKeysOf(u *userEntry) []xmlIAMAccessKey {
	var out []xmlIAMAccessKey
	for id, k := range s.accessKeys {
		if k.user == u {
			out = append(out, xmlIAMAccessKey{UserName: iamUserName(u), AccessKeyID: id, Status: "Active", CreateDate: k.created.Format(time.RFC3339)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateDate != out[j].CreateDate {
			return out[i].CreateDate < out[j].CreateDate
		}
		return out[i].AccessKeyID < out[j].AccessKeyID
	})
	return out
}

func (s *Server) iamCreateAccessKey(u *userEntry, caller string, _ url.Values, requestID string) answer {
	if len(s.iamKeysOf(u)) >= iamKeysPerUser {
		return iamFailure(&apiError{http.StatusConflict, "LimitExceeded",
			fmt.Sprintf("Cannot exceed quota for AccessKeysPerUser: %d", iamKeysPerUser)}, requestID, caller)
	}
	id := "AKIA" + randomUpper(16)
	secret := randomSecret(40)
	created := s.nowLocked().UTC().Truncate(time.Second)
	s.accessKeys[id] = accessKey{user: u, secret: secret, created: created, acceptAfter: time.Now().Add(s.iamKeyDelay)}
	s.createdSecrets = append(s.createdSecrets, secret)
	return iamSuccess("CreateAccessKey", struct {
		XMLName   xml.Name        `xml:"CreateAccessKeyResult"`
		AccessKey xmlIAMAccessKey `xml:"AccessKey"`
	}{AccessKey: xmlIAMAccessKey{UserName: iamUserName(u), AccessKeyID: id, Status: "Active", SecretAccessKey: secret, CreateDate: created.Format(time.RFC3339)}}, requestID, caller)
}

func (s *Server) iamDeleteAccessKey(u *userEntry, caller string, params url.Values, requestID string) answer {
	id := params.Get("AccessKeyId")
	if id == "" {
		return iamFailure(errValidation("1 validation error detected: Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null"), requestID, caller)
	}
	if k, ok := s.accessKeys[id]; !ok || k.user != u {
		return iamFailure(&apiError{http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The Access Key with id %s cannot be found.", id)}, requestID, caller)
	}
	delete(s.accessKeys, id)
	// Sessions made with the key live on until they expire, as in AWS.
	return iamSuccess("DeleteAccessKey", nil, requestID, caller)
}

func (s *Server) iamListAccessKeys(u *userEntry, caller string, _ url.Values, requestID string) answer {
	return iamSuccess("ListAccessKeys", struct {
		XMLName     xml.Name          `xml:"ListAccessKeysResult"`
		UserName    string            `xml:"UserName"`
		Members     []xmlIAMAccessKey `xml:"AccessKeyMetadata>member"`
		IsTruncated bool              `xml:"IsTruncated"`
	}{UserName: iamUserName(u), Members: s.iamKeysOf(u)}, requestID, caller)
}

func (s *Server) iamGetUser(u *userEntry, caller string, _ url.Values, requestID string) answer {
	return iamSuccess("GetUser", struct {
		XMLName xml.Name   `xml:"GetUserResult"`
		User    xmlIAMUser `xml:"User"`
	}{User: xmlIAMUser{Path: "/", UserName: iamUserName(u), UserID: u.id, Arn: u.arn, CreateDate: "2020-01-01T00:00:00Z"}}, requestID, caller)
}

const upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

func randomUpper(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	for i := range b {
		b[i] = upperAlnum[int(b[i])%len(upperAlnum)]
	}
	return string(b)
}

const secretChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func randomSecret(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	for i := range b {
		b[i] = secretChars[int(b[i])%len(secretChars)]
	}
	return string(b)
}

// LongTermSecrets returns the secret of every access key the emulator has
// known: the configured ones and those CreateAccessKey made, deleted or
// not. Tests grep for them where no long-term secret may be.
func (s *Server) LongTermSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.createdSecrets...)
	for _, u := range s.cfg.Users {
		for _, k := range u.AccessKeys {
			out = append(out, k.SecretAccessKey)
		}
	}
	return out
}

// AccessKeyIDs lists a user's access key IDs, oldest first.
func (s *Server) AccessKeyIDs(userARN string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userARN]
	if u == nil {
		return nil
	}
	var out []string
	for _, k := range s.iamKeysOf(u) {
		out = append(out, k.AccessKeyID)
	}
	return out
}

// CreateAccessKey makes a key for a user as IAM's CreateAccessKey would
// (the two-key limit aside), for tests that need a second key.
func (s *Server) CreateAccessKey(userARN string) (AccessKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userARN]
	if u == nil {
		return AccessKey{}, fmt.Errorf("no user %s", userARN)
	}
	k := AccessKey{AccessKeyID: "AKIA" + randomUpper(16), SecretAccessKey: randomSecret(40)}
	s.accessKeys[k.AccessKeyID] = accessKey{user: u, secret: k.SecretAccessKey, created: s.nowLocked().UTC().Truncate(time.Second)}
	s.createdSecrets = append(s.createdSecrets, k.SecretAccessKey)
	return k, nil
}

// DeleteAccessKey deletes a key as IAM's DeleteAccessKey would.
func (s *Server) DeleteAccessKey(id string) {
	s.mu.Lock()
	delete(s.accessKeys, id)
	s.mu.Unlock()
}
