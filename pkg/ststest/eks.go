package ststest

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// eksTokenPrefix starts an EKS token (k8s-aws-v1.: version 1, a presigned
// URL in unpadded base64url).
const eksTokenPrefix = "k8s-aws-v1." //nolint:gosec // the format's prefix, not a credential

// maxEKSTokenSize is the longest token the authenticator reads (4 KiB).
const maxEKSTokenSize = 4 << 10

// EKSTokenError is a token the verifier refused: its format (Code
// "FormatError"), or STS's answer to its URL (STS's error code).
type EKSTokenError struct {
	Code    string
	Message string
}

func (e *EKSTokenError) Error() string { return e.Code + ": " + e.Message }

// VerifyEKSToken does what an EKS cluster's authenticator does with a
// bearer token (aws-iam-authenticator, pkg/token/token.go, Verify): it
// checks the format (prefix, size, a GET of this emulator's / with only
// the GetCallerIdentity parameters, x-k8s-aws-id among the signed
// headers), sends the URL to STS (this emulator) with the header
// x-k8s-aws-id: cluster, and returns the caller's ARN. A token for another
// cluster fails STS's signature check, as it does in EKS. The
// authenticator's own verifier cannot be pointed here: it accepts only
// https URLs whose host is one of the partition's STS endpoints.
func (s *Server) VerifyEKSToken(ctx context.Context, token, cluster string) (string, error) {
	formatErr := func(msg string) error { return &EKSTokenError{Code: "FormatError", Message: msg} }
	if len(token) > maxEKSTokenSize {
		return "", formatErr("token is too large")
	}
	rest, ok := strings.CutPrefix(token, eksTokenPrefix)
	if !ok {
		return "", formatErr("token is missing the " + eksTokenPrefix + " prefix")
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return "", formatErr("token is not unpadded base64url")
	}
	u, err := url.Parse(string(raw))
	if err != nil {
		return "", formatErr("token is not a URL")
	}
	if want, _ := url.Parse(s.url); u.Scheme != want.Scheme || u.Host != want.Host {
		return "", formatErr(fmt.Sprintf("unexpected host %q in the presigned URL", u.Host))
	}
	if u.Path != "/" {
		return "", formatErr("unexpected path in the presigned URL")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return "", formatErr("malformed query")
	}
	allowed := map[string]bool{"action": true, "version": true}
	for _, k := range append(requiredPresignParams, amzSecurityTokenParam) {
		allowed[strings.ToLower(k)] = true
	}
	signsCluster := false
	for k, vs := range q {
		if !allowed[strings.ToLower(k)] {
			return "", formatErr(fmt.Sprintf("query parameter %q is not allowed", k))
		}
		if len(vs) != 1 {
			return "", formatErr("query parameter with several values")
		}
		if strings.EqualFold(k, amzSignedHeadersParam) {
			for _, h := range strings.Split(vs[0], ";") {
				signsCluster = signsCluster || strings.EqualFold(h, clusterIDHeader)
			}
		}
	}
	if q.Get("Action") != "GetCallerIdentity" {
		return "", formatErr("the presigned URL is not GetCallerIdentity")
	}
	if !signsCluster {
		return "", formatErr("the presigned URL does not sign " + clusterIDHeader)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", formatErr(err.Error())
	}
	req.Header.Set(clusterIDHeader, cluster)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds the token
		}
		return "", fmt.Errorf("verify EKS token: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("verify EKS token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e xmlErrorResponse
		if err := xml.Unmarshal(body, &e); err != nil {
			return "", fmt.Errorf("verify EKS token: STS answered %d without an error document", resp.StatusCode)
		}
		return "", &EKSTokenError{Code: e.Error.Code, Message: e.Error.Message}
	}
	var out xmlGetCallerIdentityResponse
	if err := xml.Unmarshal(body, &out); err != nil {
		return "", fmt.Errorf("verify EKS token: %w", err)
	}
	return out.Result.Arn, nil
}
