package oidc

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	multiIssuer = "https://issuer.example"
	stsAudience = "sts.amazonaws.com"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// RSA key generation is the slow part of this package, so every test shares
// two sets: the one under test and an impostor holding other keys for the
// same GitHub issuer.
var (
	fixtureOnce sync.Once
	fixtureSet  *Set
	impostorSet *Set
	fixtureErr  error
)

func fixtures(t *testing.T) (set, impostor *Set) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureSet, fixtureErr = NewSet([]ProviderConfig{
			{Issuer: GitHubIssuer, ClientIDs: []string{stsAudience}},
			{Issuer: GitLabIssuer, ClientIDs: []string{"https://gitlab.example"}},
			{Issuer: multiIssuer, ClientIDs: []string{"first-client", "second-client"}},
		})
		if fixtureErr != nil {
			return
		}
		impostorSet, fixtureErr = NewSet([]ProviderConfig{{Issuer: GitHubIssuer, ClientIDs: []string{stsAudience}}})
	})
	if fixtureErr != nil {
		t.Fatalf("build key sets: %v", fixtureErr)
	}
	return fixtureSet, impostorSet
}

func mint(t *testing.T, s *Set, issuer string, claims map[string]any, now time.Time) string {
	t.Helper()
	token, err := s.Mint(issuer, claims, now)
	if err != nil {
		t.Fatalf("Mint(%s): %v", issuer, err)
	}
	return token
}

// sign builds a token by hand, for shapes Mint refuses to produce.
func sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	if kid != "" {
		token.Header["kid"] = kid
	}
	signed, err := token.SignedString(key)
	if err != nil {
		t.Fatalf("sign %s token: %v", method.Alg(), err)
	}
	return signed
}

// validClaims are the claims of a good GitHub token.
func validClaims() jwt.MapClaims {
	return jwt.MapClaims{
		"iss": GitHubIssuer,
		"sub": "repo:octo-org/octo-repo:ref:refs/heads/main",
		"aud": stsAudience,
		"iat": testNow.Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
}

func segments(t *testing.T, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments, want 3", len(parts))
	}
	return parts
}

func decodeSegment(t *testing.T, segment string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		t.Fatalf("decode segment: %v", err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("unmarshal segment: %v", err)
	}
	return out
}

func TestMintVerifyRoundTrip(t *testing.T) {
	set, _ := fixtures(t)
	tests := []struct {
		name         string
		issuer       string
		claims       map[string]any
		verifyAt     time.Time
		wantSubject  string
		wantAudience []string
		wantRaw      map[string]any
	}{
		{
			name:         "github actions token",
			issuer:       GitHubIssuer,
			claims:       GitHubClaims(GitHubContext{Repository: "octo-org/octo-repo"}, stsAudience),
			verifyAt:     testNow,
			wantSubject:  "repo:octo-org/octo-repo:ref:refs/heads/main",
			wantAudience: []string{stsAudience},
			wantRaw:      map[string]any{"repository": "octo-org/octo-repo", "ref": "refs/heads/main", "repository_owner": "octo-org"},
		},
		{
			name:         "gitlab ci token",
			issuer:       GitLabIssuer,
			claims:       GitLabClaims("group/sub/project", "main", "https://gitlab.example"),
			verifyAt:     testNow,
			wantSubject:  "project_path:group/sub/project:ref_type:branch:ref:main",
			wantAudience: []string{"https://gitlab.example"},
			wantRaw:      map[string]any{"namespace_path": "group/sub", "ref_type": "branch"},
		},
		{
			name:         "audience as array with one client id among others",
			issuer:       multiIssuer,
			claims:       map[string]any{"sub": "svc", "aud": []string{"someone-else", "second-client"}},
			verifyAt:     testNow,
			wantSubject:  "svc",
			wantAudience: []string{"someone-else", "second-client"},
		},
		{
			name:         "audience as string matching the second client id",
			issuer:       multiIssuer,
			claims:       map[string]any{"sub": "svc", "aud": "second-client"},
			verifyAt:     testNow,
			wantSubject:  "svc",
			wantAudience: []string{"second-client"},
		},
		{
			name:         "one second before expiry",
			issuer:       GitHubIssuer,
			claims:       map[string]any{"sub": "s", "aud": stsAudience},
			verifyAt:     testNow.Add(time.Hour - time.Second),
			wantSubject:  "s",
			wantAudience: []string{stsAudience},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := mint(t, set, tt.issuer, tt.claims, testNow)
			got, failure := set.Verify(token, tt.verifyAt)
			if failure != nil {
				t.Fatalf("Verify: %s", failure)
			}
			if got.Issuer != tt.issuer || got.Subject != tt.wantSubject || !slices.Equal(got.Audience, tt.wantAudience) {
				t.Errorf("Verify = {%q %q %q}, want {%q %q %q}",
					got.Issuer, got.Subject, got.Audience, tt.issuer, tt.wantSubject, tt.wantAudience)
			}
			for k, want := range tt.wantRaw {
				if got.Raw[k] != want {
					t.Errorf("Raw[%q] = %v, want %v", k, got.Raw[k], want)
				}
			}
		})
	}
}

func TestMintFillsStandardClaims(t *testing.T) {
	set, _ := fixtures(t)
	parts := segments(t, mint(t, set, GitHubIssuer, map[string]any{"sub": "s", "aud": stsAudience}, testNow))

	header := decodeSegment(t, parts[0])
	_, wantKid, _ := set.providers[GitHubIssuer].signingKey()
	if header["alg"] != "RS256" || header["kid"] != wantKid || header["typ"] != "JWT" {
		t.Errorf("header = %v, want alg RS256, typ JWT, kid %s", header, wantKid)
	}

	payload := decodeSegment(t, parts[1])
	wantTimes := map[string]float64{
		"iat": float64(testNow.Unix()),
		"nbf": float64(testNow.Unix()),
		"exp": float64(testNow.Add(time.Hour).Unix()),
	}
	for k, want := range wantTimes {
		if payload[k] != want {
			t.Errorf("%s = %v, want %v", k, payload[k], want)
		}
	}
	if payload["iss"] != GitHubIssuer {
		t.Errorf("iss = %v, want %s", payload["iss"], GitHubIssuer)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if jti, _ := payload["jti"].(string); !uuid.MatchString(jti) {
		t.Errorf("jti = %q, want a version 4 UUID", jti)
	}

	other := decodeSegment(t, segments(t, mint(t, set, GitHubIssuer, nil, testNow))[1])
	if other["jti"] == payload["jti"] {
		t.Errorf("two tokens share jti %v", payload["jti"])
	}
}

func TestMintKeepsGivenClaims(t *testing.T) {
	set, _ := fixtures(t)
	given := map[string]any{"exp": int64(42), "iat": int64(7), "nbf": int64(8), "jti": "fixed", "iss": "https://elsewhere.example"}
	payload := decodeSegment(t, segments(t, mint(t, set, GitHubIssuer, given, testNow))[1])
	for k, want := range map[string]any{"exp": 42.0, "iat": 7.0, "nbf": 8.0, "jti": "fixed", "iss": "https://elsewhere.example"} {
		if payload[k] != want {
			t.Errorf("%s = %v, want %v", k, payload[k], want)
		}
	}
	if len(given) != 5 {
		t.Errorf("Mint modified the caller's claims: %v", given)
	}
}

func TestMintUnknownIssuer(t *testing.T) {
	set, _ := fixtures(t)
	if _, err := set.Mint("https://unknown.example", nil, testNow); err == nil {
		t.Fatal("Mint for an unconfigured issuer succeeded")
	}
}

func TestNewSetRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name      string
		providers []ProviderConfig
	}{
		{"empty issuer", []ProviderConfig{{Issuer: ""}}},
		{"duplicate issuer", []ProviderConfig{{Issuer: GitHubIssuer}, {Issuer: GitHubIssuer}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSet(tt.providers); err == nil {
				t.Fatal("NewSet accepted the configuration")
			}
		})
	}
}

func TestVerifyRejects(t *testing.T) {
	set, impostor := fixtures(t)
	github := set.providers[GitHubIssuer]
	impostorKey := impostor.providers[GitHubIssuer]
	for _, p := range []*provider{github, impostorKey} {
		if _, _, err := p.signingKey(); err != nil {
			t.Fatal(err)
		}
	}
	publicDER, err := x509.MarshalPKIXPublicKey(&github.key.PublicKey)
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}

	tampered := func(t *testing.T) string {
		parts := segments(t, mint(t, set, GitHubIssuer, map[string]any{"sub": "repo:octo-org/octo-repo:ref:refs/heads/dev", "aud": stsAudience}, testNow))
		payload := decodeSegment(t, parts[1])
		payload["sub"] = "repo:octo-org/octo-repo:ref:refs/heads/main"
		raw, err := json.Marshal(payload)
		if err != nil {
			t.Fatalf("marshal payload: %v", err)
		}
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
	}
	without := func(claim string) jwt.MapClaims {
		c := validClaims()
		delete(c, claim)
		return c
	}

	notValidJWT := "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)"
	couldNotValidate := "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request."
	tests := []struct {
		name        string
		token       func(t *testing.T) string
		now         time.Time
		wantCode    string
		wantMessage string
	}{
		{
			name:        "empty token",
			token:       func(*testing.T) string { return "" },
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name:        "opaque access token",
			token:       func(*testing.T) string { return "gho_16C7e42F292c6912E7710c838347Ae178B4a" },
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name:        "three segments of garbage",
			token:       func(*testing.T) string { return "a.b.c" },
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name:        "tampered payload",
			token:       tampered,
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: couldNotValidate,
		},
		{
			name: "signed by another key under the provider's kid",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, impostorKey.key, github.kid, validClaims())
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: couldNotValidate,
		},
		{
			name: "signed by another key under its own kid",
			token: func(t *testing.T) string {
				return mint(t, impostor, GitHubIssuer, map[string]any{"sub": "s", "aud": stsAudience}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
		},
		{
			name: "no kid header",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, github.key, "", validClaims())
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
		},
		{
			name: "unknown issuer",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"iss": "https://unknown.example/", "aud": stsAudience}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "No OpenIDConnect provider found in your account for https://unknown.example/",
		},
		{
			name: "no issuer",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, github.key, github.kid, without("iss"))
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name: "alg none",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, github.kid, validClaims())
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name: "HS256 keyed with the provider's public key",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodHS256, publicDER, github.kid, validClaims())
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name: "RS384 with the right key",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS384, github.key, github.kid, validClaims())
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name: "expired an hour ago",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": stsAudience}, testNow.Add(-2*time.Hour))
			},
			wantCode:    CodeExpiredToken,
			wantMessage: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", testNow.Unix(), testNow.Add(-time.Hour).Unix()),
		},
		{
			name: "expires exactly now",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": stsAudience}, testNow.Add(-time.Hour))
			},
			wantCode:    CodeExpiredToken,
			wantMessage: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", testNow.Unix(), testNow.Unix()),
		},
		{
			name: "expired and for the wrong audience reports expiry",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": "elsewhere"}, testNow.Add(-2*time.Hour))
			},
			wantCode:    CodeExpiredToken,
			wantMessage: fmt.Sprintf("Token expired: current date/time %d must be before the expiration date/time %d", testNow.Unix(), testNow.Add(-time.Hour).Unix()),
		},
		{
			name: "no exp",
			token: func(t *testing.T) string {
				return sign(t, jwt.SigningMethodRS256, github.key, github.kid, without("exp"))
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Missing a required claim: exp",
		},
		{
			name: "exp not a number",
			token: func(t *testing.T) string {
				c := validClaims()
				c["exp"] = "tomorrow"
				return sign(t, jwt.SigningMethodRS256, github.key, github.kid, c)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
		{
			name: "not valid for another second",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": stsAudience, "nbf": testNow.Unix() + 1}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: couldNotValidate,
		},
		{
			name: "wrong audience",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": "https://github.com/octo-org"}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Incorrect token audience",
		},
		{
			name: "audience array without a client id",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": []string{"a", "b"}}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Incorrect token audience",
		},
		{
			name: "audience of another provider",
			token: func(t *testing.T) string {
				return mint(t, set, GitLabIssuer, map[string]any{"aud": stsAudience}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Incorrect token audience",
		},
		{
			name:        "no audience",
			token:       func(t *testing.T) string { return mint(t, set, GitHubIssuer, nil, testNow) },
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Missing a required claim: aud",
		},
		{
			// jwt's MapClaims reads an aud of another type as no audience.
			name: "audience a number",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": 17}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: "Missing a required claim: aud",
		},
		{
			name: "audience array holding a number",
			token: func(t *testing.T) string {
				return mint(t, set, GitHubIssuer, map[string]any{"aud": []any{stsAudience, 17}}, testNow)
			},
			wantCode:    CodeInvalidIdentityToken,
			wantMessage: notValidJWT,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := tt.now
			if now.IsZero() {
				now = testNow
			}
			claims, failure := set.Verify(tt.token(t), now)
			if failure == nil {
				t.Fatalf("Verify accepted the token (subject %q)", claims.Subject)
			}
			if failure.Code != tt.wantCode || failure.Message != tt.wantMessage {
				t.Errorf("Verify failure = %s: %s\nwant %s: %s", failure.Code, failure.Message, tt.wantCode, tt.wantMessage)
			}
			if claims.Raw != nil || claims.Subject != "" {
				t.Errorf("rejected token still returned claims for %q", claims.Subject)
			}
		})
	}
}

// jwksKeyfunc is what an independent verifier does with a provider's JWKS:
// rebuild each RSA public key from n and e and pick one by kid.
func jwksKeyfunc(t *testing.T, doc []byte) jwt.Keyfunc {
	t.Helper()
	var set struct {
		Keys []struct {
			Kty, Use, Alg, Kid, N, E string
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatalf("unmarshal JWKS: %v", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Use != "sig" || k.Alg != "RS256" || k.Kid == "" {
			t.Fatalf("JWKS key = kty %q use %q alg %q kid %q, want RSA sig RS256 with a kid", k.Kty, k.Use, k.Alg, k.Kid)
		}
		n, err := base64.RawURLEncoding.DecodeString(k.N)
		if err != nil {
			t.Fatalf("decode n: %v", err)
		}
		e, err := base64.RawURLEncoding.DecodeString(k.E)
		if err != nil {
			t.Fatalf("decode e: %v", err)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return func(token *jwt.Token) (any, error) {
		kid, _ := token.Header["kid"].(string)
		key, ok := keys[kid]
		if !ok {
			return nil, fmt.Errorf("no key %q in JWKS", kid)
		}
		return key, nil
	}
}

func TestJWKSVerifiesMintedTokens(t *testing.T) {
	set, _ := fixtures(t)
	token := mint(t, set, GitHubIssuer, map[string]any{"sub": "s", "aud": stsAudience}, testNow)
	tests := []struct {
		name      string
		jwksOf    string
		wantValid bool
	}{
		{"issuer's own JWKS", GitHubIssuer, true},
		{"another issuer's JWKS", GitLabIssuer, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := set.JWKS(tt.jwksOf)
			if err != nil {
				t.Fatalf("JWKS: %v", err)
			}
			parsed, err := jwt.Parse(token, jwksKeyfunc(t, doc),
				jwt.WithValidMethods([]string{"RS256"}),
				jwt.WithTimeFunc(func() time.Time { return testNow }))
			if tt.wantValid && (err != nil || !parsed.Valid) {
				t.Fatalf("token does not verify against the JWKS: %v", err)
			}
			if !tt.wantValid && err == nil {
				t.Fatal("token verified against the wrong JWKS")
			}
		})
	}
	if _, err := set.JWKS("https://unknown.example"); err == nil {
		t.Error("JWKS for an unconfigured issuer succeeded")
	}
}

func TestKidIsRFC7638Thumbprint(t *testing.T) {
	// The example key and thumbprint of RFC 7638 section 3.1.
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	if err != nil {
		t.Fatalf("decode n: %v", err)
	}
	got := thumbprint(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537})
	if want := "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; got != want {
		t.Errorf("thumbprint = %s, want %s", got, want)
	}
}

func TestVerifiedSubjectMeetsTrustCondition(t *testing.T) {
	set, _ := fixtures(t)
	tests := []struct {
		name      string
		ref       string
		condition string
		want      bool
	}{
		{"main branch, any ref allowed", "refs/heads/main", "repo:octo-org/octo-repo:*", true},
		{"main branch, main required", "refs/heads/main", "repo:octo-org/octo-repo:ref:refs/heads/main", true},
		{"feature branch, main required", "refs/heads/feature", "repo:octo-org/octo-repo:ref:refs/heads/main", false},
		{"tag, release tags allowed", "refs/tags/v1.2.3", "repo:octo-org/octo-repo:ref:refs/tags/v?.*", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims := GitHubClaims(GitHubContext{Repository: "octo-org/octo-repo", Ref: tt.ref}, stsAudience)
			verified, failure := set.Verify(mint(t, set, GitHubIssuer, claims, testNow), testNow)
			if failure != nil {
				t.Fatalf("Verify: %s", failure)
			}
			if got := MatchLike(tt.condition, verified.Subject); got != tt.want {
				t.Errorf("MatchLike(%q, %q) = %v, want %v", tt.condition, verified.Subject, got, tt.want)
			}
		})
	}
}
