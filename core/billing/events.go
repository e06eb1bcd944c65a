package billing

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/agentbot/gateway/core/store"
)

// effect is what a verified event means for billing, before its user is known.
type effect struct {
	// userHint is the user id the event names (client_reference_id or
	// metadata user_id); customer is its Stripe customer. The customer wins
	// when it is known: it is our own record.
	userHint string
	customer string
	sub      *store.Subscription
	credit   *store.CreditPurchase
	// ignored says why the event changes nothing of ours ("" when it does).
	ignored string
}

// ref is an expandable Stripe field: an id, or an object with one.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*r = ref(s)
		return nil
	}
	var o struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return err
	}
	*r = ref(o.ID)
	return nil
}

// The objects below decode only the fields billing reads, and accept both the
// shapes of stripe-go v76's API version and of newer ones (invoices moved
// their subscription under parent.subscription_details and their prices
// under pricing.price_details), since the webhook endpoint's version is the
// operator's choice.

type checkoutSession struct {
	ID                string            `json:"id"`
	Mode              string            `json:"mode"`
	PaymentStatus     string            `json:"payment_status"`
	ClientReferenceID string            `json:"client_reference_id"`
	Customer          ref               `json:"customer"`
	Subscription      ref               `json:"subscription"`
	Metadata          map[string]string `json:"metadata"`
}

type subscription struct {
	ID       string            `json:"id"`
	Status   string            `json:"status"`
	Customer ref               `json:"customer"`
	Metadata map[string]string `json:"metadata"`
	Items    struct {
		Data []struct {
			Price struct {
				ID string `json:"id"`
			} `json:"price"`
		} `json:"data"`
	} `json:"items"`
}

type invoice struct {
	ID                  string `json:"id"`
	Customer            ref    `json:"customer"`
	Subscription        ref    `json:"subscription"`
	SubscriptionDetails *struct {
		Metadata map[string]string `json:"metadata"`
	} `json:"subscription_details"`
	Parent *struct {
		SubscriptionDetails *struct {
			Subscription ref               `json:"subscription"`
			Metadata     map[string]string `json:"metadata"`
		} `json:"subscription_details"`
	} `json:"parent"`
	Lines struct {
		Data []struct {
			Price *struct {
				ID string `json:"id"`
			} `json:"price"`
			Pricing *struct {
				PriceDetails *struct {
					Price ref `json:"price"`
				} `json:"price_details"`
			} `json:"pricing"`
		} `json:"data"`
	} `json:"lines"`
}

// effectOf reduces a verified event to its effect. A malformed object is an
// error (400); an event billing does not act on has ignored set.
func (s *Service) effectOf(ev *stripe.Event) (effect, error) {
	raw := ev.Data.Raw
	switch ev.Type {
	case "checkout.session.completed", "checkout.session.async_payment_succeeded":
		var cs checkoutSession
		if err := json.Unmarshal(raw, &cs); err != nil {
			return effect{}, err
		}
		return s.sessionEffect(cs), nil
	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var sub subscription
		if err := json.Unmarshal(raw, &sub); err != nil {
			return effect{}, err
		}
		var prices []string
		for _, it := range sub.Items.Data {
			prices = append(prices, it.Price.ID)
		}
		e := effect{userHint: sub.Metadata["user_id"], customer: string(sub.Customer)}
		// kind "" (a price billing does not know) applies only to a
		// subscription already known.
		kind, plan := s.classify(sub.Metadata, prices)
		status := sub.Status
		if ev.Type == "customer.subscription.deleted" {
			status = "canceled"
		}
		if sub.ID == "" || status == "" {
			e.ignored = "subscription without id or status"
			return e, nil
		}
		e.sub = &store.Subscription{ID: sub.ID, Kind: kind, Plan: plan, Status: status}
		return e, nil
	case "invoice.payment_succeeded", "invoice.payment_failed":
		var inv invoice
		if err := json.Unmarshal(raw, &inv); err != nil {
			return effect{}, err
		}
		return s.invoiceEffect(inv, ev.Type == "invoice.payment_succeeded"), nil
	}
	return effect{ignored: "event type not handled"}, nil
}

func (s *Service) sessionEffect(cs checkoutSession) effect {
	e := effect{userHint: cs.ClientReferenceID, customer: string(cs.Customer)}
	if e.userHint == "" {
		e.userHint = cs.Metadata["user_id"]
	}
	switch cs.Mode {
	case "subscription":
		if cs.PaymentStatus != "paid" && cs.PaymentStatus != "no_payment_required" {
			e.ignored = "checkout not paid yet"
			return e
		}
		kind, plan := s.classify(cs.Metadata, nil)
		if kind == "" || cs.Subscription == "" {
			e.ignored = "checkout for something billing does not sell"
			return e
		}
		e.sub = &store.Subscription{ID: string(cs.Subscription), Kind: kind, Plan: plan, Status: "active"}
	case "payment":
		if cs.Metadata["kind"] != kindCredits {
			e.ignored = "payment for something billing does not sell"
			return e
		}
		if cs.PaymentStatus != "paid" {
			e.ignored = "payment not completed yet"
			return e
		}
		micro, err := strconv.ParseInt(cs.Metadata["credits_micro_usd"], 10, 64)
		if err != nil || micro <= 0 {
			micro = s.CreditPacks[cs.Metadata["price"]]
		}
		if micro <= 0 || cs.ID == "" {
			e.ignored = "credit purchase of an unknown pack"
			return e
		}
		e.credit = &store.CreditPurchase{AmountMicroUSD: micro, Reference: "stripe:" + cs.ID}
	default:
		e.ignored = "checkout mode not handled"
	}
	return e
}

func (s *Service) invoiceEffect(inv invoice, paid bool) effect {
	e := effect{customer: string(inv.Customer)}
	subID := string(inv.Subscription)
	var meta map[string]string
	if inv.SubscriptionDetails != nil {
		meta = inv.SubscriptionDetails.Metadata
	}
	if p := inv.Parent; p != nil && p.SubscriptionDetails != nil {
		if subID == "" {
			subID = string(p.SubscriptionDetails.Subscription)
		}
		if meta == nil {
			meta = p.SubscriptionDetails.Metadata
		}
	}
	e.userHint = meta["user_id"]
	if subID == "" {
		e.ignored = "invoice without a subscription"
		return e
	}
	var prices []string
	for _, l := range inv.Lines.Data {
		switch {
		case l.Price != nil && l.Price.ID != "":
			prices = append(prices, l.Price.ID)
		case l.Pricing != nil && l.Pricing.PriceDetails != nil:
			prices = append(prices, string(l.Pricing.PriceDetails.Price))
		}
	}
	kind, plan := s.classify(meta, prices) // "": applies to a known subscription only
	status := "past_due"
	if paid {
		status = "active"
	}
	e.sub = &store.Subscription{ID: subID, Kind: kind, Plan: plan, Status: status}
	return e
}

// classify tells a plan subscription from the storage upgrade. Prices win
// over metadata: a plan changed in Stripe (an upgrade) keeps the metadata of
// the first checkout but carries the new price.
func (s *Service) classify(meta map[string]string, prices []string) (kind, plan string) {
	for _, p := range prices {
		if s.StoragePrice != "" && p == s.StoragePrice {
			return kindStorage, ""
		}
		if pl, ok := s.Plans.ByStripePrice(p); ok {
			return kindPlan, pl.Name
		}
	}
	switch meta["kind"] {
	case kindStorage:
		return kindStorage, ""
	case kindPlan:
		pl, _ := s.Plans.Get(meta["plan"])
		return kindPlan, pl.Name // "" keeps the plan already known
	}
	if pl, ok := s.Plans.Get(meta["plan"]); ok {
		return kindPlan, pl.Name
	}
	return "", ""
}

// policy is billing's rule for ordering subscription states and deriving a
// user's plan from them; the store applies it inside the event's transaction.
type policy struct{ plans *Plans }

var _ store.StripePolicy = policy{}

// terminal statuses are never left: Stripe cannot revive such a subscription.
func terminal(status string) bool { return status == "canceled" || status == "incomplete_expired" }

// stage orders statuses within one second, where event times tie.
func stage(status string) int {
	switch {
	case status == "incomplete":
		return 0
	case terminal(status):
		return 2
	}
	return 1
}

// Supersedes: a newer event wins, an older one never does; a terminal state
// is final; on a tie (Stripe's times are whole seconds) the state that is
// not earlier in a subscription's life wins.
func (p policy) Supersedes(cur, next store.Subscription, at time.Time) bool {
	switch {
	case terminal(cur.Status):
		return false
	case at.After(cur.EventAt):
		return true
	case at.Before(cur.EventAt):
		return false
	}
	return stage(next.Status) >= stage(cur.Status)
}

func live(status string) bool { return status == "active" || status == "trialing" }

// Account: the best live plan subscription (highest plan, then newest) gives
// the user's plan and status; without one, the newest subscription does, so
// a cancelled plan shows as such.
func (p policy) Account(subs []store.Subscription) (plan, status string, ok bool) {
	var best *store.Subscription
	for i := range subs {
		c := &subs[i]
		if c.Plan == "" {
			continue
		}
		switch {
		case best == nil:
			best = c
		case live(c.Status) && !live(best.Status):
			best = c
		case live(c.Status) == live(best.Status):
			if live(c.Status) && p.plans.Rank(c.Plan) != p.plans.Rank(best.Plan) {
				if p.plans.Rank(c.Plan) > p.plans.Rank(best.Plan) {
					best = c
				}
			} else if !c.EventAt.Before(best.EventAt) {
				best = c
			}
		}
	}
	if best == nil {
		return "", "", false
	}
	return best.Plan, best.Status, true
}
