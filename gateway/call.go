package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/secrets"
	"github.com/agentbot/gateway/core/store"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// DefaultID is the target of a call that names none.
const DefaultID = "generate-text"

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._:-]{0,127}$`)

// call: POST /api/v1/gateway. The target comes from X-Plugin-Id, else the body's
// "plugin", else generate-text; the rest of the body is the call's input.
func (g *Gateway) call(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	start := time.Now()
	body, err := readCallBody(r)
	if err != nil {
		return err
	}
	id := r.Header.Get("X-Plugin-Id")
	named, err := body.id()
	if err != nil {
		return err
	}
	if id == "" {
		id = named
	}
	if id == "" {
		id = DefaultID
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		return g.idempotent(w, r, key, body.raw, func(w http.ResponseWriter) error {
			return g.serve(w, r, id, body, start, false)
		})
	}
	return g.serve(w, r, id, body, start, false)
}

// Direct returns a handler that calls one target outside the gateway's
// envelope: the id is prefix + the route's :name, and the answer is the
// target's own output (e.g. POST /api/skills/:name runs "skill:<name>").
// Authentication, payment, deadlines and usage are the gateway's.
func (g *Gateway) Direct(prefix string) api.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) error {
		start := time.Now()
		body, err := readCallBody(r)
		if err != nil {
			return err
		}
		return g.serve(w, r, prefix+ps.ByName("name"), body, start, true)
	}
}

// serve runs a call of id with the given input. raw answers with the target's
// output alone instead of the gateway's envelope (and never streams).
func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, id string, body *callBody, start time.Time, raw bool) error {
	if !idRE.MatchString(id) {
		return api.BadRequest(api.CodeInvalidPluginID, "Plugin id must be lower-case letters, digits and ._:- (at most 128)")
	}
	stream, err := body.streaming()
	if err != nil {
		return err
	}
	d, target, ok, err := g.resolve(r.Context(), id)
	if err != nil {
		return err
	}
	if !ok {
		return api.Errorf(http.StatusNotFound, api.CodeUnknownPlugin, "No plugin registered for id %q", id)
	}
	p, ci, err := g.identify(r)
	if err != nil {
		return err
	}
	c := &payments.Request{Target: id, PriceMicroUSD: g.price(target), Principal: p}
	if ci != nil {
		c.User = ci.User
	}
	pay, err := g.authorize(r, c)
	if err != nil {
		return err
	}
	req := &provider.InvokeRequest{Capability: id, Input: body.input(), Caller: g.caller(p, ci, api.RequestID(r.Context()))}
	w.Header().Set("X-Plugin-Id", id)
	if stream && target.Streaming && !raw {
		return g.stream(w, r, d, req, c, pay, start)
	}
	resp, err := d.Invoke(r.Context(), req)
	var failed *api.Error
	var usage provider.Usage
	switch {
	case err != nil:
		failed = dispatchError(r.Context(), err)
	case resp.Error != nil:
		failed = pluginError(resp.Error)
	case len(resp.Output) > 0 && !json.Valid(resp.Output):
		failed, usage = malformedError(nil), resp.Usage
	default:
		usage = resp.Usage
	}
	if perr := g.finish(r.Context(), c, pay, failed, false, usage, start); perr != nil && failed == nil {
		return perr
	}
	if failed != nil {
		return failed
	}
	setReceipt(w, pay)
	out := resp.Output
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	if raw {
		api.OK(w, out)
		return nil
	}
	api.RawJSON(w, http.StatusOK, envelope(id, out, g.now(), paymentJSON(pay)))
	return nil
}

// envelope is a call's answer, {"payment", "plugin", "result", "timestamp"},
// written around the target's output as it came (checked to be valid JSON,
// never decoded and encoded again).
func envelope(id string, out []byte, at time.Time, pay paymentInfo) []byte {
	p, _ := json.Marshal(pay)
	b := make([]byte, 0, len(out)+len(p)+len(id)+96)
	b = append(b, `{"payment":`...)
	b = append(b, p...)
	b = append(b, `,"plugin":`...)
	b = strconv.AppendQuote(b, id) // an id is [a-z0-9._:-]: quoted alike in Go and JSON
	b = append(b, `,"result":`...)
	b = append(b, out...)
	b = append(b, `,"timestamp":"`...)
	b = at.AppendFormat(b, time.RFC3339Nano)
	return append(b, "\"}\n"...)
}

// list: GET /api/v1/gateway → the ids callers can target, with prices.
func (g *Gateway) list(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	type lister interface {
		Targets(ctx context.Context) ([]Target, error)
	}
	var out []map[string]any
	for _, d := range g.Dispatchers {
		l, ok := d.(lister)
		if !ok {
			continue
		}
		targets, err := l.Targets(r.Context())
		if err != nil {
			return err
		}
		for _, t := range targets {
			out = append(out, map[string]any{"id": t.ID, "streaming": t.Streaming,
				"price": money.FormatUSD(g.price(t)), "currency": "usd"})
		}
	}
	methods := []payments.Method{payments.MethodStripe}
	if l, ok := g.Payer.(interface{ Methods() []payments.Method }); ok {
		methods = l.Methods()
	}
	api.OK(w, map[string]any{"plugins": out, "default": DefaultID, "paymentMethods": methods})
	return nil
}

// identify returns the caller (nil when anonymous) and their account. A
// presented but bad credential is an error, never silently anonymous.
func (g *Gateway) identify(r *http.Request) (*auth.Principal, *store.CallerInfo, error) {
	p, err := auth.Require(r)
	if errors.Is(err, api.ErrAuthRequired) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	g.init()
	ci, err := g.callers.get(r.Context(), g.Store, p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, api.Unauthorized(api.CodeTokenInvalid, "The account behind this credential no longer exists")
	}
	if err != nil {
		return nil, nil, err
	}
	return p, ci, nil
}

// caller is the provider's view of who is calling, with BYOK keys opened.
func (g *Gateway) caller(p *auth.Principal, ci *store.CallerInfo, requestID string) provider.Caller {
	c := provider.Caller{RequestID: requestID}
	if p == nil {
		return c
	}
	c.UserID, c.Email, c.Admin = p.UserID, p.Email, p.Admin
	if ci == nil {
		return c
	}
	c.Plan, c.SubscriptionStatus = ci.User.Plan, ci.User.SubscriptionStatus
	if g.Secrets != nil && len(ci.BYOK) > 0 {
		c.Credentials = map[string]string{}
		for prov, sealed := range ci.BYOK {
			key, err := g.Secrets.Open(sealed, secrets.BYOKLabel(p.UserID, prov))
			if err != nil {
				g.log().Warn("cannot open BYOK key; ignoring it", "user_id", p.UserID, "provider", prov)
				continue
			}
			c.Credentials[prov] = string(key)
		}
	}
	return c
}

// prepay returns what settles a machine payment as a stream's response
// starts (nil when there is none): its headers go out before the outcome is
// known, and the receipt must go with them. Until then nothing has been sent,
// so a stream that fails first releases the payment instead. A client that
// has already gone is not charged; a settlement once begun is finished.
func (g *Gateway) prepay(w http.ResponseWriter, r *http.Request, c *payments.Request, pay *paid) func() error {
	if pay.charge == nil || !pay.charge.NeedsReceipt() {
		return nil
	}
	return func() error {
		if r.Context().Err() != nil {
			return callError(context.Canceled)
		}
		ctx := context.WithoutCancel(r.Context())
		refused, err := g.Payer.Settle(ctx, pay.charge, payments.Outcome{OK: true, CostMicroUSD: c.PriceMicroUSD})
		if err != nil {
			return err
		}
		if refused != nil {
			return refusalError(refused)
		}
		setReceipt(w, pay)
		return nil
	}
}

// finish settles the payment and records usage, whatever happened to the
// client's connection. A call is charged when it succeeded or when some of its
// output reached the client (delivered: a stream that failed or was abandoned
// midway); otherwise it is refunded. It returns the answer to give instead of
// the call's output when a machine payment could not be settled.
func (g *Gateway) finish(ctx context.Context, c *payments.Request, pay *paid, failed *api.Error, delivered bool,
	usage provider.Usage, start time.Time) *api.Error {
	refusal, _ := g.account(ctx, c, pay, failed, delivered, usage, start, attribution{})
	return refusal
}

// settle is finish for a call made on a user's behalf: it returns what the
// call was charged.
func (g *Gateway) settle(ctx context.Context, c *payments.Request, pay *paid, failed *api.Error, delivered bool,
	usage provider.Usage, start time.Time, attr attribution) int64 {
	_, cost := g.account(ctx, c, pay, failed, delivered, usage, start, attr)
	return cost
}

// attribution names the agent run a call's usage belongs to.
type attribution struct{ agentID, runID string }

// account settles the payment and records usage (see finish), returning the
// refusal to answer with, if any, and what was charged.
func (g *Gateway) account(ctx context.Context, c *payments.Request, pay *paid, failed *api.Error, delivered bool,
	usage provider.Usage, start time.Time, attr attribution) (*api.Error, int64) {
	ctx = context.WithoutCancel(ctx)
	status := http.StatusOK
	if failed != nil {
		status = failed.Status
	}
	charged := failed == nil || delivered || (pay.charge != nil && pay.charge.Settled())
	cost := int64(0)
	if charged {
		cost = c.PriceMicroUSD
	}
	var refusal *api.Error
	if pay.charge != nil {
		refused, err := g.Payer.Settle(ctx, pay.charge, payments.Outcome{OK: charged, CostMicroUSD: cost})
		if err != nil {
			g.log().Error("settle payment", "plugin", c.Target, "err", err)
		}
		if refused != nil {
			refusal = refusalError(refused)
			status, cost = refusal.Status, 0
		}
	}
	if c.Principal == nil {
		return refusal, cost
	}
	g.init()
	g.usage.record(store.UsageEvent{UserID: c.Principal.UserID, Target: c.Target, Status: status,
		Duration: time.Since(start), InputTokens: usage.InputTokens, OutputTokens: usage.OutputTokens,
		PriceMicroUSD: cost, UpstreamMicroUSD: usage.CostMicroUSD, PaymentMethod: string(pay.method),
		AgentID: attr.agentID, RunID: attr.runID, CreatedAt: g.now()})
	return refusal, cost
}

// callError maps a dispatch failure to the contract's answer. Unavailability
// is checked before cancellation: the plugin host reports a connection torn
// down under a call as ErrUnavailable joined with context.Canceled.
func callError(err error) *api.Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &api.Error{Status: http.StatusGatewayTimeout, Code: api.CodePluginTimeout, Message: "The provider did not answer in time", Err: err}
	case errors.Is(err, provider.ErrUnavailable):
		return &api.Error{Status: http.StatusBadGateway, Code: api.CodePluginUnavailable, Message: "The provider is unavailable; try again shortly", Err: err}
	case errors.Is(err, context.Canceled):
		return &api.Error{Status: 499, Code: api.CodeClientClosed, Message: "The client closed the request", Err: err}
	}
	return &api.Error{Status: http.StatusBadGateway, Code: api.CodePluginUnavailable, Message: "The provider is unavailable; try again shortly", Err: err}
}

// dispatchError is callError for a call made with the request's context: a
// caller who went away is 499 whatever the dispatcher made of the
// cancellation (a transport may report it as unavailability).
func dispatchError(ctx context.Context, err error) *api.Error {
	if ctx.Err() != nil {
		return callError(context.Canceled)
	}
	return callError(err)
}

// malformedError is the answer to output that is not the JSON it must be.
func malformedError(err error) *api.Error {
	return &api.Error{Status: http.StatusBadGateway, Code: api.CodePluginError, Message: "The provider sent malformed data", Err: err}
}

// pluginError renders a provider's user-facing error; a status outside 4xx/5xx is a 502.
func pluginError(e *provider.Error) *api.Error {
	status := e.Status
	if status < 400 || status > 599 {
		status = http.StatusBadGateway
	}
	code := e.Code
	if code == "" {
		code = "PLUGIN_ERROR"
	}
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	fields := map[string]any{}
	for k, v := range e.Fields {
		if k != "error" && k != "code" && k != "request_id" {
			fields[k] = v
		}
	}
	return &api.Error{Status: status, Code: api.Code(code), Message: msg, Fields: fields}
}
