package keys

// A small IAM client for the three calls `keys rotate` makes
// (ListAccessKeys, CreateAccessKey, DeleteAccessKey), speaking
// IAM's Query protocol itself: form-encoded POSTs of Action and Version
// 2010-05-08, signed with the SDK's SigV4 signer for service "iam" in
// us-east-1, answered in XML in IAM's namespace (IAM API reference, "Making
// Query requests" and each action's page; the shapes the emulator serves,
// pkg/ststest/iam.go).
//
// Why not the SDK's service/iam client: its package initialisation (the
// schemas of IAM's whole API) costs about 0.9 ms and 4,400 allocations in
// every rolecall process, a cache hit included, where this file costs
// nothing until a rotation runs (scripts/bench.sh's inittrace summary;
// issue 24's closing note). The SDK's IAM client is still the peer the
// tests check both the emulator and this client against.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/rolecall/rolecall/pkg/assume"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/stshttp"
)

const (
	iamVersion = "2010-05-08"
	// iamRegion is where IAM (a global service of the aws partition) is
	// signed.
	iamRegion          = "us-east-1"
	iamDefaultEndpoint = "https://iam.amazonaws.com"
	iamMaxAttempts     = 6
	maxIAMAnswerBytes  = 1 << 20
)

// IAMClient calls IAM as one IAM user.
type IAMClient struct {
	endpoint string
	creds    aws.Credentials
	http     aws.HTTPClient
	signer   *v4.Signer
}

// NewIAMClient is an IAM client for the environment's endpoint
// (AWS_ENDPOINT_URL_IAM, else AWS_ENDPOINT_URL) or IAM's own, with the same
// HTTP limits as STS's (proxies, AWS_CA_BUNDLE, a cap on answers).
func NewIAMClient(c creds.Credentials, env assume.Env) (*IAMClient, error) {
	endpoint := iamDefaultEndpoint
	if !strings.EqualFold(env.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		for _, name := range []string{"AWS_ENDPOINT_URL_IAM", "AWS_ENDPOINT_URL"} {
			if v := env.Getenv(name); v != "" {
				endpoint = v
				break
			}
		}
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, usage("set AWS_ENDPOINT_URL_IAM to a URL such as https://iam.amazonaws.com", "IAM endpoint %q is not an http(s) URL", endpoint)
	}
	httpClient := env.HTTPClient
	if httpClient == nil {
		hc, err := stshttp.NewClient(stshttp.Options{CABundle: env.Getenv("AWS_CA_BUNDLE"), Getenv: env.Getenv})
		if err != nil {
			return nil, err
		}
		httpClient = hc
	}
	return &IAMClient{
		endpoint: strings.TrimRight(endpoint, "/") + "/",
		creds:    aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken},
		http:     httpClient,
		signer:   v4.NewSigner(),
	}, nil
}

// AccessKeyMetadata is one of a user's keys as ListAccessKeys lists it.
type AccessKeyMetadata struct {
	UserName    string    `xml:"UserName"`
	AccessKeyID string    `xml:"AccessKeyId"`
	Status      string    `xml:"Status"`
	CreateDate  time.Time `xml:"CreateDate"`
}

// NewAccessKey is CreateAccessKey's answer.
type NewAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
}

// ListAccessKeys lists the caller's keys.
func (c *IAMClient) ListAccessKeys(ctx context.Context) ([]AccessKeyMetadata, error) {
	var out struct {
		Result struct {
			Members     []AccessKeyMetadata `xml:"AccessKeyMetadata>member"`
			IsTruncated bool                `xml:"IsTruncated"`
		} `xml:"ListAccessKeysResult"`
	}
	err := c.call(ctx, "ListAccessKeys", url.Values{}, &out)
	return out.Result.Members, err
}

// CreateAccessKey makes a key for the caller.
func (c *IAMClient) CreateAccessKey(ctx context.Context) (NewAccessKey, error) {
	var out struct {
		Result struct {
			AccessKey NewAccessKey `xml:"AccessKey"`
		} `xml:"CreateAccessKeyResult"`
	}
	err := c.call(ctx, "CreateAccessKey", url.Values{}, &out)
	return out.Result.AccessKey, err
}

// DeleteAccessKey deletes one of the caller's keys.
func (c *IAMClient) DeleteAccessKey(ctx context.Context, id string) error {
	return c.call(ctx, "DeleteAccessKey", url.Values{"AccessKeyId": {id}}, nil)
}

// iamErrorResponse is IAM's error document.
type iamErrorResponse struct {
	Error struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	} `xml:"Error"`
}

// call makes one Query-protocol call, retrying what a second try can fix
// (5xx, throttling, a dropped connection) with backoff, within ctx.
func (c *IAMClient) call(ctx context.Context, action string, params url.Values, out any) error {
	params.Set("Action", action)
	params.Set("Version", iamVersion)
	body := params.Encode()
	sum := sha256.Sum256([]byte(body))
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := c.once(ctx, body, hex.EncodeToString(sum[:]), out)
		if err == nil || attempt == iamMaxAttempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last answer: %w)", context.Cause(ctx), err)
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (c *IAMClient) once(ctx context.Context, body, payloadHash string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := c.signer.SignHTTP(ctx, c.creds, req, payloadHash, "iam", iamRegion, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxIAMAnswerBytes+1))
	if err != nil {
		return err
	}
	if len(data) > maxIAMAnswerBytes {
		return fmt.Errorf("IAM's answer is larger than %d bytes", maxIAMAnswerBytes)
	}
	if resp.StatusCode != http.StatusOK {
		var e iamErrorResponse
		if xml.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return &httpStatusError{status: resp.StatusCode}
		}
		fault := smithy.FaultClient
		if resp.StatusCode >= 500 {
			fault = smithy.FaultServer
		}
		return &smithy.GenericAPIError{Code: e.Error.Code, Message: e.Error.Message, Fault: fault}
	}
	if out == nil {
		return nil
	}
	if err := xml.NewDecoder(bytes.NewReader(data)).Decode(out); err != nil {
		return fmt.Errorf("IAM's answer is no IAM XML: %w", err)
	}
	return nil
}

// httpStatusError is an error status without IAM's error document.
type httpStatusError struct{ status int }

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("HTTP %d without an IAM error", e.status)
}

func retryable(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceFailure", "ServiceUnavailable", "InternalFailure":
			return true
		}
		return false
	}
	var se *httpStatusError
	if errors.As(err, &se) {
		return se.status >= 500 || se.status == http.StatusTooManyRequests
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}
