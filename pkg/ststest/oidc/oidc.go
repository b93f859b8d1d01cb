// Package oidc is the STS emulator's OpenID Connect identity provider side:
// it holds one RSA signing key per configured issuer, mints RS256 ID tokens
// shaped like GitHub Actions' and GitLab CI's, publishes the keys as a JWKS, and
// verifies a web identity token the way AWS STS AssumeRoleWithWebIdentity does
// before any trust policy is evaluated.
//
// Verification contract (what Verify checks, in this order, and what it
// answers; Code is the STS error code, Message the text STS sends):
//
//  1. The token is a compact JWS whose header names alg RS256. Anything else
//     (not three segments, bad base64 or JSON, alg none, HS256, ES256) is
//     InvalidIdentityToken "The ID Token provided is not a valid JWT. (You may
//     see this error if you sent an Access Token)". STS refuses tokens that are
//     not RSA-signed with that same message.
//  2. The iss claim names a configured provider; otherwise InvalidIdentityToken
//     "No OpenIDConnect provider found in your account for <iss>"
//     (seen verbatim in mozilla-iam/mozilla-aws-cli#127 and
//     aws-actions/configure-aws-credentials#721).
//  3. The kid header names that provider's key; otherwise InvalidIdentityToken
//     "Couldn't retrieve verification key from your identity provider,  please
//     reference AssumeRoleWithWebIdentity documentation for requirements" (the
//     text, double space included, STS sends when it finds no usable key;
//     aws/aws-cli#7194, AWS knowledge center "iam-sts-invalididentitytoken").
//  4. The RS256 signature verifies; otherwise InvalidIdentityToken with the
//     documented description of that error ("The web identity token that was
//     passed could not be validated by AWS. ..."): no public STS capture of a
//     more specific text was found.
//  5. exp is present and now is strictly before it; otherwise
//     ExpiredTokenException "Token expired: current date/time <now> must be
//     before the expiration date/time <exp>" in Unix seconds (STS's text, seen
//     in aws/aws-sdk-java-v2#5709 and awslabs/aws-orbit-workbench#771).
//  6. nbf, when present, is not after now; otherwise InvalidIdentityToken with
//     the documented description (step 4).
//  7. aud (a string or an array) contains one of the provider's client IDs;
//     otherwise InvalidIdentityToken "Incorrect token audience" (STS uses
//     InvalidIdentityToken, not IDPRejectedClaim, for this:
//     awslabs/amazon-eks-irsa-cfn#18, aws-actions/configure-aws-credentials#775);
//     a token without aud gets "Missing a required claim: aud"
//     (aws/aws-sdk-ruby#2698).
//
// No clock leeway is applied: the STS API reference documents none. The order
// of steps 5 to 7 relative to each other is not documented by AWS; signature
// first is what any verifier must do.
//
// Trust-policy conditions (sub with StringLike, see MatchLike) are evaluated
// by the emulator after Verify; their failures are IDPRejectedClaim or
// AccessDenied, whose codes this package names for it.
package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// STS error codes for AssumeRoleWithWebIdentity, as they appear in the
// <Code> element of STS's error response.
const (
	// CodeInvalidIdentityToken: the token could not be validated.
	CodeInvalidIdentityToken = "InvalidIdentityToken"
	// CodeExpiredToken: the token's exp has passed.
	CodeExpiredToken = "ExpiredTokenException"
	// CodeIDPRejectedClaim: the identity provider reported the claim invalid.
	CodeIDPRejectedClaim = "IDPRejectedClaim"
	// CodeAccessDenied: the role's trust policy does not allow this identity.
	CodeAccessDenied = "AccessDenied"
)

// Messages STS sends; see the package comment for where each was observed.
const (
	msgNotValidJWT       = "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	msgNoProviderFmt     = "No OpenIDConnect provider found in your account for %s"
	msgNoVerificationKey = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements"
	// The STS API reference's description of InvalidIdentityToken.
	msgCouldNotValidate = "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."
	msgExpiredFmt       = "Token expired: current date/time %d must be before the expiration date/time %d"
	msgMissingClaimFmt  = "Missing a required claim: %s"
	msgIncorrectAud     = "Incorrect token audience"
)

// tokenLifetime is how long a minted token lives unless the claims say
// otherwise; GitHub's Actions tokens also last an hour.
const tokenLifetime = time.Hour

// ProviderConfig is one IAM OIDC identity provider as the emulator's
// configuration declares it: the issuer URL tokens carry in iss, and the
// client IDs (audiences) IAM accepts from it.
type ProviderConfig struct {
	Issuer    string   `json:"issuer"`
	ClientIDs []string `json:"client_ids"`
}

// Set holds the configured providers and their signing keys. It is immutable
// after NewSet and safe for concurrent use.
type Set struct {
	providers map[string]*provider
}

type provider struct {
	config ProviderConfig
	once   sync.Once
	key    *rsa.PrivateKey
	kid    string
	err    error
}

// signingKey is the provider's key and its kid, generated on first use:
// most emulators never mint or verify a token, and an RSA-2048 key takes
// tens of milliseconds to generate (several times that under -race) for
// each of the hundreds of emulators a test run starts.
func (p *provider) signingKey() (*rsa.PrivateKey, string, error) {
	p.once.Do(func() {
		p.key, p.err = rsa.GenerateKey(rand.Reader, 2048)
		if p.err != nil {
			p.err = fmt.Errorf("generate key for oidc provider %s: %w", p.config.Issuer, p.err)
			return
		}
		p.kid = thumbprint(&p.key.PublicKey)
	})
	return p.key, p.kid, p.err
}

// Claims is what a verified token asserts, for the emulator's trust policy
// evaluation and its AssumeRoleWithWebIdentity response.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// Raw holds every claim as decoded from JSON (numbers are float64).
	Raw map[string]any
}

// Failure is a rejection in STS's terms, ready for the emulator's error
// response.
type Failure struct {
	Code    string
	Message string
}

// Error lets a Failure travel as an error; it never contains the token.
func (f *Failure) Error() string {
	return f.Code + ": " + f.Message
}

func fail(code, message string) *Failure {
	return &Failure{Code: code, Message: message}
}

// NewSet holds an RSA-2048 key for each provider, generated when first
// used. Issuers must be non-empty and distinct.
func NewSet(providers []ProviderConfig) (*Set, error) {
	seen := make(map[string]bool, len(providers))
	for _, pc := range providers {
		if pc.Issuer == "" {
			return nil, errors.New("oidc provider with empty issuer")
		}
		if seen[pc.Issuer] {
			return nil, fmt.Errorf("oidc provider %s configured twice", pc.Issuer)
		}
		seen[pc.Issuer] = true
	}
	s := &Set{providers: make(map[string]*provider, len(providers))}
	for _, pc := range providers {
		pc.ClientIDs = append([]string(nil), pc.ClientIDs...)
		s.providers[pc.Issuer] = &provider{config: pc}
	}
	return s, nil
}

// Mint signs claims as an RS256 JWT from issuer's key, with that key's kid in
// the header. It fills iss, iat, nbf, exp (now plus one hour) and jti unless
// claims already carries them, so a test can mint an expired token, a token
// from the future, or one naming a different issuer. claims is not modified.
func (s *Set) Mint(issuer string, claims map[string]any, now time.Time) (string, error) {
	p, ok := s.providers[issuer]
	if !ok {
		return "", fmt.Errorf("mint token: no oidc provider %s", issuer)
	}
	key, kid, err := p.signingKey()
	if err != nil {
		return "", err
	}
	jti, err := newJTI()
	if err != nil {
		return "", fmt.Errorf("mint token for %s: %w", issuer, err)
	}
	all := jwt.MapClaims{
		"iss": issuer,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(tokenLifetime).Unix(),
		"jti": jti,
	}
	maps.Copy(all, claims)
	token := jwt.NewWithClaims(jwt.SigningMethodRS256, all)
	token.Header["kid"] = kid
	signed, err := token.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token for %s: %w", issuer, err)
	}
	return signed, nil
}

// Verify checks token as STS does before trust-policy evaluation (see the
// package comment for the order and the answers). now is the emulator's clock.
func (s *Set) Verify(token string, now time.Time) (Claims, *Failure) {
	// Structure and algorithm first: the library would otherwise report a
	// wrong alg and a wrong signature alike.
	unverified, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
	if err != nil || unverified.Method.Alg() != jwt.SigningMethodRS256.Alg() {
		return Claims{}, fail(CodeInvalidIdentityToken, msgNotValidJWT)
	}

	var (
		keyFailure *Failure
		p          *provider
		claims     = jwt.MapClaims{}
	)
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		// Time and audience checks follow below, so each gets STS's answer.
		jwt.WithoutClaimsValidation(),
	)
	_, err = parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		iss, err := claims.GetIssuer()
		if err != nil || iss == "" {
			keyFailure = fail(CodeInvalidIdentityToken, msgNotValidJWT)
			return nil, keyFailure
		}
		found, ok := s.providers[iss]
		if !ok {
			keyFailure = fail(CodeInvalidIdentityToken, fmt.Sprintf(msgNoProviderFmt, iss))
			return nil, keyFailure
		}
		key, kid, err := found.signingKey()
		if got, _ := t.Header["kid"].(string); err != nil || got != kid {
			keyFailure = fail(CodeInvalidIdentityToken, msgNoVerificationKey)
			return nil, keyFailure
		}
		p = found
		return &key.PublicKey, nil
	})
	switch {
	case keyFailure != nil:
		return Claims{}, keyFailure
	case errors.Is(err, jwt.ErrTokenMalformed):
		return Claims{}, fail(CodeInvalidIdentityToken, msgNotValidJWT)
	case err != nil:
		return Claims{}, fail(CodeInvalidIdentityToken, msgCouldNotValidate)
	}

	if f := checkTimes(claims, now); f != nil {
		return Claims{}, f
	}
	if f := checkAudience(claims, p.config.ClientIDs); f != nil {
		return Claims{}, f
	}

	sub, err := claims.GetSubject()
	if err != nil {
		return Claims{}, fail(CodeInvalidIdentityToken, msgNotValidJWT)
	}
	aud, _ := claims.GetAudience() // checkAudience has read it already
	return Claims{
		Issuer:   p.config.Issuer,
		Subject:  sub,
		Audience: []string(aud),
		Raw:      maps.Clone(map[string]any(claims)),
	}, nil
}

func checkTimes(claims jwt.MapClaims, now time.Time) *Failure {
	err := jwt.NewValidator(
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
	).Validate(claims)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrInvalidType):
		return fail(CodeInvalidIdentityToken, msgNotValidJWT)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return fail(CodeInvalidIdentityToken, fmt.Sprintf(msgMissingClaimFmt, "exp"))
	case errors.Is(err, jwt.ErrTokenExpired):
		exp, _ := claims.GetExpirationTime()
		return fail(CodeExpiredToken, fmt.Sprintf(msgExpiredFmt, now.Unix(), exp.Unix()))
	default: // not yet valid (nbf in the future)
		return fail(CodeInvalidIdentityToken, msgCouldNotValidate)
	}
}

func checkAudience(claims jwt.MapClaims, clientIDs []string) *Failure {
	aud, err := claims.GetAudience()
	if err != nil {
		return fail(CodeInvalidIdentityToken, msgNotValidJWT)
	}
	if len(aud) == 0 || len(aud) == 1 && aud[0] == "" {
		return fail(CodeInvalidIdentityToken, fmt.Sprintf(msgMissingClaimFmt, "aud"))
	}
	if len(clientIDs) == 0 {
		// A provider with no client IDs accepts no audience.
		return fail(CodeInvalidIdentityToken, msgIncorrectAud)
	}
	err = jwt.NewValidator(jwt.WithAudience(clientIDs...)).Validate(jwt.MapClaims{"aud": claims["aud"]})
	if err != nil {
		return fail(CodeInvalidIdentityToken, msgIncorrectAud)
	}
	return nil
}

// jwk is one RSA public key in RFC 7517 form.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// JWKS returns issuer's JSON Web Key Set, the document an OIDC provider
// serves at its jwks_uri.
func (s *Set) JWKS(issuer string) ([]byte, error) {
	p, ok := s.providers[issuer]
	if !ok {
		return nil, fmt.Errorf("jwks: no oidc provider %s", issuer)
	}
	key, kid, err := p.signingKey()
	if err != nil {
		return nil, err
	}
	pub := &key.PublicKey
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{{
		Kty: "RSA",
		Use: "sig",
		Alg: jwt.SigningMethodRS256.Alg(),
		Kid: kid,
		N:   b64(pub.N.Bytes()),
		E:   b64(big.NewInt(int64(pub.E)).Bytes()),
	}}}
	out, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("jwks for %s: %w", issuer, err)
	}
	return out, nil
}

// thumbprint is the RFC 7638 JWK thumbprint of key: SHA-256 over the
// required members in lexicographic order, so the kid is derived from the key
// itself and changes whenever the key does.
func thumbprint(key *rsa.PublicKey) string {
	canonical := fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`,
		b64(big.NewInt(int64(key.E)).Bytes()), b64(key.N.Bytes()))
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:])
}

func b64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// newJTI returns a random UUID (version 4), the form GitHub uses for jti.
func newJTI() (string, error) {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return "", fmt.Errorf("random jti: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16]), nil
}
