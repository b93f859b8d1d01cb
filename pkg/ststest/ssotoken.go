package ststest

import (
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // the AWS CLI names its token cache files by SHA-1
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"time"
)

// Identity Center access tokens.
//
// The portal takes an access token in the x-amz-sso_bearer_token header; in
// real life the SSO OIDC service issues it (CreateToken, after
// RegisterClient and StartDeviceAuthorization or an authorization code) and
// the AWS CLI keeps it in ~/.aws/sso/cache. The emulator keeps every token
// it accepts in one store, Server.ssoTokens, whatever minted it:
//
//   - a user's configured access_token, valid from the start, until Logout;
//   - IssueSSOToken and POST /_ststest/sso-token, for tests and scripts;
//   - the SSO OIDC service (ssooidc.go), which links each token to its
//     sign-in (ssoLogin) and keeps refresh tokens and registered clients
//     beside.
//
// A token names its user and expires on the credential clock, so Advance
// expires it; Logout revokes it.

// defaultSSOTokenTTL is how long IAM Identity Center's sessions last by
// default: 8 hours ("Configure the duration of the AWS access portal and
// IAM Identity Center integrated application sessions", IAM Identity Center
// User Guide).
const defaultSSOTokenTTL = 8 * time.Hour

// ssoToken is an access token the portal accepts.
type ssoToken struct {
	user      *ssoUser
	expiresAt time.Time // zero for a configured token, which does not expire
	revoked   bool
	// login is the OIDC sign-in that minted the token, nil for the other
	// kinds; Logout ends the whole sign-in.
	login *ssoLogin
}

// IssueSSOToken returns a new portal access token of the Identity Center
// user, valid for ttl on the credential clock: what a test puts in an AWS
// CLI token cache file or passes to the sso client, instead of going
// through an OIDC login. It panics if the configuration has no such user or
// ttl is not positive, a programming error in the test.
func (s *Server) IssueSSOToken(user string, ttl time.Duration) string {
	if ttl <= 0 {
		panic("ststest: IssueSSOToken: ttl must be positive")
	}
	u := s.sso.user(user)
	if u == nil {
		panic("ststest: IssueSSOToken: no Identity Center user " + user)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	token, _ := s.issueSSOTokenLocked(u, s.nowLocked(), ttl)
	return token
}

// issueSSOTokenLocked mints and stores an access token of u expiring ttl
// after now.
func (s *Server) issueSSOTokenLocked(u *ssoUser, now time.Time, ttl time.Duration) (string, time.Time) {
	var b [96]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ststest: read random bytes: " + err.Error())
	}
	// Real access tokens are opaque strings beginning "aoa".
	token := "aoa" + base64.RawURLEncoding.EncodeToString(b[:])
	expires := now.Add(ttl).Truncate(time.Second)
	s.ssoTokens[token] = &ssoToken{user: u, expiresAt: expires}
	return token, expires
}

// ssoCallerLocked returns the user whose unexpired, unrevoked access token
// the request carries. Every failure is the same 401 UnauthorizedException,
// as the portal gives for a token it does not know, one that expired or one
// that was logged out.
func (s *Server) ssoCallerLocked(r *http.Request, now time.Time) (*ssoUser, *apiError) {
	token := r.Header.Get("X-Amz-Sso_bearer_token")
	if token == "" {
		return nil, errSSOUnauthorized
	}
	found := s.ssoTokens[token]
	if found == nil || found.revoked || (found.login != nil && found.login.revoked) ||
		(!found.expiresAt.IsZero() && !now.Before(found.expiresAt)) {
		return nil, errSSOUnauthorized
	}
	return found.user, nil
}

// revokeSSOTokenLocked ends a token, as Logout does.
func (s *Server) revokeSSOTokenLocked(r *http.Request) {
	if t, ok := s.ssoTokens[r.Header.Get("X-Amz-Sso_bearer_token")]; ok {
		t.revoked = true
		if t.login != nil {
			t.login.revoked = true
		}
	}
}

// SSOTokenCacheEntry is an AWS CLI v2 SSO token cache file
// (~/.aws/sso/cache/SHA1.json, where SHA1 is the hex SHA-1 of the profile's
// sso_session name, or of its sso_start_url for a legacy profile: botocore's
// SSOTokenLoader). The SDKs read accessToken and expiresAt (RFC 3339);
// a token from the SSO OIDC flow also carries clientId, clientSecret,
// refreshToken and registrationExpiresAt, which refreshing needs.
type SSOTokenCacheEntry struct {
	StartURL    string `json:"startUrl"`
	Region      string `json:"region"`
	AccessToken string `json:"accessToken"`
	ExpiresAt   string `json:"expiresAt"`
}

// SSOTokenCacheEntry returns the cache file contents for a token the server
// issued: what `aws sso login` would have written. ok is false for a token
// it does not know.
func (s *Server) SSOTokenCacheEntry(token string) (entry SSOTokenCacheEntry, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.ssoTokens[token]
	if t == nil || s.sso == nil {
		return SSOTokenCacheEntry{}, false
	}
	expires := t.expiresAt
	if expires.IsZero() {
		// A configured token does not expire; the file needs a time.
		expires = s.nowLocked().Add(defaultSSOTokenTTL).Truncate(time.Second)
	}
	return SSOTokenCacheEntry{
		StartURL:    s.sso.cfg.StartURL,
		Region:      s.sso.cfg.Region,
		AccessToken: token,
		ExpiresAt:   expires.UTC().Format(time.RFC3339),
	}, true
}

// SSOTokenCacheFile is the name of the AWS CLI v2 token cache file under
// ~/.aws/sso/cache for key: the profile's sso_session name, or its
// sso_start_url for a legacy profile. It is the hex SHA-1 of the key and
// ".json" (botocore's SSOTokenLoader; aws-sdk-go-v2's
// ssocreds.StandardCachedTokenFilepath).
func SSOTokenCacheFile(key string) string {
	sum := sha1.Sum([]byte(key)) //nolint:gosec // the AWS CLI's file naming, not a security use
	return hex.EncodeToString(sum[:]) + ".json"
}
