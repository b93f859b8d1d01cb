// Package server is rolecall's local credential endpoint: the container
// credentials protocol every AWS SDK speaks, served from rolecall's cache so
// that a long-running program refreshes its credentials by itself, with no
// rolecall process per refresh.
//
// # Protocol
//
// An SDK whose environment has AWS_CONTAINER_CREDENTIALS_FULL_URI sends
// GET to that URI with the Authorization header set to
// AWS_CONTAINER_AUTHORIZATION_TOKEN, or to the content of the file
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE names, which it reads again at
// every fetch (aws-sdk-go-v2 config/resolve_credentials.go,
// resolveHTTPCredProvider; botocore credentials.py,
// ContainerProvider._build_headers; the JavaScript SDK's
// credential-provider-http fromHttp.ts: "specification requires a file read
// on each request"). None of them trims the file, and each refuses a token
// with a line break, so the token file has no trailing newline.
//
// The answer is JSON: AccessKeyId, SecretAccessKey, Token and Expiration,
// which must be RFC 3339 in UTC with a Z (the JavaScript SDK's
// parseRfc3339DateTime accepts no offset), plus AccountId, which the Go SDK
// and botocore read. An error is JSON too, {"Code": …, "Message": …}, with
// Content-Type exactly application/json: aws-sdk-go-v2 decodes an error body
// only then (endpointcreds/internal/client/middleware.go, deserializeError),
// the JavaScript SDK takes Code and Message from a 4xx answer
// (requestHelpers.ts), and botocore shows the body whole
// (utils.py, ContainerMetadataFetcher._get_response).
//
// The SDKs fetch again shortly before Expiration: aws-sdk-go-v2 5 minutes
// before (config.resolveHTTPCredProvider sets the credentials cache's
// ExpiryWindow), the JavaScript SDK's default chain 5 minutes before
// (credential-provider-node, credentialsTreatedAsExpired), botocore 15
// minutes before, and it fails if what it gets has 10 minutes or less left
// (RefreshableCredentials' advisory and mandatory refresh timeouts). So the
// endpoint hands out only credentials with more than the refresh window
// left (15 minutes by default, rolecall's cache window), and refreshes them
// in the background a little before that, so that a client never waits on
// STS when it need not.
//
// The SDKs give an endpoint little time: botocore 2 seconds an attempt
// (three attempts), the JavaScript SDK 1 second. A request that finds no
// fresh credentials waits at most Options.MaxWait for the fetch it starts
// (or joins) and is then answered 503 with what rolecall is waiting for;
// the fetch goes on, and the client's retry finds its result.
//
// # Security model
//
//   - It listens where the caller says; rolecall binds loopback unless told
//     otherwise. Plain HTTP is what the SDKs accept, and only for loopback
//     and the ECS and EKS link-local addresses.
//   - Every request needs the token, a random 256-bit value per run,
//     compared in constant time (crypto/subtle). A missing token is
//     answered 401, a wrong one 403, and both are reported on stderr
//     (rate-limited).
//   - A request whose Host header is not the address it was sent to (an IP
//     address with the endpoint's port, or localhost on loopback) is
//     refused: a web page that rebinds a DNS name to 127.0.0.1 sends its
//     own name (DNS rebinding). No CORS header is ever sent, so a browser
//     does not let a page read an answer.
//   - Only GET, only on "/" and on /role-arn/ARN for the ARNs the caller
//     allows (never an arbitrary ARN); no request body; headers at most
//     8 KiB; requests per second bounded; connections bounded, and closed
//     after each answer (a client fetches about once an hour).
//   - Secrets never reach a log: a request line names the route, the role
//     and the remaining lifetime, never a key, a session token or the
//     endpoint's token.
//
// aws-vault's ECS server (99designs/aws-vault server/ecsserver.go) is the
// model of the routes; it compares the token with != and assumes any ARN
// a client names at /role-arn/, which this server does not.
package server
