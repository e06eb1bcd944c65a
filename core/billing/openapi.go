package billing

import "encoding/json"

// The types below document the billing routes' JSON bodies for the OpenAPI
// document (route.Route's Request and Response); the handlers build the same
// shapes as maps.

type paymentDoc struct {
	ID             string      `json:"id"`
	Method         string      `json:"method" enum:"mpp,x402,stripe,referral"`
	Kind           string      `json:"kind" enum:"call,credits"`
	Amount         json.Number `json:"amount" doc:"USD"`
	AmountMicroUSD int64       `json:"amountMicroUsd"`
	Currency       string      `json:"currency" enum:"usd"`
	Target         string      `json:"target,omitempty"`
	Payer          string      `json:"payer,omitempty"`
	Network        string      `json:"network,omitempty"`
	Asset          string      `json:"asset,omitempty"`
	AssetAmount    string      `json:"assetAmount,omitempty"`
	Reference      string      `json:"reference"`
	Receipt        string      `json:"receipt"`
	CreatedAt      string      `json:"createdAt"`
}

type billingDoc struct {
	Plans              map[string]any `json:"plans" doc:"each plan by name: price, limits, models"`
	PlanOrder          []string       `json:"planOrder"`
	Plan               *string        `json:"plan"`
	CurrentPlan        *string        `json:"currentPlan"`
	SubscriptionStatus *string        `json:"subscriptionStatus"`
	Storage            struct {
		Status *string `json:"status"`
	} `json:"storage"`
	BYOK struct {
		Enabled   bool     `json:"enabled"`
		Providers []string `json:"providers"`
	} `json:"byok"`
	BYOKEnabled bool `json:"byokEnabled"`
	Usage       struct {
		Month         string      `json:"month" doc:"YYYY-MM"`
		Calls         int64       `json:"calls"`
		SpendMicroUSD int64       `json:"spendMicroUsd"`
		Spend         json.Number `json:"spend"`
	} `json:"usage"`
	Credits          json.Number      `json:"credits" doc:"USD"`
	BalanceMicroUSD  int64            `json:"balanceMicroUsd"`
	CreditPacks      []map[string]any `json:"creditPacks"`
	BillingAvailable bool             `json:"billingAvailable"`
	Payments         []paymentDoc     `json:"payments"`
}

// billingAction is POST /api/billing's body: the action and its members.
type billingAction struct {
	Action   string `json:"action" required:"true" enum:"create-checkout,enable-byok,disable-byok,get-usage,buy-credits"`
	Plan     string `json:"plan,omitempty" doc:"create-checkout"`
	Pack     string `json:"pack,omitempty" doc:"buy-credits: a credit pack's price id"`
	Provider string `json:"provider,omitempty" doc:"enable-byok, disable-byok"`
	APIKey   string `json:"apiKey,omitempty" doc:"enable-byok: the provider's key"`
	Month    string `json:"month,omitempty" doc:"get-usage: YYYY-MM"`
}

type usageRow struct {
	Day           string      `json:"day,omitempty"`
	Target        string      `json:"target"`
	Calls         int64       `json:"calls"`
	SpendMicroUSD int64       `json:"spendMicroUsd"`
	Spend         json.Number `json:"spend"`
}

// billingActionAnswer is the answer of an action: a Checkout URL, a BYOK
// change, or the month's usage.
type billingActionAnswer struct {
	URL      string `json:"url,omitempty" doc:"create-checkout, buy-credits: the Checkout Session"`
	Success  bool   `json:"success,omitempty"`
	Provider string `json:"provider,omitempty"`
	Message  string `json:"message,omitempty"`
	Usage    *struct {
		Month         string      `json:"month"`
		From          string      `json:"from"`
		To            string      `json:"to"`
		Calls         int64       `json:"calls"`
		SpendMicroUSD int64       `json:"spendMicroUsd"`
		Spend         json.Number `json:"spend"`
		ByTarget      []usageRow  `json:"byTarget"`
		ByDay         []usageRow  `json:"byDay"`
	} `json:"usage,omitempty"`
}

type urlAnswer struct {
	URL string `json:"url"`
}

type webhookAnswer struct {
	Received bool   `json:"received"`
	Outcome  string `json:"outcome"`
}

type adminPaymentDoc struct {
	ID             string      `json:"id"`
	UserID         *string     `json:"userId"`
	Method         string      `json:"method" enum:"mpp,x402"`
	Payer          string      `json:"payer"`
	Network        string      `json:"network"`
	Asset          string      `json:"asset"`
	AssetAmount    string      `json:"assetAmount"`
	Amount         json.Number `json:"amount"`
	AmountMicroUSD int64       `json:"amountMicroUsd"`
	Target         string      `json:"target"`
	ChallengeID    string      `json:"challengeId"`
	Reference      string      `json:"reference"`
	Receipt        string      `json:"receipt"`
	CreatedAt      string      `json:"createdAt"`
}

type adminPaymentsDoc struct {
	Payments      []adminPaymentDoc `json:"payments"`
	Count         int               `json:"count"`
	TotalMicroUSD int64             `json:"totalMicroUsd"`
	Total         json.Number       `json:"total"`
}
