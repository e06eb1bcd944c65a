package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/payments"
	"github.com/agentbot/gateway/sdk/provider"
)

// OnBehalf is a call the platform makes for one of its users — an agent's
// model call or tool call — rather than a request the user sent. It is paid
// like the user's own calls by the platform methods (subscription, credits),
// never by a machine payment, and its usage is attributed to the agent's run.
type OnBehalf struct {
	Principal *auth.Principal
	AgentID   string
	RunID     string
	// RequestID ties the call to the request or job that caused it.
	RequestID string
}

// Invoker runs a call once it is paid for. nil: the dispatcher serving the id.
type Invoker func(ctx context.Context, req *provider.InvokeRequest) (*provider.InvokeResponse, error)

// Result is what a call on behalf of a user produced: the target's output or
// its failure as the *api.Error a client would have seen, what it was charged,
// and the usage it reported.
type Result struct {
	Output        json.RawMessage
	Failed        *api.Error
	ChargedMicros int64
	Usage         provider.Usage
}

// Price is what a call of id costs (configuration first, then the target's
// own price); ok is false when no dispatcher serves id.
func (g *Gateway) Price(ctx context.Context, id string) (price int64, ok bool, err error) {
	_, t, ok, err := g.resolve(ctx, id)
	if err != nil || !ok {
		return 0, ok, err
	}
	return g.price(t), true, nil
}

// InvokeAs calls id with input for who: the payment step authorizes the
// price, invoke (or the id's dispatcher) runs it, and the call is settled and
// recorded as usage of the agent's run. A payment refused or an unknown id is
// a Result with Failed set; err is only for failures of the platform itself.
func (g *Gateway) InvokeAs(ctx context.Context, who OnBehalf, id string, input json.RawMessage, invoke Invoker) (*Result, error) {
	start := time.Now()
	d, target, ok, err := g.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &Result{Failed: api.Errorf(http.StatusNotFound, api.CodeUnknownPlugin, "No plugin registered for id %q", id)}, nil
	}
	c, pay, req, failed, err := g.payAs(ctx, who, id, g.price(target), input)
	if err != nil || failed != nil {
		return &Result{Failed: failed}, err
	}
	if invoke == nil {
		invoke = d.Invoke
	}
	resp, err := invoke(ctx, req)
	res := &Result{}
	switch {
	case err != nil:
		res.Failed = dispatchError(ctx, err)
	case resp.Error != nil:
		res.Failed, res.Usage = pluginError(resp.Error), resp.Usage
	case len(resp.Output) > 0 && !json.Valid(resp.Output):
		res.Failed, res.Usage = malformedError(nil), resp.Usage
	default:
		res.Output, res.Usage = resp.Output, resp.Usage
	}
	res.ChargedMicros = g.settleAs(ctx, c, pay, who, res.Failed, false, res.Usage, start)
	return res, nil
}

// StreamAs is InvokeAs for a streaming target: onData gets each chunk's data
// as it arrives, and the last chunk's data is the Result's Output. A call
// that delivered some output is charged even when it then failed.
func (g *Gateway) StreamAs(ctx context.Context, who OnBehalf, id string, input json.RawMessage, onData func(json.RawMessage) error) (*Result, error) {
	start := time.Now()
	d, target, ok, err := g.resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &Result{Failed: api.Errorf(http.StatusNotFound, api.CodeUnknownPlugin, "No plugin registered for id %q", id)}, nil
	}
	if !target.Streaming {
		return g.InvokeAs(ctx, who, id, input, nil)
	}
	c, pay, req, failed, err := g.payAs(ctx, who, id, g.price(target), input)
	if err != nil || failed != nil {
		return &Result{Failed: failed}, err
	}
	res := &Result{}
	delivered := false
	res.Usage, res.Failed = g.pump(ctx, d, req, func(data json.RawMessage) error {
		delivered = true
		res.Output = append(res.Output[:0], data...)
		return onData(data)
	}, func() error { return nil })
	res.ChargedMicros = g.settleAs(ctx, c, pay, who, res.Failed, delivered, res.Usage, start)
	return res, nil
}

// payAs runs the payment step for a call on behalf of who.
func (g *Gateway) payAs(ctx context.Context, who OnBehalf, id string, price int64, input json.RawMessage) (
	*payments.Request, *paid, *provider.InvokeRequest, *api.Error, error) {
	if who.Principal == nil {
		return nil, nil, nil, nil, errors.New("gateway: a call on behalf of a user needs the user")
	}
	g.init()
	ci, err := g.callers.get(ctx, g.Store, who.Principal.UserID)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	c := &payments.Request{Target: id, PriceMicroUSD: price, Principal: who.Principal, User: ci.User,
		Method: payments.MethodStripe}
	d, err := g.Payer.Authorize(ctx, c)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	var pay *paid
	switch d := d.(type) {
	case *payments.Covered:
		pay = &paid{method: d.Method}
	case *payments.Charged:
		pay = &paid{method: d.Method, charge: d}
	case *payments.Offer:
		return nil, nil, nil, offerError(d), nil
	case *payments.Refused:
		return nil, nil, nil, refusalError(d), nil
	default:
		return nil, nil, nil, nil, fmt.Errorf("payment step: unexpected decision %T", d)
	}
	req := &provider.InvokeRequest{Capability: id, Input: input, Caller: g.caller(who.Principal, ci, who.RequestID)}
	return c, pay, req, nil, nil
}

// settleAs settles a call on behalf of who and records its usage, returning
// what it was charged.
func (g *Gateway) settleAs(ctx context.Context, c *payments.Request, pay *paid, who OnBehalf, failed *api.Error,
	delivered bool, usage provider.Usage, start time.Time) int64 {
	return g.settle(ctx, c, pay, failed, delivered, usage, start, attribution{agentID: who.AgentID, runID: who.RunID})
}
