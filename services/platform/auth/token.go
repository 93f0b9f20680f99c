// Package auth is Gemella's session tokens: the discussion service signs
// one at log-in (Issuer) and every service verifies it with the public key
// (Verifier), puts the Caller it names in the request context (the gRPC
// interceptors) and decides what the caller may do. See ARCHITECTURE.md,
// "Identity and access".
//
// A token is a JWT (RFC 7519) signed with Ed25519 ("alg":"EdDSA", RFC 8037),
// made and checked with github.com/golang-jwt/jwt/v5. Its header names the
// key ("kid", the key's RFC 7638 thumbprint) so that a Verifier can hold
// several keys while one is rotated out. Its claims:
//
//	iss    "gemella"
//	sub    the member id
//	name   the display name
//	roles  e.g. ["member","moderator"]
//	orgs   the ids of the organisations the member's affiliation is verified for
//	sid    the log-in session, kept when the token is refreshed (absent in
//	       tokens minted outside a log-in)
//	auth_time  when the member gave the password (OIDC's claim): a
//	       refresh keeps it, so a session cannot be refreshed for ever
//	iat    issued at; exp expires at (short: minutes); jti a random id
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenIssuer is the iss claim of every Gemella token.
const TokenIssuer = "gemella"

// DefaultLeeway is the clock skew tolerated between the signing service and
// a verifying one when checking exp and iat.
const DefaultLeeway = 30 * time.Second

// ErrInvalidToken is wrapped by every verification failure; the wrapped
// text says why (expired, unknown key, bad signature, malformed).
var ErrInvalidToken = errors.New("invalid session token")

// Claims are what a token says about its bearer.
type Claims struct {
	MemberID      string
	DisplayName   string
	Roles         []string
	Organizations []string
	SessionID     string
	// SessionStartedAt is the auth_time claim; zero without a session.
	SessionStartedAt time.Time
	IssuedAt         time.Time
	ExpiresAt        time.Time
	// TokenID is the jti claim, different in every token.
	TokenID string
	// KeyID names the key that signed the token.
	KeyID string
}

// Caller is the caller the claims describe.
func (c Claims) Caller() Caller {
	return Caller{
		MemberID: c.MemberID, DisplayName: c.DisplayName, Roles: slices.Clone(c.Roles), Organizations: slices.Clone(c.Organizations),
		SessionID: c.SessionID, SessionStartedAt: c.SessionStartedAt,
	}
}

// jwtClaims is the JSON form of Claims.
type jwtClaims struct {
	Name      string           `json:"name,omitempty"`
	Roles     []string         `json:"roles,omitempty"`
	Orgs      []string         `json:"orgs,omitempty"`
	SessionID string           `json:"sid,omitempty"`
	AuthTime  *jwt.NumericDate `json:"auth_time,omitempty"`
	jwt.RegisteredClaims
}

// Issuer signs tokens with one private key.
type Issuer struct {
	key ed25519.PrivateKey
	kid string
	ttl time.Duration
	now func() time.Time
}

// NewIssuer signs with key; tokens live for ttl.
func NewIssuer(key ed25519.PrivateKey, ttl time.Duration) (*Issuer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("token issuer: an Ed25519 private key is required")
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("token issuer: lifetime %s must be positive", ttl)
	}
	return &Issuer{key: key, kid: KeyID(key.Public().(ed25519.PublicKey)), ttl: ttl, now: time.Now}, nil
}

// WithClock returns a copy of the issuer that reads the time from now.
func (i *Issuer) WithClock(now func() time.Time) *Issuer {
	c := *i
	c.now = now
	return &c
}

// PublicKey is the key that verifies this issuer's tokens.
func (i *Issuer) PublicKey() ed25519.PublicKey { return i.key.Public().(ed25519.PublicKey) }

// TTL is how long the tokens live.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue signs a token for the caller; the caller must be a member. The
// caller's SessionID and SessionStartedAt, when set, become the sid and
// auth_time claims.
func (i *Issuer) Issue(c Caller) (token string, claims Claims, err error) {
	if c.MemberID == "" {
		return "", Claims{}, errors.New("issue token: the caller has no member id")
	}
	// JWT times are whole seconds; truncating here makes the returned
	// claims equal to what a verifier reads back.
	now := i.now().UTC().Truncate(time.Second)
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", Claims{}, fmt.Errorf("issue token: %w", err)
	}
	var authTime *jwt.NumericDate
	started := c.SessionStartedAt.UTC().Truncate(time.Second)
	if !c.SessionStartedAt.IsZero() {
		authTime = jwt.NewNumericDate(started)
	}
	tokenID := fmt.Sprintf("%x", jti)
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims{
		Name:      c.DisplayName,
		Roles:     c.Roles,
		Orgs:      c.Organizations,
		SessionID: c.SessionID,
		AuthTime:  authTime,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   c.MemberID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)),
			ID:        tokenID,
		},
	})
	t.Header["kid"] = i.kid
	signed, err := t.SignedString(i.key)
	if err != nil {
		return "", Claims{}, fmt.Errorf("issue token: %w", err)
	}
	claims = Claims{
		MemberID: c.MemberID, DisplayName: c.DisplayName,
		Roles: slices.Clone(c.Roles), Organizations: slices.Clone(c.Organizations), SessionID: c.SessionID,
		IssuedAt: now, ExpiresAt: now.Add(i.ttl), TokenID: tokenID, KeyID: i.kid,
	}
	if authTime != nil {
		claims.SessionStartedAt = started
	}
	return signed, claims, nil
}

// Verifier checks tokens against a set of public keys, chosen by the
// token's kid.
type Verifier struct {
	keys   map[string]ed25519.PublicKey
	now    func() time.Time
	leeway time.Duration
	// revocations are the ended sessions whose tokens are refused; nil
	// refuses none (see WithRevocations).
	revocations *Revocations
}

// NewVerifier accepts tokens signed by any of keys.
func NewVerifier(keys ...ed25519.PublicKey) (*Verifier, error) {
	if len(keys) == 0 {
		return nil, errors.New("token verifier: at least one public key is required")
	}
	v := &Verifier{keys: make(map[string]ed25519.PublicKey, len(keys)), now: time.Now, leeway: DefaultLeeway}
	for i, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("token verifier: key %d is not an Ed25519 public key", i)
		}
		v.keys[KeyID(k)] = k
	}
	return v, nil
}

// WithClock returns a copy of the verifier that reads the time from now.
func (v *Verifier) WithClock(now func() time.Time) *Verifier {
	c := *v
	c.now = now
	return &c
}

// Verify checks the token's signature, issuer and lifetime and returns its
// claims. Every failure wraps ErrInvalidToken.
func (v *Verifier) Verify(token string) (Claims, error) {
	var parsed jwtClaims
	var kid string
	_, err := jwt.ParseWithClaims(token, &parsed, func(t *jwt.Token) (any, error) {
		kid, _ = t.Header["kid"].(string)
		key, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("signed with unknown key %q", kid)
		}
		return key, nil
	},
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(TokenIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	if parsed.Subject == "" {
		return Claims{}, fmt.Errorf("%w: no subject", ErrInvalidToken)
	}
	c := Claims{
		MemberID: parsed.Subject, DisplayName: parsed.Name, Roles: parsed.Roles, Organizations: parsed.Orgs,
		SessionID: parsed.SessionID, TokenID: parsed.ID, KeyID: kid,
	}
	if parsed.AuthTime != nil {
		c.SessionStartedAt = parsed.AuthTime.UTC()
	}
	if parsed.IssuedAt != nil {
		c.IssuedAt = parsed.IssuedAt.UTC()
	}
	if parsed.ExpiresAt != nil {
		c.ExpiresAt = parsed.ExpiresAt.UTC()
	}
	if v.revocations.Revoked(c.SessionID) {
		return Claims{}, ErrSessionEnded
	}
	return c, nil
}
