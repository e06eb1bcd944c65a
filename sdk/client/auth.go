package client

import (
	"context"
	"net/http"
	"time"
)

// RegisterRequest is POST /api/register's body.
type RegisterRequest struct {
	Email        string `json:"email"`
	Password     string `json:"password"`
	Name         string `json:"name,omitempty"`
	ReferralCode string `json:"referralCode,omitempty"`
}

// User is an account as registration and sign-in describe it.
type User struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"emailVerified"`
}

// Register creates an account; the server mails a verification link.
func (c *Client) Register(ctx context.Context, r *RegisterRequest) (*User, error) {
	var u User
	if _, err := c.do(ctx, http.MethodPost, "/api/register", nil, r, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// VerifyEmail uses the token of a verification link the server mailed
// (POST /api/auth/verify-email; no sign-in needed).
func (c *Client) VerifyEmail(ctx context.Context, token string) error {
	_, err := c.do(ctx, http.MethodPost, "/api/auth/verify-email", nil, map[string]string{"token": token}, nil)
	return err
}

// Session is a cookie session from Login.
type Session struct {
	User      User      `json:"user"`
	CSRFToken string    `json:"csrfToken"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Login signs in with an email and password. The client keeps the session
// cookie and its CSRF token, and sends both with every later request
// (requests that change state need the token).
func (c *Client) Login(ctx context.Context, email, password string) (*Session, error) {
	var s Session
	resp, err := c.do(ctx, http.MethodPost, "/api/auth/login", nil,
		map[string]string{"email": email, "password": password}, &s)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cookies, c.csrf = resp.Cookies(), s.CSRFToken
	c.mu.Unlock()
	return &s, nil
}

// Logout ends the session from Login (the server forgets it) and drops it
// from the client.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPost, "/api/auth/logout", nil, nil, nil)
	c.mu.Lock()
	c.cookies, c.csrf = nil, ""
	c.mu.Unlock()
	return err
}

// Account is the caller's profile (GET /api/settings).
type Account struct {
	ID                 string    `json:"id"`
	Email              string    `json:"email"`
	EmailVerified      bool      `json:"emailVerified"`
	PendingEmail       string    `json:"pendingEmail"`
	Name               string    `json:"name"`
	Role               string    `json:"role"`
	Plan               string    `json:"plan"`
	SubscriptionStatus string    `json:"subscriptionStatus"`
	CreatedAt          time.Time `json:"createdAt"`
}

// Me returns the caller's account: a cheap way to check a credential.
func (c *Client) Me(ctx context.Context) (*Account, error) {
	var a Account
	if _, err := c.do(ctx, http.MethodGet, "/api/settings", nil, nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Token is a JWT from POST /api/auth/token.
type Token struct {
	Token     string    `json:"token"`
	TokenType string    `json:"tokenType"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// Token exchanges the client's API key or session for a 7-day JWT.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	var t Token
	if _, err := c.do(ctx, http.MethodPost, "/api/auth/token", nil, nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}
