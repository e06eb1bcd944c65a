package channels

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/route"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
)

// Provisioning configures POST /api/provision.
type Provisioning struct {
	// ActivePlan is the caller's plan while their subscription is active.
	ActivePlan func(ctx context.Context, userID string) (billing.Plan, bool, error)
	// Plans names the plans a request may name.
	Plans *billing.Plans
	// Models is the model table, cheapest first: an aiProvider becomes the
	// first model of that provider the caller's plan may use.
	Models []Model
	// RuntimeVersion is a new agent's runtime version.
	RuntimeVersion string
	// AgentURL is an agent's live channel URL (its websocketUrl).
	AgentURL func(agentID string) string
	// CheckTimeout bounds the live checks of the tokens [10s].
	CheckTimeout time.Duration
}

// AIProviders are the values aiProvider takes; the first is the default.
var AIProviders = []string{"openrouter", "gemini", "groq", "anthropic", "openai"}

// Model is a model of the model table, as provisioning chooses among them.
type Model struct {
	ID, Provider string
	// Tier is the smallest plan tier that may use the model (small, mid,
	// large, network).
	Tier string
}

var tierRank = map[string]int{"small": 1, "mid": 2, "large": 3, "network": 4, "all": 4}

// chooseModel is the first model of provider ("": any) that the plan may
// use (an admin: any model).
func chooseModel(models []Model, provider string, plan billing.Plan, admin bool) (string, bool) {
	for _, m := range models {
		if provider != "" && m.Provider != provider {
			continue
		}
		ok := admin
		switch {
		case ok:
		case len(plan.Models) > 0:
			ok = contains(plan.Models, m.ID)
		default:
			ok = tierRank[m.Tier] > 0 && tierRank[m.Tier] <= tierRank[plan.ModelTier]
		}
		if ok {
			return m.ID, true
		}
	}
	return "", false
}

// Routes are POST /api/provision and the webhook endpoints.
func (s *Service) Routes(p Provisioning) []route.Route {
	hook := func(method string) route.Route {
		return route.Route{Method: method, Path: "/api/channels/:kind/:id", Handler: s.webhook, Access: route.Public,
			Response: route.Text(""), Relays: true, Errors: []api.Code{api.CodeNotFound, api.CodeWebhookSignatureInvalid,
				api.CodeWebhookVerifyRefused, api.CodeInvalidJSON, api.CodeInvalidBody, api.CodePayloadTooLarge,
				api.CodeMethodNotAllowed, api.CodeWebhookNotKept},
			Summary: "channel webhooks: Telegram updates (secret token header), WhatsApp Cloud API (GET `hub.challenge` with the verify token; POST signed with `X-Hub-Signature-256`); a forged delivery → 401, nothing kept"}
	}
	return []route.Route{
		{Method: http.MethodPost, Path: "/api/provision", Handler: s.provision(p), Access: route.User,
			Request: provisionInput{TelegramToken: "123456:ABC-DEF…", Plan: "solo", Name: "Support bot"},
			Status:  http.StatusCreated, Response: provisionAnswer{},
			Errors: []api.Code{api.CodeValidationError, api.CodeInvalidPlan, api.CodePaymentRequired, api.CodeTierLimit,
				api.CodeChannelCredentialRefused, api.CodeChannelUnavailable, api.CodeChannelInUse},
			Summary: "`{telegramToken?, discordBotToken?, whatsappToken? (+ whatsappPhoneNumberId, whatsappAppSecret, whatsappVerifyToken?), aiProvider?, plan, name?, telegramUserId?, allowFrom?}` → 201 `{success, agentId, userId, aiProvider, aiProviderConfig{model}, plan, channels[…], metadata{channels}}`; tokens checked live before anything is stored, sealed at rest, never echoed; 400 → 402 → 429 → 400/502 (channel refused or unreachable) → 409 (bot already connected)"},
		hook(http.MethodGet), hook(http.MethodPost),
	}
}

type provisionInput struct {
	Name                  string              `json:"name"`
	TelegramToken         string              `json:"telegramToken"`
	TelegramUserID        json.RawMessage     `json:"telegramUserId"`
	DiscordBotToken       string              `json:"discordBotToken"`
	WhatsAppToken         string              `json:"whatsappToken"`
	WhatsAppPhoneNumberID string              `json:"whatsappPhoneNumberId"`
	WhatsAppAppSecret     string              `json:"whatsappAppSecret"`
	WhatsAppVerifyToken   string              `json:"whatsappVerifyToken"`
	AllowFrom             map[string][]string `json:"allowFrom"`
	AIProvider            string              `json:"aiProvider"`
	APIKey                string              `json:"apiKey"`
	Plan                  string              `json:"plan"`
	Email                 string              `json:"email"`
	StripeSubscriptionID  string              `json:"stripeSubscriptionId"`
	// Deprecated by the seed API and refused.
	WhatsAppBusinessAccountID json.RawMessage `json:"whatsappBusinessAccountId"`
	DiscordGuildID            json.RawMessage `json:"discordGuildId"`
	DiscordChannelID          json.RawMessage `json:"discordChannelId"`
}

var senderIDPattern = regexp.MustCompile(`^[0-9A-Za-z_.+-]{1,64}$`)

// wanted is one channel a provisioning asks for.
type wanted struct {
	kind string
	cred Credential
	id   Identity
	// generated is a verify token made up for the caller (shown once).
	generated bool
}

// check validates the request's shape, in the order the fields are listed
// in the README; it returns the channels asked for.
func (in *provisionInput) check(s *Service) ([]*wanted, error) {
	for field, v := range map[string]json.RawMessage{"whatsappBusinessAccountId": in.WhatsAppBusinessAccountID,
		"discordGuildId": in.DiscordGuildID, "discordChannelId": in.DiscordChannelID} {
		if v != nil {
			return nil, api.Validation(field + " is no longer accepted: a Discord bot answers in DMs and where it is mentioned; a WhatsApp number is named by whatsappPhoneNumberId")
		}
	}
	if in.APIKey != "" {
		return nil, api.Validation(`apiKey is not taken here: bring your own provider key with POST /api/billing {"action":"enable-byok"}`)
	}
	in.Name = strings.TrimSpace(in.Name)
	if utf8.RuneCountInString(in.Name) > 100 || strings.ContainsFunc(in.Name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return nil, api.Validation("name must be at most 100 printable characters")
	}
	var ws []*wanted
	if t := strings.TrimSpace(in.TelegramToken); t != "" {
		ws = append(ws, &wanted{kind: Telegram, cred: Credential{Token: t}})
	}
	if t := strings.TrimSpace(in.DiscordBotToken); t != "" {
		ws = append(ws, &wanted{kind: Discord, cred: Credential{Token: t}})
	}
	if t := strings.TrimSpace(in.WhatsAppToken); t != "" {
		w := &wanted{kind: WhatsApp, cred: Credential{Token: t, PhoneNumberID: strings.TrimSpace(in.WhatsAppPhoneNumberID),
			AppSecret: strings.TrimSpace(in.WhatsAppAppSecret), VerifyToken: strings.TrimSpace(in.WhatsAppVerifyToken)}}
		if w.cred.VerifyToken == "" {
			var b [16]byte
			_, _ = rand.Read(b[:])
			w.cred.VerifyToken, w.generated = hex.EncodeToString(b[:]), true
		}
		ws = append(ws, w)
	} else if in.WhatsAppPhoneNumberID != "" || in.WhatsAppAppSecret != "" || in.WhatsAppVerifyToken != "" {
		return nil, api.Validation("whatsappPhoneNumberId, whatsappAppSecret and whatsappVerifyToken go with whatsappToken")
	}
	if len(ws) == 0 {
		return nil, api.Validation("At least one channel token is required: telegramToken, discordBotToken or whatsappToken")
	}
	for _, w := range ws {
		d, ok := s.drivers[w.kind]
		if !ok {
			return nil, api.Validation(w.kind + " is not enabled on this server")
		}
		if v, ok := d.(ShapeChecker); ok {
			if err := v.ValidCredential(w.cred); err != nil {
				var ce *Error
				if errors.As(err, &ce) {
					return nil, api.Validation(ce.Message)
				}
				return nil, api.Validation(err.Error())
			}
		}
	}
	if len(in.TelegramUserID) > 0 {
		id := strings.Trim(string(in.TelegramUserID), `"`)
		if in.TelegramToken == "" || !senderIDPattern.MatchString(id) {
			return nil, api.Validation("telegramUserId must be a Telegram user id and goes with telegramToken")
		}
		in.AllowFrom = mergeAllow(in.AllowFrom, Telegram, id)
	}
	for kind, ids := range in.AllowFrom {
		if _, ok := s.drivers[kind]; !ok {
			return nil, api.Validation("allowFrom takes telegram, discord and whatsapp")
		}
		if len(ids) > 100 {
			return nil, api.Validation("allowFrom lists at most 100 senders per channel")
		}
		for _, id := range ids {
			if !senderIDPattern.MatchString(id) {
				return nil, api.Validation(fmt.Sprintf("allowFrom.%s: %q is not a sender id", kind, id))
			}
		}
	}
	in.AIProvider = strings.ToLower(strings.TrimSpace(in.AIProvider))
	if in.AIProvider != "" && !contains(AIProviders, in.AIProvider) {
		return nil, api.Validation("aiProvider must be one of " + strings.Join(AIProviders, ", "))
	}
	return ws, nil
}

func mergeAllow(m map[string][]string, kind, id string) map[string][]string {
	if m == nil {
		m = map[string][]string{}
	}
	if !contains(m[kind], id) {
		m[kind] = append(m[kind], id)
	}
	return m
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Service) provision(p Provisioning) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
		ctx := r.Context()
		pr, _ := auth.FromContext(ctx)
		var in provisionInput
		if err := api.Decode(r, &in); err != nil {
			return err
		}
		ws, err := in.check(s)
		if err != nil {
			return err
		}
		if in.Email != "" && !strings.EqualFold(strings.TrimSpace(in.Email), pr.Email) {
			return api.Validation("email must be your account's (or left out)")
		}
		// The plan: the account's own, active, is what counts (402 without
		// one); a plan named in the body must be a plan, and that one.
		in.Plan = strings.ToLower(strings.TrimSpace(in.Plan))
		if in.Plan != "" && in.Plan != "free" {
			if _, ok := p.Plans.Get(in.Plan); !ok {
				return api.Errorf(http.StatusBadRequest, api.CodeInvalidPlan, "Invalid plan %q", in.Plan)
			}
		}
		plan, active, err := p.ActivePlan(ctx, pr.UserID)
		if err != nil {
			return err
		}
		limit := int64(billing.Unlimited)
		if !pr.Admin {
			switch {
			case in.Plan == "" || in.Plan == "free":
				return api.Errorf(http.StatusPaymentRequired, api.CodePaymentRequired, "A paid plan is required: name your plan (solo, collective, label or network)")
			case !active:
				return api.Errorf(http.StatusPaymentRequired, api.CodePaymentRequired, "Active subscription required to provision agents")
			case plan.Name != in.Plan:
				return api.Errorf(http.StatusPaymentRequired, api.CodePaymentRequired, "Your plan is %s, not %s; change it through /api/billing", plan.Name, in.Plan).
					With("plan", plan.Name)
			}
			limit = int64(plan.Agents)
		}
		if limit >= 0 {
			if n, err := s.cfg.Store.CountAgents(ctx, pr.UserID); err != nil {
				return err
			} else if n >= limit {
				return api.Errorf(http.StatusTooManyRequests, api.CodeTierLimit, "Agent limit reached for %s tier", plan.Name).
					With("current", n).With("limit", limit)
			}
		}
		// The model: the provider's first the plan may use. Without an
		// aiProvider, the default provider's, else the plan's first model.
		provider := in.AIProvider
		if provider == "" {
			provider = AIProviders[0]
			if _, ok := chooseModel(p.Models, provider, plan, pr.Admin); !ok {
				provider = ""
			}
		}
		model, ok := chooseModel(p.Models, provider, plan, pr.Admin)
		if !ok {
			var offered []string
			for _, prov := range AIProviders {
				if _, ok := chooseModel(p.Models, prov, plan, pr.Admin); ok {
					offered = append(offered, prov)
				}
			}
			return api.Validation(fmt.Sprintf("Your %s plan includes no %s model", plan.Name, in.AIProvider)).
				With("aiProviders", offered)
		}
		for _, m := range p.Models {
			if m.ID == model {
				in.AIProvider = m.Provider
			}
		}
		if err := s.checkLive(ctx, p, ws); err != nil {
			return err
		}
		name := in.Name
		if name == "" {
			name = ws[0].id.Name
		}
		if name == "" {
			name = ws[0].kind + " agent"
		}
		mode := func(kind string) string {
			switch {
			case kind == WhatsApp, kind == Telegram && s.Webhooks():
				return store.ChannelWebhook
			case kind == Discord:
				return store.ChannelGateway
			}
			return store.ChannelPolling
		}
		nbs := make([]store.NewChannelBinding, len(ws))
		for i, wt := range ws {
			plain, _ := json.Marshal(wt.cred)
			nbs[i] = store.NewChannelBinding{Kind: wt.kind, ExternalID: wt.id.ExternalID, DisplayName: clip(wt.id.Name, 200),
				Credential: s.cfg.Secrets.Seal(plain, secrets.ChannelLabel(pr.UserID, wt.kind, wt.id.ExternalID)),
				Preview:    preview(wt.cred.Token), AllowFrom: in.AllowFrom[wt.kind], Mode: mode(wt.kind)}
		}
		a, bs, err := s.cfg.Store.CreateChannelAgent(ctx, pr.UserID, store.NewAgent{Name: clip(name, 400), Model: model,
			Config: json.RawMessage(`{}`), RuntimeVersion: p.RuntimeVersion}, limit, nbs)
		var le *store.AgentLimitError
		var inUse *store.ChannelInUseError
		switch {
		case errors.As(err, &le):
			return api.Errorf(http.StatusTooManyRequests, api.CodeTierLimit, "Agent limit reached for %s tier", plan.Name).
				With("current", le.Current).With("limit", le.Limit)
		case errors.As(err, &inUse):
			return api.Errorf(http.StatusConflict, api.CodeChannelInUse, "This %s bot is already connected to an agent", inUse.Kind).
				With("channel", inUse.Kind)
		case err != nil:
			return err
		}
		views := make([]map[string]any, len(bs))
		enabled := map[string]string{Telegram: "disabled", Discord: "disabled", WhatsApp: "disabled"}
		for i := range bs {
			s.connect(ctx, &bs[i])
			views[i] = s.view(&bs[i], nil)
			enabled[bs[i].Kind] = "enabled"
			for _, wt := range ws {
				if wt.kind == bs[i].Kind && wt.generated {
					views[i]["verifyToken"] = wt.cred.VerifyToken // shown once: paste it into Meta's webhook settings
				}
			}
		}
		s.poke()
		api.JSON(w, http.StatusCreated, map[string]any{"success": true, "agentId": a.ID, "userId": a.ID, "id": a.ID,
			"name": a.Name, "aiProvider": in.AIProvider, "aiProviderConfig": map[string]any{"model": model},
			"plan": plan.Name, "status": "active", "agentStatus": a.Status, "url": p.AgentURL(a.ID), "createdAt": a.CreatedAt,
			"channels": views, "metadata": map[string]any{"channels": enabled}})
		return nil
	}
}

// checkLive asks each channel, at once, whether it takes the credential.
func (s *Service) checkLive(ctx context.Context, p Provisioning, ws []*wanted) error {
	timeout := p.CheckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, wt := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.drivers[wt.kind].Check(ctx, wt.cred)
			if err == nil && (id.ExternalID == "" || len(id.ExternalID) > 100) {
				err = &Error{Code: CodeUnavailable, Message: "the channel did not say who the bot is"}
			}
			wt.id, errs[i] = id, err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			continue
		}
		var ce *Error
		if errors.As(err, &ce) && ce.Code == CodeCredentialRefused {
			return api.Errorf(http.StatusBadRequest, api.CodeChannelCredentialRefused, "%s refused the token: %s", ws[i].kind, ce.Message).
				With("channel", ws[i].kind)
		}
		return api.Errorf(http.StatusBadGateway, api.CodeChannelUnavailable, "%s could not check the token: %v", ws[i].kind, err).
			With("channel", ws[i].kind)
	}
	return nil
}

// connect points a new webhook binding's channel at this gateway (or, for
// Telegram polled by a node, makes sure no webhook is set), recording the
// outcome as the binding's state.
func (s *Service) connect(ctx context.Context, b *store.ChannelBinding) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	state, msg := store.ChannelConnected, ""
	reg, canRegister := s.drivers[b.Kind].(WebhookRegistrar)
	switch {
	case b.Mode == store.ChannelWebhook && canRegister:
		ob, err := s.open(b)
		if err == nil {
			err = reg.SetWebhook(ctx, ob, s.WebhookURL(b.Kind, b.ID))
		}
		if err != nil {
			state, msg = store.ChannelError, "setting the webhook: "+err.Error()
		}
	case b.Mode == store.ChannelWebhook:
		// WhatsApp: the owner points Meta's webhook at WebhookURL; the
		// number was checked at provisioning.
	case canRegister:
		ob, err := s.open(b)
		if err == nil {
			err = reg.DeleteWebhook(ctx, ob)
		}
		if err != nil {
			msg = "removing a webhook set elsewhere: " + err.Error()
		}
		state = store.ChannelPending // a node's receiver takes it from here
	default:
		return
	}
	if err := s.cfg.Store.SetChannelState(ctx, b.UserID, b.ID, store.Lease{}, state, msg); err != nil {
		s.cfg.Log.Warn("channels: recording a binding's state", "binding", b.ID, "err", err)
	}
	b.State, b.LastError = state, msg
}

// preview shows a token's first characters, never enough to use it.
func preview(token string) string {
	n := min(6, len(token)/4)
	return token[:n] + "…"
}

// view is a binding as the API shows it: never its credential.
func (s *Service) view(b *store.ChannelBinding, counts map[string]int64) map[string]any {
	v := map[string]any{"id": b.ID, "channel": b.Kind, "name": b.DisplayName, "botId": b.ExternalID, "tokenPreview": b.Preview,
		"mode": b.Mode, "state": b.State, "connected": s.connected(b), "restarts": b.Restarts,
		"lastInboundAt": b.LastInboundAt, "lastAliveAt": b.LastAliveAt, "lastError": nil, "lastErrorAt": b.LastErrorAt,
		"allowFrom": b.AllowFrom}
	if b.AllowFrom == nil {
		v["allowFrom"] = []string{}
	}
	if b.LastError != "" {
		v["lastError"] = b.LastError
	}
	if b.Mode == store.ChannelWebhook {
		v["webhookUrl"] = s.WebhookURL(b.Kind, b.ID)
	}
	if counts != nil {
		v["messages"] = counts
	}
	return v
}

// connected is whether a binding works now: a receiver whose last completed
// poll or acknowledged heartbeat is recent, or a webhook the channel
// accepted.
func (s *Service) connected(b *store.ChannelBinding) bool {
	if b.State != store.ChannelConnected {
		return false
	}
	if b.Mode == store.ChannelWebhook {
		return true
	}
	return b.LastAliveAt != nil && time.Since(*b.LastAliveAt) < s.cfg.StallAfter
}

// Status reports an agent's channels for its record and its instance stats.
func (s *Service) Status(ctx context.Context, userID, agentID string) ([]map[string]any, error) {
	bs, err := s.cfg.Store.ChannelBindings(ctx, userID, agentID)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(bs))
	for i := range bs {
		counts, err := s.cfg.Store.ChannelInboundCounts(ctx, userID, bs[i].ID)
		if err != nil {
			return nil, err
		}
		out[i] = s.view(&bs[i], counts)
	}
	return out, nil
}

// Restart restarts an agent's channels (`repair`): receivers stop wherever
// they run and a node starts them afresh; webhooks are registered again.
func (s *Service) Restart(ctx context.Context, userID, agentID string) (int64, error) {
	n, err := s.cfg.Store.RestartChannels(ctx, userID, agentID)
	if err != nil || n == 0 {
		return n, err
	}
	bs, err := s.cfg.Store.ChannelBindings(ctx, userID, agentID)
	if err != nil {
		return n, err
	}
	for i := range bs {
		if bs[i].Mode == store.ChannelWebhook {
			s.connect(ctx, &bs[i])
		}
	}
	return n, nil
}

// webhook takes a delivery for a binding: the driver authenticates it.
func (s *Service) webhook(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
	kind, id := ps.ByName("kind"), ps.ByName("id")
	d, ok := s.drivers[kind]
	hook, isHook := d.(Webhook)
	notFound := api.Errorf(http.StatusNotFound, api.CodeNotFound, "No such channel binding")
	if !ok || !isHook || len(id) > 64 {
		return notFound
	}
	owner, err := s.cfg.Store.ChannelBindingOwner(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	sb, err := s.cfg.Store.ChannelBinding(r.Context(), owner, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (sb.Kind != kind || sb.Mode != store.ChannelWebhook)) {
		return notFound
	}
	if err != nil {
		return err
	}
	b, err := s.open(sb)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	hook.ServeWebhook(w, r, b, webhookSink{s: s, ref: store.ChannelRef{ID: sb.ID, UserID: owner}})
	return nil
}
