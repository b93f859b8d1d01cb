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

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	amzDateFormat   = "20060102T150405Z"
	sigV4TimeWindow = 15 * time.Minute
)

// SigV4 errors as STS words them. The time-window messages are the ones STS
// sends for a skewed clock, e.g. "Signature expired: 20160609T184512Z is now
// earlier than 20160610T013008Z (20160610T014508Z - 15 min.)" with code
// SignatureDoesNotMatch (devsecops/bootcamp#101 shows it from AssumeRole).
var (
	errMissingAuth = &apiError{http.StatusForbidden, "MissingAuthenticationToken",
		"Request is missing Authentication Token"}
	errInvalidClientTokenID = &apiError{http.StatusForbidden, "InvalidClientTokenId",
		"The security token included in the request is invalid."}
	errSignatureMismatch = &apiError{http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	// ExpiredToken is answered with 403 by STS (aws/aws-sdk-java-v2#1649
	// shows the real response: code ExpiredToken, status 403).
	errExpiredToken = &apiError{http.StatusForbidden, "ExpiredToken",
		"The security token included in the request is expired"}
)

func errIncompleteSignature(msg string) *apiError {
	return &apiError{http.StatusBadRequest, "IncompleteSignature", msg}
}

// sigV4Header is the parsed Authorization header of a SigV4 request.
type sigV4Header struct {
	accessKeyID   string
	date          string
	region        string
	service       string
	signedHeaders []string
	signature     string
}

func parseSigV4Header(h string) (sigV4Header, *apiError) {
	var out sigV4Header
	alg, rest, _ := strings.Cut(h, " ")
	if alg != sigV4Algorithm {
		return out, errIncompleteSignature(fmt.Sprintf("Unsupported AWS 'algorithm': '%s'", alg))
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			fields[k] = v
		}
	}
	var missing []string
	for _, k := range []string{"Credential", "Signature", "SignedHeaders"} {
		if fields[k] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", k))
		}
	}
	if len(missing) > 0 {
		return out, errIncompleteSignature(strings.Join(missing, " "))
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[4] != "aws4_request" {
		return out, errIncompleteSignature(fmt.Sprintf(
			"Credential should be scoped to a valid region, not '%s'. ", strings.Join(scope[min(len(scope), 1):], "/")))
	}
	out.accessKeyID, out.date, out.region, out.service = scope[0], scope[1], scope[2], scope[3]
	out.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	out.signature = fields["Signature"]
	return out, nil
}

// authenticate verifies the SigV4 signature of an STS request and returns who
// signed it: an Authorization header, or a presigned URL's query (see
// authenticatePresigned). The signature is recomputed with the SDK's own v4
// signer over the headers the client says it signed, so the emulator accepts
// exactly what AWS accepts from any SDK or the CLI. requestNow is the wall
// clock plus the request skew; credNow is the credential clock.
func (s *Server) authenticate(r *http.Request, body []byte, service string, requestNow, credNow time.Time) (*principal, *apiError) {
	auth := r.Header.Get("Authorization")
	if auth == "" && r.URL.Query().Has(amzSignatureParam) {
		return s.authenticatePresigned(r, credNow)
	}
	if auth == "" {
		return nil, errMissingAuth
	}
	h, serr := parseSigV4Header(auth)
	if serr != nil {
		return nil, serr
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, errIncompleteSignature("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	signTime, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return nil, errIncompleteSignature(fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'.", amzDate))
	}
	token := r.Header.Get("X-Amz-Security-Token")
	p, secret, serr := s.signerOf(h.accessKeyID, token, credNow)
	if serr != nil {
		return nil, serr
	}
	if serr := checkScope(h, service, amzDate, signTime, requestNow); serr != nil {
		return nil, serr
	}
	if k, ok := s.accessKeys[h.accessKeyID]; ok && service == ServiceSTS && time.Now().Before(k.acceptAfter) {
		// A key IAM made a moment ago is not yet known to STS (IAM is
		// eventually consistent; see SetIAMKeyDelay).
		return nil, errInvalidClientTokenID
	}
	want, err := resign(r, body, h, aws.Credentials{AccessKeyID: h.accessKeyID, SecretAccessKey: secret, SessionToken: token}, signTime)
	if err != nil {
		return nil, errSignatureMismatch
	}
	wantHeader, serr := parseSigV4Header(want)
	if serr != nil ||
		strings.Join(wantHeader.signedHeaders, ";") != strings.Join(h.signedHeaders, ";") ||
		subtle.ConstantTimeCompare([]byte(wantHeader.signature), []byte(h.signature)) != 1 {
		return nil, errSignatureMismatch
	}
	return p, nil
}

// signerOf finds who holds accessKeyID: a user's long-term key, or a
// session the emulator issued (whose token must come with it and which must
// not have expired on the credential clock). It returns the secret to sign
// with.
func (s *Server) signerOf(accessKeyID, token string, credNow time.Time) (*principal, string, *apiError) {
	if key, ok := s.accessKeys[accessKeyID]; ok {
		if token != "" {
			return nil, "", errInvalidClientTokenID
		}
		return &principal{arn: key.user.arn, userID: key.user.id, account: key.user.account, user: key.user}, key.secret, nil
	}
	sess, ok := s.sessions[accessKeyID]
	if !ok {
		return nil, "", errInvalidClientTokenID
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(sess.sessionToken)) != 1 {
		return nil, "", errInvalidClientTokenID
	}
	if !credNow.Before(sess.expiration) {
		return nil, "", errExpiredToken
	}
	return &principal{arn: sess.arn, userID: sess.userID, account: sess.account, user: sess.user, session: sess}, sess.secretAccessKey, nil
}

// checkScope checks the credential scope against the service and the
// signing date, and the signing time against STS's 15-minute window around
// now.
func checkScope(h sigV4Header, service, amzDate string, signTime, now time.Time) *apiError {
	if h.service != service {
		return &apiError{http.StatusForbidden, "SignatureDoesNotMatch",
			"Credential should be scoped to correct service: '" + service + "'. "}
	}
	if h.date != signTime.Format("20060102") {
		return &apiError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			h.date, signTime.Format("20060102"), amzDate)}
	}
	if earliest := now.Add(-sigV4TimeWindow); signTime.Before(earliest) {
		return &apiError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf(
			"Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, earliest.UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))}
	}
	if latest := now.Add(sigV4TimeWindow); signTime.After(latest) {
		return &apiError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf(
			"Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, latest.UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat))}
	}
	return nil
}

// resign rebuilds the request from the headers the client listed in
// SignedHeaders, signs it with the SDK's v4 signer and returns the
// Authorization header the client should have sent.
func resign(r *http.Request, body []byte, h sigV4Header, creds aws.Credentials, signTime time.Time) (string, error) {
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req, err := http.NewRequestWithContext(context.Background(), r.Method, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Host = r.Host
	for _, name := range h.signedHeaders {
		switch name {
		case "host", "x-amz-date", "x-amz-security-token":
			// The signer sets these from the URL, the signing time and the
			// credentials.
		case "content-length":
			n, err := strconv.ParseInt(r.Header.Get("Content-Length"), 10, 64)
			if err != nil {
				return "", err
			}
			req.ContentLength = n
		default:
			values := r.Header.Values(name)
			if len(values) == 0 {
				return "", fmt.Errorf("signed header %s is missing", name)
			}
			for _, v := range values {
				req.Header.Add(name, v)
			}
		}
	}
	sum := sha256.Sum256(body)
	signer := v4.NewSigner()
	if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), h.service, h.region, signTime); err != nil {
		return "", err
	}
	return req.Header.Get("Authorization"), nil
}
