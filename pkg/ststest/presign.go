package ststest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Presigned requests: SigV4 in the query string instead of an Authorization
// header. An EKS token is one of these, a GET GetCallerIdentity URL with the
// x-k8s-aws-id header signed; the cluster's authenticator sends it to STS
// with that header and maps the caller STS names to a Kubernetes user.
//
// STS keeps a presigned URL valid for 15 minutes after its X-Amz-Date
// whatever X-Amz-Expires says: "The sts GetCallerIdentity request is valid
// for 15 minutes regardless of this parameters value after it has been
// signed" (aws-iam-authenticator, pkg/token/token.go, requestPresignParam;
// aws/aws-sdk-go#2167). The emulator does the same, and requires
// X-Amz-Expires to be a whole number of seconds from 0 to 900, as the
// authenticator's verifier does before it asks STS. A URL's age is judged on
// the credential clock (Advance moves it), so a test expires a token
// without waiting.

// The query parameters of a presigned request.
const (
	amzAlgorithmParam     = "X-Amz-Algorithm"
	amzCredentialParam    = "X-Amz-Credential" //nolint:gosec // a parameter's name
	amzDateParam          = "X-Amz-Date"
	amzExpiresParam       = "X-Amz-Expires"
	amzSignedHeadersParam = "X-Amz-SignedHeaders"
	amzSignatureParam     = "X-Amz-Signature"
	amzSecurityTokenParam = "X-Amz-Security-Token" //nolint:gosec // a parameter's name

	// clusterIDHeader names the EKS cluster a token is for.
	clusterIDHeader = "x-k8s-aws-id"

	// maxPresignExpires is the largest X-Amz-Expires the EKS
	// authenticator accepts (0 to 15 minutes).
	maxPresignExpires = 900
)

// presignParams are the parameters the signer adds; every other one (the
// action, X-Amz-Expires, anything a client added) is part of what it signed.
var presignParams = []string{amzAlgorithmParam, amzCredentialParam, amzDateParam,
	amzSignedHeadersParam, amzSignatureParam, amzSecurityTokenParam}

// requiredPresignParams must each appear once in a presigned request.
var requiredPresignParams = []string{amzAlgorithmParam, amzCredentialParam, amzDateParam,
	amzExpiresParam, amzSignedHeadersParam, amzSignatureParam}

// authenticatePresigned verifies a presigned request's query signature and
// returns who signed it, with the same principal lookup, scope checks and
// SDK signer as a signed request.
func (s *Server) authenticatePresigned(r *http.Request, credNow time.Time) (*principal, *apiError) {
	q := r.URL.Query()
	for _, k := range requiredPresignParams {
		if len(q[k]) != 1 || q.Get(k) == "" {
			return nil, errIncompleteSignature("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders' and 'X-Amz-Signature' once each. Re-examine the query-string parameters.")
		}
	}
	if alg := q.Get(amzAlgorithmParam); alg != sigV4Algorithm {
		return nil, errIncompleteSignature(fmt.Sprintf("Unsupported AWS 'algorithm': '%s'", alg))
	}
	scope := strings.Split(q.Get(amzCredentialParam), "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return nil, errIncompleteSignature(fmt.Sprintf(
			"Credential should be scoped to a valid region, not '%s'. ", strings.Join(scope[min(len(scope), 1):], "/")))
	}
	h := sigV4Header{
		accessKeyID:   scope[0],
		date:          scope[1],
		region:        scope[2],
		service:       scope[3],
		signedHeaders: strings.Split(q.Get(amzSignedHeadersParam), ";"),
		signature:     q.Get(amzSignatureParam),
	}
	amzDate := q.Get(amzDateParam)
	signTime, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, errIncompleteSignature(fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'.", amzDate))
	}
	expires, err := strconv.Atoi(q.Get(amzExpiresParam))
	if err != nil || expires < 0 || expires > maxPresignExpires {
		return nil, errIncompleteSignature(fmt.Sprintf(
			"X-Amz-Expires must be a whole number of seconds from 0 to %d, not '%s'.", maxPresignExpires, q.Get(amzExpiresParam)))
	}
	token := q.Get(amzSecurityTokenParam)
	p, secret, serr := s.signerOf(h.accessKeyID, token, credNow)
	if serr != nil {
		return nil, serr
	}
	if serr := checkScope(h, ServiceSTS, amzDate, signTime, credNow); serr != nil {
		return nil, serr
	}
	signature, signedHeaders, err := presignAgain(r, h, aws.Credentials{AccessKeyID: h.accessKeyID, SecretAccessKey: secret, SessionToken: token}, signTime)
	if err != nil || signedHeaders != strings.Join(h.signedHeaders, ";") ||
		subtle.ConstantTimeCompare([]byte(signature), []byte(h.signature)) != 1 {
		return nil, errSignatureMismatch
	}
	return p, nil
}

// presignAgain rebuilds a presigned request from its URL, without the
// parameters the signer adds, and from the headers it lists in
// X-Amz-SignedHeaders, presigns it with the SDK's v4 signer, and returns the
// signature and signed headers the client should have sent.
func presignAgain(r *http.Request, h sigV4Header, creds aws.Credentials, signTime time.Time) (signature, signedHeaders string, err error) {
	q := r.URL.Query()
	for _, k := range presignParams {
		q.Del(k)
	}
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: q.Encode()}
	req, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return "", "", err
	}
	req.Host = r.Host
	for _, name := range h.signedHeaders {
		if name == "host" {
			continue // the signer takes it from the URL
		}
		values := r.Header.Values(name)
		if len(values) == 0 {
			return "", "", fmt.Errorf("signed header %s is missing", name)
		}
		for _, v := range values {
			req.Header.Add(name, v)
		}
	}
	empty := sha256.Sum256(nil)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hex.EncodeToString(empty[:]), h.service, h.region, signTime)
	if err != nil {
		return "", "", err
	}
	su, err := url.Parse(signed)
	if err != nil {
		return "", "", err
	}
	sq := su.Query()
	return sq.Get(amzSignatureParam), sq.Get(amzSignedHeadersParam), nil
}
