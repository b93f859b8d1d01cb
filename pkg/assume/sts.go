package assume

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/rolecall/rolecall/pkg/awsconfig"
	"github.com/rolecall/rolecall/pkg/creds"
	"github.com/rolecall/rolecall/pkg/stshttp"
)

// maxAttempts bounds the SDK's retries of throttling, 5xx and network
// errors; the caller's context deadline (--timeout) bounds their time.
const maxAttempts = 6

// STS makes the STS calls of a plan through aws-sdk-go-v2.
type STS struct {
	// Env gives the HTTP client, and what loading a source needs.
	Env Env
}

func (s *STS) trace(format string, args ...any) { s.Env.trace(format, args...) }

// retryer retries what the SDK deems retryable (throttling, 5xx, dropped
// connections) with exponential backoff and jitter. The client-side retry
// quota is off: one rolecall process makes a handful of calls, and a quota
// would turn a throttling burst into a failure instead of a wait.
//
// A call that carries an MFA code is not retried on a truncated answer: STS
// may have used the code already and would refuse it the second time.
func retryer(last *error, withMFACode bool) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = maxAttempts
		o.MaxBackoff = 5 * time.Second
		o.RateLimiter = ratelimit.None
		extra := []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(stshttp.IsErrorRetryable), retry.IsErrorRetryableFunc(localNotRetryable), retry.IsErrorRetryableFunc(webIdentityRetryable)}
		if !withMFACode {
			extra = append(extra, retry.IsErrorRetryableFunc(truncatedRetryable))
		}
		o.Retryables = append(extra, o.Retryables...)
		if last != nil {
			o.Retryables = append([]retry.IsErrorRetryable{recordLast(last)}, o.Retryables...)
		}
	})
}

// localNotRetryable stops retries of what no second try changes: the HTTP
// client could not be built (a CA bundle that is no file).
func localNotRetryable(err error) aws.Ternary {
	var ce *ConfigError
	if errors.As(err, &ce) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// truncatedRetryable retries an answer whose body ended early: the SDK
// counts it as a deserialization error and gives up, where botocore
// retries; STS calls without an MFA code are safe to repeat.
func truncatedRetryable(err error) aws.Ternary {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// recordLast remembers each answer STS gave (an API error) and decides
// nothing, so that a call cut short by --timeout can say what STS last
// answered (Throttling, say) instead of only "context deadline exceeded".
// Only answers: whether the deadline falls in a backoff or in the next
// attempt, which is a matter of timing, must not change the message.
func recordLast(last *error) retry.IsErrorRetryableFunc {
	return func(err error) aws.Ternary {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			*last = err
		}
		return aws.UnknownTernary
	}
}

// webIdentityRetryable adds the AssumeRoleWithWebIdentity errors that a
// second try can fix, as the API reference describes them: the provider's
// keys could not be fetched (IDPCommunicationError), or the token is not yet
// valid because the issuer's clock runs ahead (InvalidIdentityToken about
// iat/nbf). AccessDenied and IDPRejectedClaim never are: the trust policy
// will say the same thing again.
func webIdentityRetryable(err error) aws.Ternary {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return aws.UnknownTernary
	}
	switch apiErr.ErrorCode() {
	case "IDPCommunicationError":
		return aws.TrueTernary
	case "InvalidIdentityToken":
		msg := strings.ToLower(apiErr.ErrorMessage())
		if strings.Contains(msg, "not yet valid") || strings.Contains(msg, "future") || strings.Contains(msg, "nbf") || strings.Contains(msg, "iat") {
			return aws.TrueTernary
		}
		return aws.FalseTernary
	case "AccessDenied", "IDPRejectedClaim", "ExpiredTokenException":
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// Conn is an STS client for one call, and the error its last attempt ended
// with (see recordLast).
type Conn struct {
	*sts.Client
	last     error
	endpoint string        // for messages
	skew     time.Duration // STS's clock minus this machine's, from the last answer
}

// client returns an STS client signed with the credentials hop i starts
// from: the plan's source for the first hop, base for the others.
func (s *STS) client(p Plan, i int, base creds.Credentials, withMFACode bool) (*Conn, error) {
	var provider aws.CredentialsProvider
	if i > 0 {
		provider = credentials.NewStaticCredentialsProvider(base.AccessKeyID, base.SecretAccessKey, base.SessionToken)
	} else {
		var err error
		if provider, err = sourceProvider(p, s.Env); err != nil {
			return nil, err
		}
	}
	c := &Conn{endpoint: firstNonEmpty(p.Endpoint, "STS in "+p.Region)}
	c.Client = sts.New(sts.Options{
		Region:       p.Region,
		Credentials:  provider,
		BaseEndpoint: optional(p.Endpoint),
		HTTPClient:   s.Env.HTTPClient,
		Retryer:      retryer(&c.last, withMFACode),
	})
	return c, nil
}

func (s *STS) assumeRole(ctx context.Context, client *Conn, h Hop, code string) (creds.Credentials, error) {
	in := &sts.AssumeRoleInput{
		RoleArn:           aws.String(h.RoleARN),
		RoleSessionName:   aws.String(h.SessionName),
		DurationSeconds:   durationSeconds(h.Duration),
		ExternalId:        optional(h.ExternalID),
		Policy:            optional(h.Policy),
		SourceIdentity:    optional(h.SourceIdentity),
		TransitiveTagKeys: h.TransitiveTagKeys,
	}
	if h.MFASerial != "" {
		in.SerialNumber, in.TokenCode = aws.String(h.MFASerial), aws.String(code)
	}
	for _, a := range h.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	for _, t := range h.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	start := time.Now()
	out, err := client.AssumeRole(ctx, in)
	if err != nil {
		return creds.Credentials{}, client.fail("AssumeRole", h.RoleARN, err)
	}
	c, err := s.issued(client, "AssumeRole", h.RoleARN, start, out.ResultMetadata, out.Credentials)
	if out.AssumedRoleUser != nil {
		c.AssumedRoleARN = aws.ToString(out.AssumedRoleUser.Arn)
	}
	// STS implementations that leave AssumedRoleUser out (MinIO) still
	// name a role for messages.
	c.AssumedRoleARN = firstNonEmpty(c.AssumedRoleARN, h.RoleARN)
	return c, err
}

func (s *STS) getSessionToken(ctx context.Context, client *Conn, h Hop, code string) (creds.Credentials, error) {
	in := &sts.GetSessionTokenInput{DurationSeconds: durationSeconds(h.Duration)}
	if h.MFASerial != "" {
		in.SerialNumber, in.TokenCode = aws.String(h.MFASerial), aws.String(code)
	}
	start := time.Now()
	out, err := client.GetSessionToken(ctx, in)
	if err != nil {
		return creds.Credentials{}, client.fail("GetSessionToken", h.MFASerial, err)
	}
	return s.issued(client, "GetSessionToken", h.MFASerial, start, out.ResultMetadata, out.Credentials)
}

func (s *STS) assumeRoleWithWebIdentity(ctx context.Context, client *Conn, h Hop, token string) (creds.Credentials, error) {
	in := &sts.AssumeRoleWithWebIdentityInput{
		RoleArn:          aws.String(h.RoleARN),
		RoleSessionName:  aws.String(h.SessionName),
		WebIdentityToken: aws.String(token),
		DurationSeconds:  durationSeconds(h.Duration),
		Policy:           optional(h.Policy),
	}
	for _, a := range h.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	start := time.Now()
	out, err := client.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return creds.Credentials{}, client.fail("AssumeRoleWithWebIdentity", h.RoleARN, err)
	}
	c, err := s.issued(client, "AssumeRoleWithWebIdentity", h.RoleARN, start, out.ResultMetadata, out.Credentials)
	if out.AssumedRoleUser != nil {
		c.AssumedRoleARN = aws.ToString(out.AssumedRoleUser.Arn)
	}
	c.AssumedRoleARN = firstNonEmpty(c.AssumedRoleARN, h.RoleARN)
	return c, err
}

// getFederationToken makes a federated user's session from an IAM user's
// long-term keys. Without a Name it asks GetCallerIdentity first and names
// the federated user after the IAM user, so the console and CloudTrail show
// who it is (aws-vault does the same, vault/vault.go and
// vault/federationtokenprovider.go); the cache key needs no name then, as
// the source's access key fixes the user.
func (s *STS) getFederationToken(ctx context.Context, client *Conn, h Hop) (creds.Credentials, error) {
	name := h.SessionName
	if name == "" {
		id, err := s.CallerIdentity(ctx, client)
		if err != nil {
			return creds.Credentials{}, err
		}
		name = FederatedUserNameFor(id.ARN)
		s.trace("federated user name %s, after %s", name, id.ARN)
	}
	in := &sts.GetFederationTokenInput{
		Name:            aws.String(name),
		DurationSeconds: durationSeconds(h.Duration),
		Policy:          optional(h.Policy),
	}
	for _, a := range h.PolicyARNs {
		in.PolicyArns = append(in.PolicyArns, types.PolicyDescriptorType{Arn: aws.String(a)})
	}
	for _, t := range h.Tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
	}
	start := time.Now()
	out, err := client.GetFederationToken(ctx, in)
	if err != nil {
		return creds.Credentials{}, client.fail("GetFederationToken", name, err)
	}
	c, err := s.issued(client, "GetFederationToken", name, start, out.ResultMetadata, out.Credentials)
	if err != nil {
		return creds.Credentials{}, err
	}
	if out.FederatedUser != nil {
		c.AssumedRoleARN = aws.ToString(out.FederatedUser.Arn)
	}
	return c, nil
}

// Identity is what GetCallerIdentity says.
type Identity struct {
	Account string `json:"Account"`
	ARN     string `json:"Arn"`
	UserID  string `json:"UserId"`
}

// CallerIdentity calls GetCallerIdentity with client.
func (s *STS) CallerIdentity(ctx context.Context, client *Conn) (Identity, error) {
	start := time.Now()
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, client.fail("GetCallerIdentity", "", err)
	}
	s.traceCall("GetCallerIdentity", start, out.ResultMetadata)
	return Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}, nil
}

// issued turns an STS answer into credentials, refusing what cannot be
// used (judged by STS's own clock, from the Date header, where known).
func (s *STS) issued(client *Conn, action, target string, start time.Time, md middleware.Metadata, out *types.Credentials) (creds.Credentials, error) {
	s.traceCall(action, start, md)
	c := fromSTS(out)
	now := s.Env.now()
	serverNow, known := awsmiddleware.GetServerTime(md)
	if known {
		now = serverNow
	}
	if err := c.CheckTemporary(now); err != nil {
		return creds.Credentials{}, &CallError{Action: action, Target: target, Endpoint: client.endpoint, Err: &UnusableAnswerError{Err: err}}
	}
	if respondedAt, ok := awsmiddleware.GetResponseAt(md); ok && known {
		skew := serverNow.Sub(respondedAt)
		if skew > maxAnswerSkew || skew < -maxAnswerSkew {
			return creds.Credentials{}, &CallError{Action: action, Target: target, Endpoint: client.endpoint, Err: &UnusableAnswerError{
				Err:  fmt.Errorf("a Date (%s) more than a day from this machine's clock (%s)", serverNow.UTC().Format(time.RFC3339), respondedAt.UTC().Format(time.RFC3339)),
				Hint: "set this machine's clock (timedatectl, or ntpdate), or check that the endpoint is STS",
			}}
		}
		// The Date header has whole seconds; a skew under a minute is noise.
		if skew > time.Minute || skew < -time.Minute {
			// Time the credentials by this machine's clock, so that the
			// cache and every consumer (whose SDK judges by this clock too)
			// refresh them when STS's clock says so.
			client.skew = skew
			c.Expiration = c.Expiration.Add(-skew)
		}
	}
	return c, nil
}

// unreadableAnswer is an UnusableAnswerError for a 2xx answer the SDK
// could not read (an empty <Expiration>, a control character XML forbids):
// what no STS sends, reported as one line rather than the SDK's parse
// errors. Nil for any other error.
func unreadableAnswer(err error) error {
	var re *awshttp.ResponseError
	var apiErr smithy.APIError
	if !errors.As(err, &re) || re.HTTPStatusCode()/100 != 2 || errors.As(err, &apiErr) || re.Err == nil ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil // a body cut short is the network's doing (retried)
	}
	msg := re.Err.Error()
	// smithy-go lists every layout it tried after the first line.
	if i := strings.Index(msg, ", parse errors:"); i >= 0 {
		msg = msg[:i]
	}
	return &UnusableAnswerError{Err: errors.New("nothing readable: " + msg)}
}

// UnusableAnswerError is an STS answer that parsed but holds no usable
// credentials, or could not be read at all.
type UnusableAnswerError struct {
	Err error
	// Hint says what to do where the answer points at something local
	// (the clock); empty for the usual advice.
	Hint string
}

// maxAnswerSkew is how far an answer's Date may be from this machine's
// clock: further than a day, either the clock is not set or the answer
// is no STS answer, and credentials timed by it would be served long
// expired or never refreshed.
const maxAnswerSkew = 24 * time.Hour

func (e *UnusableAnswerError) Error() string { return "the answer holds " + e.Err.Error() }
func (e *UnusableAnswerError) Unwrap() error { return e.Err }

func (s *STS) traceCall(action string, start time.Time, md middleware.Metadata) {
	id, _ := awsmiddleware.GetRequestIDMetadata(md)
	s.trace("sts %s took %s (request id %s)", action, time.Since(start).Round(time.Millisecond), id)
}

func fromSTS(c *types.Credentials) creds.Credentials {
	if c == nil {
		return creds.Credentials{}
	}
	return creds.Credentials{
		AccessKeyID:     aws.ToString(c.AccessKeyId),
		SecretAccessKey: aws.ToString(c.SecretAccessKey),
		SessionToken:    aws.ToString(c.SessionToken),
		Expiration:      aws.ToTime(c.Expiration).UTC(),
	}
}

func durationSeconds(d time.Duration) *int32 {
	if d == 0 {
		return nil
	}
	return aws.Int32(int32(d / time.Second)) //nolint:gosec // validated: at most 36h, far below 2^31 seconds
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// CallError is a failed STS call: which action, on what (a role ARN or an
// MFA device), and the SDK's error.
type CallError struct {
	Action string
	Target string
	// Endpoint names where the call went, for answers that are no STS
	// answer.
	Endpoint string
	Err      error
	// LastAnswer is what STS said on the last attempt when the call ran out
	// of time between retries (Throttling, InternalFailure), else nil.
	LastAnswer error
	// BaseFromEnvironment says the call was signed with the keys in the
	// environment (AWS_ACCESS_KEY_ID…): an ExpiredToken then means those
	// variables are stale, which no cache clear or new sign-in mends.
	BaseFromEnvironment bool
}

// fail wraps a call's error, naming STS's last answer if time ran out
// while the SDK was backing off from it.
func (c *Conn) fail(action, target string, err error) *CallError {
	e := &CallError{Action: action, Target: target, Endpoint: c.endpoint, Err: err}
	if unreadable := unreadableAnswer(err); unreadable != nil {
		e.Err = unreadable
		return e
	}
	var apiErr smithy.APIError
	if errors.Is(err, context.DeadlineExceeded) && errors.As(c.last, &apiErr) {
		e.LastAnswer = c.last
	}
	return e
}

func (e *CallError) Error() string {
	if e.Target == "" {
		return e.Action + ": " + e.Err.Error()
	}
	return e.Action + " " + e.Target + ": " + e.Err.Error()
}

func (e *CallError) Unwrap() error { return e.Err }

// WhoAmI asks GetCallerIdentity with the credentials req resolves to: the
// role it names last, through the cache, or the base credentials when it
// names none.
func WhoAmI(ctx context.Context, req Request, env Env) (Identity, error) {
	req.SourceOnly = true
	plan, env, err := prepare(ctx, req, env)
	if err != nil {
		return Identity{}, err
	}
	res, err := obtainPlan(ctx, req, plan, env)
	if err != nil {
		return Identity{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	s := &STS{Env: env}
	p := res.Plan
	p.Source, p.Hops = staticSource(awsconfig.SourceStatic, p.Target(), &res.Credentials), nil
	client, err := s.client(p, 0, creds.Credentials{}, false)
	if err != nil {
		return Identity{}, err
	}
	return s.CallerIdentity(ctx, client)
}
