package ststest

import (
	"encoding/xml"
	"net/http"
	"time"
)

// stsNamespace is the XML namespace of every STS response.
const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// stsVersion is the only API version STS has.
const stsVersion = "2011-06-15"

// apiError is an error as an AWS service reports it: a code, a message and
// an HTTP status. STS sends it as an ErrorResponse whose Type is "Sender" for
// 4xx and "Receiver" for 5xx; the SSO portal as JSON (see sso.go).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (e *apiError) errorType() string {
	if e.Status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

// Constructors for the errors STS returns. Status codes follow the STS API
// reference (Common Errors and each action's Errors section):
// https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
func errValidation(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "ValidationError", msg}
}

func errAccessDenied(msg string) *apiError {
	return &apiError{http.StatusForbidden, "AccessDenied", msg}
}

// actionWebIdentity is the one STS action answered without a signature.
const actionWebIdentity = "AssumeRoleWithWebIdentity"

// errIDPCommunication is STS's answer when it cannot reach the identity
// provider to verify a web identity token: 400 IDPCommunicationError (the
// AssumeRoleWithWebIdentity API reference, Errors). No response STS sent
// with this code has been published; the message is the API reference's
// description of the error.
var errIDPCommunication = &apiError{http.StatusBadRequest, "IDPCommunicationError",
	"The request could not be fulfilled because the identity provider (IDP) that was asked to verify the incoming identity token could not be reached. This is often a transient error caused by network conditions. Retry the request a limited number of times so that you don't exceed the request rate. If the error persists, the identity provider might be down or not responding."}

func errInvalidParameterValue(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterValue", msg}
}

type xmlResponseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type xmlErrorResponse struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Error   struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
	RequestID string `xml:"RequestId"`
}

type xmlCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

// xmlTokenSize is what STS reports of the session token's size with every
// set of credentials it issues.
type xmlTokenSize struct {
	SessionTokenSize        int `xml:"SessionTokenSize"`
	SessionTokenUtilization int `xml:"SessionTokenUtilization"`
}

type xmlAssumedRoleUser struct {
	Arn           string `xml:"Arn"`
	AssumedRoleID string `xml:"AssumedRoleId"`
}

type xmlAssumeRoleResponse struct {
	XMLName xml.Name `xml:"AssumeRoleResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		SourceIdentity   string             `xml:"SourceIdentity,omitempty"`
		AssumedRoleUser  xmlAssumedRoleUser `xml:"AssumedRoleUser"`
		Credentials      xmlCredentials     `xml:"Credentials"`
		PackedPolicySize *int               `xml:"PackedPolicySize,omitempty"`
		xmlTokenSize
	} `xml:"AssumeRoleResult"`
	ResponseMetadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

type xmlAssumeRoleWithWebIdentityResponse struct {
	XMLName xml.Name `xml:"AssumeRoleWithWebIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		SubjectFromWebIdentityToken string             `xml:"SubjectFromWebIdentityToken"`
		Audience                    string             `xml:"Audience"`
		AssumedRoleUser             xmlAssumedRoleUser `xml:"AssumedRoleUser"`
		Credentials                 xmlCredentials     `xml:"Credentials"`
		Provider                    string             `xml:"Provider"`
		SourceIdentity              string             `xml:"SourceIdentity,omitempty"`
		PackedPolicySize            *int               `xml:"PackedPolicySize,omitempty"`
		xmlTokenSize
	} `xml:"AssumeRoleWithWebIdentityResult"`
	ResponseMetadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

type xmlGetSessionTokenResponse struct {
	XMLName xml.Name `xml:"GetSessionTokenResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Credentials xmlCredentials `xml:"Credentials"`
		xmlTokenSize
	} `xml:"GetSessionTokenResult"`
	ResponseMetadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

type xmlGetCallerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
	ResponseMetadata xmlResponseMetadata `xml:"ResponseMetadata"`
}

// stsTime formats a time as STS does in Expiration: ISO 8601 in UTC with
// second precision, e.g. 2011-07-15T23:28:33Z.
func stsTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func marshalXML(v any) []byte {
	out, err := xml.Marshal(v)
	if err != nil {
		// The response types hold only strings and ints.
		panic("ststest: marshal response: " + err.Error())
	}
	return out
}

func errorBody(e *apiError, requestID string) []byte {
	var r xmlErrorResponse
	r.Xmlns = stsNamespace
	r.Error.Type = e.errorType()
	r.Error.Code = e.Code
	r.Error.Message = e.Message
	r.RequestID = requestID
	return marshalXML(r)
}
