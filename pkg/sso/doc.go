// Package sso is rolecall's IAM Identity Center client. It signs a person
// in with the OAuth flows Identity Center offers command-line tools (the
// authorization code grant with PKCE on a loopback redirect, as the AWS CLI
// v2 does by default, or the device authorization grant), keeps the token
// and the client registration in ~/.aws/sso/cache exactly as the AWS CLI v2
// keeps them, refreshes the token with its refresh token before it runs
// out, and asks the portal for role credentials, accounts and roles.
//
// # The cache files (a contract shared with the AWS CLI and the SDKs)
//
// Both live in ~/.aws/sso/cache, are JSON objects with times written as
// 2006-01-02T15:04:05Z, and are named by a hex SHA-1:
//
//   - the token: SHA1(the sso-session name, or the sso_start_url of a
//     legacy profile).json, holding startUrl, region, accessToken,
//     expiresAt and, for a login that can be refreshed, clientId,
//     clientSecret, registrationExpiresAt and refreshToken (botocore's
//     SSOTokenLoader and SSOTokenFetcher, aws-sdk-go-v2's
//     ssocreds.StandardCachedTokenFilepath);
//   - the client registration: SHA1 of Python's json.dumps({"tool":
//     "botocore", "startUrl", "region", "scopes", "session_name"},
//     sort_keys=True), holding clientId, clientSecret, expiresAt, scopes
//     and grantTypes (the AWS CLI v2's BaseSSOTokenFetcher
//     _registration_cache_key, awscli/botocore/utils.py).
//
// So `aws sso login` and `rolecall login` reuse each other's token and
// client registration, and every SDK reads the token rolecall wrote. Fields
// rolecall does not know are kept when it rewrites a file. rolecall writes
// each file with mode 0600, atomically (safefile.Replace: a temporary file
// in the same directory, synced, renamed over the file, the directory
// synced), holding an exclusive lock on FILE.lock (safefile.Acquire), so
// that of many processes refreshing one token only the first calls
// CreateToken and the others read its result.
//
// The package never writes to stdout or stderr and takes the home
// directory, environment, clock and HTTP client from its caller (Env).
package sso
