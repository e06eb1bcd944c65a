package auth

import (
	"errors"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the JWT's claims (README, Authentication).
type Claims struct {
	UserID string `json:"userId"`
	Email  string `json:"email"`
	Role   string `json:"role"`
	// Gen is the user's credential generation when the token was issued; a
	// token of an older generation is refused.
	Gen int64 `json:"gen"`
	jwt.RegisteredClaims
}

// JWT issues and verifies HS256 tokens. Any other algorithm is rejected.
type JWT struct {
	Secret []byte
	TTL    time.Duration // 7 days when zero
	Now    func() time.Time
}

func (j JWT) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// Issue signs a token for p, of p's credential generation.
func (j JWT) Issue(p *Principal) (string, time.Time, error) {
	if p.Gen < 1 {
		return "", time.Time{}, errors.New("auth: a token needs the user's credential generation")
	}
	ttl := j.TTL
	if ttl == 0 {
		ttl = 7 * 24 * time.Hour
	}
	now := j.now()
	exp := now.Add(ttl)
	role := p.Role
	if p.Admin {
		role = "admin"
	}
	c := Claims{UserID: p.UserID, Email: p.Email, Role: role, Gen: p.Gen, RegisteredClaims: jwt.RegisteredClaims{
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(j.Secret)
	return s, exp, err
}

// ErrTokenInvalid covers a bad signature, a wrong algorithm, expiry and malformed tokens.
var ErrTokenInvalid = errors.New("token invalid")

// Verify checks a token and returns its claims.
func (j JWT) Verify(token string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return j.Secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(j.now),
	)
	if err != nil || c.UserID == "" || c.Gen < 1 || (c.Role != "user" && c.Role != "admin") {
		return nil, ErrTokenInvalid
	}
	return &c, nil
}
