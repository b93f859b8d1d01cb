package sso

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"
)

// RefreshWindow is how long before its expiry a token is refreshed, as
// botocore's SSOTokenProvider does (_REFRESH_WINDOW = 15 * 60). The Go
// SDK's ssocreds.SSOTokenProvider waits until the token has expired; the
// earlier refresh leaves role credentials fetched with it a useful life.
const RefreshWindow = 15 * time.Minute

// expiryWindow is how much life a cached token or registration must have
// left for the AWS CLI's login to reuse it (BaseSSOTokenFetcher
// _EXPIRY_WINDOW = 15 * 60).
const expiryWindow = 15 * time.Minute

// Identity names the login a token belongs to without holding the token:
// the hex SHA-256 of the access token. A new login, another user's or a
// refreshed token, is another identity; the credential cache keys role
// credentials by it.
func (t Token) Identity() string {
	sum := sha256.Sum256([]byte(t.AccessToken))
	return hex.EncodeToString(sum[:])
}

// Expired reports whether the token has run out at now.
func (t Token) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// refreshable reports whether the token can be refreshed at now: it has a
// refresh token and a client registration that has not expired (botocore's
// SSOTokenProvider._refresh_access_token).
func (t Token) refreshable(now time.Time) bool {
	return t.RefreshToken != "" && t.ClientID != "" && t.ClientSecret != "" &&
		(t.RegistrationExpiresAt.IsZero() || now.Before(t.RegistrationExpiresAt))
}

// LoadToken reads the session's token file as it is, expired or not.
// Without one (never signed in, signed out) it is a *LoginRequiredError.
func LoadToken(home string, s Session) (Token, error) {
	t, err := ReadToken(TokenPath(home, s))
	if isNotExist(err) {
		return Token{}, &LoginRequiredError{Session: s, Reason: "not signed in"}
	}
	if err != nil {
		return Token{}, &LoginRequiredError{Session: s, Reason: "the cached token cannot be read", Err: err}
	}
	return t, nil
}

// Fresh returns the session's token with more than RefreshWindow left
// where it can: a token about to expire is refreshed first. A token that
// cannot be refreshed is returned while it is valid; one that has expired
// is a *LoginRequiredError.
func (c *Client) Fresh(ctx context.Context, s Session) (Token, error) {
	t, err := LoadToken(c.Env.HomeDir, s)
	if err != nil {
		return Token{}, err
	}
	return c.Freshen(ctx, s, t)
}

// Freshen is Fresh for a token already read.
func (c *Client) Freshen(ctx context.Context, s Session, t Token) (Token, error) {
	now := c.Env.now()
	if t.ExpiresAt.Sub(now) > RefreshWindow {
		return t, nil
	}
	if !t.refreshable(now) {
		if t.Expired(now) {
			return Token{}, &LoginRequiredError{Session: s, Reason: "the sign-in expired at " + formatTime(t.ExpiresAt)}
		}
		return t, nil
	}
	fresh, err := c.refresh(ctx, s, t)
	if err == nil {
		return fresh, nil
	}
	var lr *LoginRequiredError
	if !t.Expired(now) && errors.As(err, &lr) {
		c.Env.trace("%s: refresh failed (%v); the token is valid until %s", s, err, formatTime(t.ExpiresAt))
		return t, nil
	}
	return Token{}, err
}

// refresh gets a new access token with the refresh token, under the token
// file's lock. Of many processes refreshing at once, the first calls
// CreateToken; the others find its token in the file when they get the
// lock, and use it.
func (c *Client) refresh(ctx context.Context, s Session, old Token) (Token, error) {
	path := TokenPath(c.Env.HomeDir, s)
	var out Token
	err := withFileLock(ctx, path, func() error {
		cur, err := ReadToken(path)
		if isNotExist(err) {
			return &LoginRequiredError{Session: s, Reason: "signed out"}
		}
		if err != nil {
			return &LoginRequiredError{Session: s, Reason: "the cached token cannot be read", Err: err}
		}
		now := c.Env.now()
		if cur.AccessToken != old.AccessToken && cur.ExpiresAt.Sub(now) > RefreshWindow {
			c.Env.trace("%s: another process refreshed the token", s)
			out = cur
			return nil
		}
		if !cur.refreshable(now) {
			return &LoginRequiredError{Session: s, Reason: "the token cannot be refreshed"}
		}
		c.Env.trace("%s: refreshing the token (expires %s)", s, formatTime(cur.ExpiresAt))
		res, err := c.oidc(s.Region).CreateToken(ctx, &ssooidc.CreateTokenInput{
			ClientId:     aws.String(cur.ClientID),
			ClientSecret: aws.String(cur.ClientSecret),
			GrantType:    aws.String(grantRefreshToken),
			RefreshToken: aws.String(cur.RefreshToken),
		})
		if err != nil {
			return refreshError(s, err)
		}
		cur.AccessToken = aws.ToString(res.AccessToken)
		cur.ExpiresAt = now.Add(time.Duration(res.ExpiresIn) * time.Second)
		if rt := aws.ToString(res.RefreshToken); rt != "" {
			cur.RefreshToken = rt
		}
		if cur.AccessToken == "" {
			return &CallError{Service: "sso-oidc", Action: "CreateToken", Err: errors.New("the answer holds no access token")}
		}
		out = cur
		return writeFileAtomic(path, cur.encode())
	})
	return out, err
}

// refreshError: the refresh token or the client registration no longer
// works (expired, revoked by a sign-out, rotated away), so a person must
// sign in again; anything else is the call failing.
func refreshError(s Session, err error) error {
	var grant *oidctypes.InvalidGrantException
	var expired *oidctypes.ExpiredTokenException
	var client *oidctypes.InvalidClientException
	var unauthorized *oidctypes.UnauthorizedClientException
	var denied *oidctypes.AccessDeniedException
	if errors.As(err, &grant) || errors.As(err, &expired) || errors.As(err, &client) || errors.As(err, &unauthorized) || errors.As(err, &denied) {
		return &LoginRequiredError{Session: s, Reason: "the sign-in cannot be refreshed", Err: err}
	}
	return &CallError{Service: "sso-oidc", Action: "CreateToken (refresh)", Err: err}
}
