package channels

import "time"

// The types below document the channel routes' JSON answers for the OpenAPI
// document (route.Route's Response); the handlers build the same shapes as
// maps (view).

// ChannelView documents a channel binding as the API shows it (view): in
// POST /api/provision's answer, and in an agent's and instance's channels.
type ChannelView struct {
	ID            string           `json:"id"`
	Channel       string           `json:"channel" enum:"telegram,discord,whatsapp"`
	Name          string           `json:"name"`
	BotID         string           `json:"botId"`
	TokenPreview  string           `json:"tokenPreview"`
	Mode          string           `json:"mode" enum:"polling,gateway,webhook"`
	State         string           `json:"state"`
	Connected     bool             `json:"connected"`
	Restarts      int64            `json:"restarts"`
	LastInboundAt *time.Time       `json:"lastInboundAt"`
	LastAliveAt   *time.Time       `json:"lastAliveAt"`
	LastError     *string          `json:"lastError"`
	LastErrorAt   *time.Time       `json:"lastErrorAt"`
	AllowFrom     []string         `json:"allowFrom"`
	WebhookURL    string           `json:"webhookUrl,omitempty"`
	Messages      map[string]int64 `json:"messages,omitempty" doc:"inbound messages by outcome"`
	VerifyToken   string           `json:"verifyToken,omitempty" doc:"WhatsApp: the verify token made up for you, shown once"`
}

type provisionAnswer struct {
	Success          bool   `json:"success"`
	AgentID          string `json:"agentId"`
	UserID           string `json:"userId"`
	ID               string `json:"id"`
	Name             string `json:"name"`
	AIProvider       string `json:"aiProvider"`
	AIProviderConfig struct {
		Model string `json:"model"`
	} `json:"aiProviderConfig"`
	Plan        string        `json:"plan"`
	Status      string        `json:"status" enum:"active"`
	AgentStatus string        `json:"agentStatus"`
	URL         string        `json:"url"`
	CreatedAt   time.Time     `json:"createdAt"`
	Channels    []ChannelView `json:"channels"`
	Metadata    struct {
		Channels map[string]string `json:"channels"`
	} `json:"metadata"`
}
