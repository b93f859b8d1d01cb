package ststest

import (
	"strings"

	"github.com/rolecall/rolecall/pkg/ststest/oidc"
)

// TOTP returns the valid TOTP code of an MFA device at the emulator's clock,
// or "" for an unknown serial. A code is accepted once: for another, move the
// clock on by 30 seconds.
func (s *Server) TOTP(serial string) string {
	d, ok := s.mfa[serial]
	if !ok {
		return ""
	}
	code, err := totpCode(d.Secret, s.Now().Unix()/totpStep)
	if err != nil {
		return ""
	}
	return code
}

// WebIdentityToken mints a JWT signed by a configured OIDC provider at the
// emulator's clock. iss, iat, nbf, exp (one hour on) and jti are filled in
// unless claims gives them.
func (s *Server) WebIdentityToken(issuer string, claims map[string]any) (string, error) {
	return s.oidc.Mint(issuer, claims, s.Now())
}

// mintGitHubToken makes a token like GitHub Actions' for the configured
// repository and ref.
func (s *Server) mintGitHubToken(audience string) (string, error) {
	g := s.cfg.GitHub
	issuer := g.Issuer
	if issuer == "" {
		issuer = DemoGitHubIssuer
	}
	claims := oidc.GitHubClaims(oidc.GitHubContext{Repository: g.Repository, Ref: g.Ref}, audience)
	return s.oidc.Mint(issuer, claims, s.Now())
}

// stripScheme turns an issuer URL into the host/path IAM uses in OIDC
// provider ARNs.
func stripScheme(issuer string) string {
	return strings.TrimPrefix(strings.TrimPrefix(issuer, "https://"), "http://")
}
