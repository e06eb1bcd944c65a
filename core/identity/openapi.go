package identity

import "encoding/json"

// The types below document the identity routes' JSON bodies for the OpenAPI
// document (route.Route's Request and Response); the handlers build the same
// shapes as maps.

// userJSON is the signed-in user of a session answer.
type userJSON struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"emailVerified"`
}

// registerAnswer answers POST /api/register.
type registerAnswer struct {
	ID            string `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	EmailVerified bool   `json:"emailVerified"`
}

// sessionAnswer answers a sign-in: the session cookie is set and its CSRF
// token returned. Wallet and Farcaster sign-ins add their fields.
type sessionAnswer struct {
	User      userJSON `json:"user"`
	CSRFToken string   `json:"csrfToken"`
	ExpiresAt string   `json:"expiresAt" doc:"RFC 3339"`
}

// signInOrLink answers a wallet or Farcaster sign-in: a new session (as
// sessionAnswer), or with link: true only {success, address | fid, chainId}.
type signInOrLink struct {
	User                  *userJSON `json:"user,omitempty"`
	CSRFToken             string    `json:"csrfToken,omitempty"`
	ExpiresAt             string    `json:"expiresAt,omitempty"`
	Success               bool      `json:"success,omitempty"`
	Address               string    `json:"address,omitempty" doc:"the wallet's address (EIP-55)"`
	AddressVerified       bool      `json:"addressVerified,omitempty"`
	ChainID               int64     `json:"chainId,omitempty"`
	Created               bool      `json:"created,omitempty" doc:"whether the account was made by this sign-in"`
	FID                   int64     `json:"fid,omitempty"`
	TokenGated            bool      `json:"tokenGated,omitempty"`
	AccessLevel           string    `json:"accessLevel,omitempty" enum:"basic,premium"`
	Message               string    `json:"message,omitempty"`
	SessionToken          string    `json:"sessionToken,omitempty" doc:"a 24-hour bearer JWT"`
	TokenType             string    `json:"tokenType,omitempty" enum:"Bearer"`
	SessionTokenExpiresAt string    `json:"sessionTokenExpiresAt,omitempty"`
}

type nonceAnswer struct {
	Nonce     string `json:"nonce"`
	ExpiresAt string `json:"expiresAt"`
}

// endpointInfo is a GET's description of its POST.
type endpointInfo struct {
	Endpoint    string   `json:"endpoint"`
	Methods     []string `json:"methods"`
	Description string   `json:"description"`
	Required    []string `json:"required"`
	Optional    []string `json:"optional,omitempty"`
	Issuer      string   `json:"issuer,omitempty"`
	Audience    string   `json:"audience,omitempty"`
	ExpiresIn   int      `json:"expiresIn,omitempty"`
}

type farcasterRefreshAnswer struct {
	Success      bool   `json:"success"`
	SessionToken string `json:"sessionToken"`
	TokenType    string `json:"tokenType" enum:"Bearer"`
	FID          int64  `json:"fid"`
	ExpiresIn    int    `json:"expiresIn"`
	ExpiresAt    string `json:"expiresAt"`
	Message      string `json:"message"`
}

// gateAnswerDoc answers token gating.
type gateAnswerDoc struct {
	Address         string `json:"address"`
	HasAccess       bool   `json:"hasAccess"`
	TokenGated      bool   `json:"tokenGated"`
	Checked         bool   `json:"checked" doc:"whether the chain answered"`
	Token           string `json:"token"`
	ContractAddress string `json:"contractAddress"`
	MinTokens       string `json:"minTokens"`
	MinBalance      string `json:"minBalance,omitempty" doc:"in the token's base units"`
	Balance         string `json:"balance,omitempty" doc:"in the token's base units"`
	Timestamp       string `json:"timestamp"`
	Message         string `json:"message"`
	FID             int64  `json:"fid,omitempty"`
}

type successAnswer struct {
	Success bool `json:"success"`
}

type messageAnswer struct {
	Message string `json:"message"`
}

type verifyEmailAnswer struct {
	Success       bool   `json:"success"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"emailVerified,omitempty"`
}

type csrfAnswer struct {
	CSRFToken string `json:"csrfToken"`
}

type tokenAnswer struct {
	Token     string `json:"token"`
	TokenType string `json:"tokenType" enum:"Bearer"`
	ExpiresAt string `json:"expiresAt"`
}

type tokenRequest struct {
	Token string `json:"token" required:"true"`
}

type emailRequest struct {
	Email string `json:"email" required:"true"`
}

type resetRequest struct {
	Token    string `json:"token" required:"true"`
	Password string `json:"password" required:"true"`
}

type nameRequest struct {
	Name string `json:"name" required:"true"`
}

// keyJSONDoc is keyJSON's shape.
type keyJSONDoc struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	KeyPreview string  `json:"keyPreview"`
	CreatedAt  string  `json:"createdAt"`
	LastUsed   *string `json:"lastUsed"`
}

type keysAnswer struct {
	Keys []keyJSONDoc `json:"keys"`
}

type newKeyAnswer struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Key       string `json:"key" doc:"the API key, shown only here"`
	CreatedAt string `json:"createdAt"`
}

// settingsAnswer is settingsJSON's shape.
type settingsAnswer struct {
	ID                 string          `json:"id"`
	Email              string          `json:"email"`
	EmailVerified      bool            `json:"emailVerified"`
	PendingEmail       *string         `json:"pendingEmail"`
	Name               string          `json:"name"`
	Role               string          `json:"role"`
	Plan               *string         `json:"plan"`
	SubscriptionStatus string          `json:"subscriptionStatus"`
	Credits            json.Number     `json:"credits" doc:"USD"`
	TwoFactorEnabled   bool            `json:"twoFactorEnabled"`
	Notifications      json.RawMessage `json:"notifications"`
	CreatedAt          string          `json:"createdAt"`
}

type passwordChange struct {
	CurrentPassword string `json:"currentPassword" required:"true"`
	NewPassword     string `json:"newPassword" required:"true"`
}

type creditsAnswer struct {
	Credits         json.Number `json:"credits" doc:"USD"`
	BalanceMicroUSD int64       `json:"balanceMicroUsd"`
	ReferralCode    *string     `json:"referralCode"`
	ReferralCount   int64       `json:"referralCount"`
	Plan            *string     `json:"plan"`
}
