package gateway

import (
	"testing"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/payments"
)

// Every refused payment is answered with a code of the server's code table,
// at the status the table (and so the OpenAPI document) gives it.
func TestRefusalsUseTheCodeTable(t *testing.T) {
	for _, r := range []payments.Reason{payments.ReasonAuthRequired, payments.ReasonInvalidMethod,
		payments.ReasonMethodUnavailable, payments.ReasonCredentialMissing, payments.ReasonMalformedCredential,
		payments.ReasonMethodUnsupported, payments.ReasonInvalidChallenge, payments.ReasonExpired,
		payments.ReasonInvalidPayload, payments.ReasonInsufficient, payments.ReasonVerificationFailed,
		payments.ReasonReplayed, payments.ReasonSettlementFailed} {
		e := refusalError(&payments.Refused{Reason: r, Detail: "why"})
		if e.Code.Message() == "" || e.Status != e.Code.Status() {
			t.Errorf("refused (%s): %d %s; the code table has %d %q", r, e.Status, e.Code, e.Code.Status(), e.Code.Message())
		}
	}
	if got := refusalError(&payments.Refused{Reason: payments.ReasonExpired}); got.Code != api.CodeMPPPaymentExpired {
		t.Errorf("an expired payment is refused with %s; want %s", got.Code, api.CodeMPPPaymentExpired)
	}
}
