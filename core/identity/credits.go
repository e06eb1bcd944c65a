package identity

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/auth"
	"github.com/agentbot/gateway/core/money"
	"github.com/agentbot/gateway/core/store"
)

// ReferralBonus is what a referral gives each side: 10 credits, paid once the
// referred account verifies its address.
const ReferralBonus = 10 * store.CreditMicroUSD

// credits: GET /api/credits → {credits, balanceMicroUsd, referralCode,
// referralCount, plan}. One credit is one US dollar; credits is a decimal
// number rendered from the integer ledger.
func (s *Service) credits(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p, err := auth.Require(r)
	if err != nil {
		return err
	}
	cs, err := s.Store.CreditSummary(r.Context(), p.UserID)
	if err != nil {
		return storeErr(err, "User not found")
	}
	var code, plan any
	if cs.ReferralCode != "" {
		code = cs.ReferralCode
	}
	if cs.Plan != "" {
		plan = cs.Plan
	}
	api.OK(w, map[string]any{"credits": json.Number(money.FormatUSD(cs.BalanceMicroUSD)),
		"balanceMicroUsd": cs.BalanceMicroUSD, "referralCode": code, "referralCount": cs.ReferralCount, "plan": plan})
	return nil
}
