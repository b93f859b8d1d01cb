// Package ststest is a local emulator of AWS Security Token Service, used by
// tests the way net/http/httptest is used: NewServer starts it on loopback,
// URL gives the endpoint to hand to the AWS SDK, Calls shows what it received
// and Advance moves its clock so that credentials expire without sleeping.
//
// The emulator is held to real AWS STS, not to what rolecall happens to send:
// it speaks the AWS Query protocol (form-encoded POST, XML answers in STS's
// namespace), verifies SigV4 signatures with the SDK's own signer, and applies
// STS's limits and error codes to AssumeRole, AssumeRoleWithWebIdentity,
// GetSessionToken, GetFederationToken and GetCallerIdentity. Where STS's
// behaviour was looked up rather than obvious, the source is cited next to
// the code.
//
// On the same URL it serves the IAM Identity Center portal that SSO
// profiles use (GetRoleCredentials, ListAccounts, ListAccountRoles, Logout;
// sso.go), whose credentials STS accepts like its own; the IAM Identity
// Center OIDC service that signs people in (RegisterClient,
// StartDeviceAuthorization, CreateToken; ssooidc.go) with its browser pages
// and a test control standing in for the person (ssologin.go), whose
// access tokens the portal takes, as it takes those of IssueSSOToken; and
// the console federation endpoint (/federation,
// getSigninToken and login; federation.go) with a stand-in console
// (/console) that names who signed in.
//
// It has two clocks. The credential clock (Now, Advance) drives issue times,
// expirations, ExpiredToken and TOTP codes. Request signing times are checked
// against the wall clock plus a separately settable skew
// (SetRequestClockSkew), so a test that advances credentials by hours does
// not also trip SigV4's fifteen-minute window.
//
// Secrets (secret access keys, session tokens, web identity tokens, access
// and refresh tokens, client secrets, device and authorization codes,
// sign-in tokens) never appear in the call log, in error messages or in anything the emulator
// writes to a log.
package ststest
