package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// APIKey is a key's metadata; the secret is shown only by CreateKey.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	KeyPreview string     `json:"keyPreview"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsed   *time.Time `json:"lastUsed"`
}

// NewAPIKey is a key just created, with its secret.
type NewAPIKey struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Key       string    `json:"key"` // sk_…; not shown again
	CreatedAt time.Time `json:"createdAt"`
}

// CreateKey creates an API key named name.
func (c *Client) CreateKey(ctx context.Context, name string) (*NewAPIKey, error) {
	var k NewAPIKey
	if _, err := c.do(ctx, http.MethodPost, "/api/keys", nil, map[string]string{"name": name}, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ListKeys lists the caller's keys, newest first.
func (c *Client) ListKeys(ctx context.Context) ([]APIKey, error) {
	var out struct {
		Keys []APIKey `json:"keys"`
	}
	if _, err := c.do(ctx, http.MethodGet, "/api/keys", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Keys, nil
}

// GetKey returns one of the caller's keys (404 for another user's).
func (c *Client) GetKey(ctx context.Context, id string) (*APIKey, error) {
	var k APIKey
	if _, err := c.do(ctx, http.MethodGet, "/api/keys/"+url.PathEscape(id), nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// DeleteKey deletes one of the caller's keys; it stops working at once.
func (c *Client) DeleteKey(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/keys/"+url.PathEscape(id), nil, nil, nil)
	return err
}
