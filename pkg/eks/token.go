// Package eks makes the bearer tokens Amazon EKS clusters accept from
// kubectl: a presigned STS GetCallerIdentity URL, signed by the SDK's own
// SigV4 presigner, that the cluster's authenticator sends to STS to learn
// who is calling. It renders them as the ExecCredential kubectl's exec
// plugin protocol expects, caches them like credentials (Get), and writes
// the kubeconfig user entry that runs `rolecall eks token`.
//
// # Token format
//
// As aws-iam-authenticator (pkg/token/token.go) and the AWS CLI
// (awscli/customizations/eks/get_token.py) make it:
//
//   - GET https://sts.REGION.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15
//     (the SDK's regional endpoint for the region in effect, or the STS
//     endpoint rolecall resolved), presigned with SigV4 in the query;
//   - the header x-k8s-aws-id: CLUSTER signed (X-Amz-SignedHeaders
//     host;x-k8s-aws-id), so a token for one cluster is refused by another;
//   - X-Amz-Expires=60, which STS ignores: a presigned GetCallerIdentity
//     URL is valid for 15 minutes after X-Amz-Date (the authenticator's
//     requestPresignParam comment, aws/aws-sdk-go#2167);
//   - token = "k8s-aws-v1." + unpadded base64url of the URL;
//   - expirationTimestamp = signing time + 14 minutes, a minute before the
//     URL stops working (get_token.py TOKEN_EXPIRATION_MINS = 14; the
//     authenticator's "1 minute before the presigned URL expires for some
//     cushion"), never later than the credentials that signed it.
//
// The token is a credential: whoever holds it is the signer to the cluster
// until it expires. Nothing here logs it.
package eks

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/rolecall/rolecall/pkg/creds"
)

const (
	// TokenPrefix starts every EKS token: the version of the format.
	TokenPrefix = "k8s-aws-v1." //nolint:gosec // the format's prefix, not a credential
	// ClusterIDHeader is the signed header that names the cluster.
	ClusterIDHeader = "x-k8s-aws-id"
	// PresignExpires is the X-Amz-Expires every client sends (seconds).
	// STS ignores it; authenticators up to 0.3.0 required 0 to 60.
	PresignExpires = 60
	// URLLifetime is how long STS accepts a presigned GetCallerIdentity
	// URL after its signing time.
	URLLifetime = 15 * time.Minute
	// TokenLifetime is the expirationTimestamp kubectl is given, counted
	// from the signing time: a minute short of URLLifetime.
	TokenLifetime = URLLifetime - time.Minute
)

// Token is a signed EKS token and when kubectl should stop using it.
type Token struct {
	Value      string
	Expiration time.Time
	// SignedAt is the signing time (X-Amz-Date).
	SignedAt time.Time
}

// String hides the token: it is a credential.
func (Token) String() string { return "<eks token>" }

// SignRequest is what a token is made of.
type SignRequest struct {
	// Cluster is the EKS cluster name (or a local cluster's ID).
	Cluster string
	// Region is the STS region; the SDK picks its regional endpoint.
	Region string
	// Endpoint, if set, is the STS endpoint URL instead.
	Endpoint string
	// Credentials sign the URL.
	Credentials creds.Credentials
	// Now is the signing time.
	Now time.Time
}

// Presign makes the token for r with the STS client's own presigner: the
// SDK resolves the endpoint as it does for rolecall's STS calls and signs
// with SigV4; a middleware adds the cluster header (signed) and
// X-Amz-Expires before signing. No request is sent.
func Presign(ctx context.Context, r SignRequest) (Token, error) {
	if err := ValidateCluster(r.Cluster); err != nil {
		return Token{}, err
	}
	c := r.Credentials
	client := sts.New(sts.Options{
		Region: r.Region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: "rolecall"}, nil
		}),
		BaseEndpoint: optional(r.Endpoint),
	})
	presigner := sts.NewPresignClient(client, func(o *sts.PresignOptions) {
		o.Presigner = signAt{signer: v4.NewSigner(), at: r.Now}
		o.ClientOptions = append(o.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
				return stack.Build.Add(clusterHeader(r.Cluster), middleware.After)
			})
		})
	})
	out, err := presigner.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Token{}, fmt.Errorf("sign an EKS token for %s: %w", r.Cluster, err)
	}
	if out.Method != http.MethodGet {
		return Token{}, fmt.Errorf("sign an EKS token for %s: the SDK presigned a %s request, not GET", r.Cluster, out.Method)
	}
	expires := r.Now.Add(TokenLifetime)
	if !c.Expiration.IsZero() && c.Expiration.Before(expires) {
		// STS refuses a URL signed by credentials that have expired.
		expires = c.Expiration
	}
	return Token{
		Value:      TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(out.URL)),
		Expiration: expires.UTC().Truncate(time.Second),
		SignedAt:   r.Now.UTC(),
	}, nil
}

// signAt is the SDK's SigV4 presigner with the signing time taken from the
// caller's clock instead of the SDK's.
type signAt struct {
	signer *v4.Signer
	at     time.Time
}

func (s signAt) PresignHTTP(ctx context.Context, credentials aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return s.signer.PresignHTTP(ctx, credentials, r, payloadHash, service, region, s.at, optFns...)
}

// clusterHeader adds the x-k8s-aws-id header and X-Amz-Expires to the
// request after it is serialised (as a GET) and before it is presigned.
func clusterHeader(cluster string) middleware.BuildMiddleware {
	return middleware.BuildMiddlewareFunc("RolecallEKSClusterHeader", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", in.Request)
		}
		req.Header.Set(ClusterIDHeader, cluster)
		q := req.URL.Query()
		q.Set("X-Amz-Expires", strconv.Itoa(PresignExpires))
		req.URL.RawQuery = q.Encode()
		return next.HandleBuild(ctx, in)
	})
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// clusterName is what EKS accepts as a cluster name (CreateCluster: 1 to
// 100 characters, "^[0-9A-Za-z][A-Za-z0-9\-_]*$").
// Compiled on first use: every rolecall start (a cache hit above all)
// links this package.
var clusterName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]*$`) })

// ClusterError is a cluster name EKS would refuse.
type ClusterError struct{ Name string }

func (e *ClusterError) Error() string {
	if e.Name == "" {
		return "no cluster name: pass --cluster"
	}
	return fmt.Sprintf("%q is not an EKS cluster name: 1 to 100 letters, digits, - and _, starting with a letter or digit", e.Name)
}

// ValidateCluster refuses a name EKS would refuse.
func ValidateCluster(name string) error {
	if len(name) == 0 || len(name) > 100 || !clusterName().MatchString(name) {
		return &ClusterError{Name: name}
	}
	return nil
}

// DecodeToken returns the presigned URL inside a token, for tests and
// verifiers.
func DecodeToken(token string) (*url.URL, error) {
	rest, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return nil, fmt.Errorf("not an EKS token: no %q prefix", TokenPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("not an EKS token: %w", err)
	}
	return url.Parse(string(raw))
}
