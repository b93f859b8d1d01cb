package stshttp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// IsCertificateError reports whether err comes from verifying a server's
// certificate: an unknown authority (a TLS-inspecting proxy whose CA is not
// trusted), a name the certificate does not cover, an expired or otherwise
// invalid certificate, or no roots to verify against.
func IsCertificateError(err error) bool {
	if err == nil {
		return false
	}
	var (
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		roots     x509.SystemRootsError
	)
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &invalid) ||
		errors.As(err, &hostname) || errors.As(err, &roots)
}

// IsErrorRetryable is a retry check for the SDK's standard retryer
// (retry.IsErrorRetryableFunc(IsErrorRetryable)): certificate errors and
// *BodyTooLargeError are not retryable, anything else is left to the
// other checks (aws.UnknownTernary).
//
// It has to come before the SDK's own checks: the retryer asks them in
// order and the first answer other than unknown decides. A failed TLS
// handshake reaches the retryer as a *smithyhttp.RequestSendError, whose
// ConnectionError() is true, so retry.RetryableConnectionError (in
// retry.DefaultRetryables) would retry it up to MaxAttempts times though
// every attempt fails the same way. An oversized body is a
// *smithy.DeserializationError, which no default check retries; saying so
// here keeps it that way whatever other checks the caller adds.
func IsErrorRetryable(err error) aws.Ternary {
	var tooLarge *BodyTooLargeError
	if errors.As(err, &tooLarge) || IsCertificateError(err) {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}

// NoRetry puts IsErrorRetryable at the front of o.Retryables, before the
// SDK's default checks: retry.NewStandard(stshttp.NoRetry, ...). Checks
// that a later option prepends run before it, so they must answer unknown
// for certificate and body-size errors (a check that only records the
// error, or only matches API error codes, does).
func NoRetry(o *retry.StandardOptions) {
	o.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(IsErrorRetryable)}, o.Retryables...)
}
