package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/agentbot/gateway/core/billing/stripetest"
	"github.com/agentbot/gateway/core/store"
)

// FuzzWebhook posts signed Stripe events of the types billing acts on, with
// any data object, to POST /api/webhooks/stripe on SQLite: an event is
// applied, ignored or refused with a 400, never answered 5xx (which would
// make Stripe retry it for days). "$UID" in an object stands for a real
// user's id, "$CUS" for their Stripe customer.
func FuzzWebhook(f *testing.F) {
	e := newEnv(f, "sqlite", "", map[string]string{"AGENTBOT_RATE_LIMITS": "default=100000000-M,/api/webhooks/stripe=100000000-M"})
	ctx := context.Background()
	u, err := e.Store.CreateUser(ctx, store.NewUser{Email: "hook@example.com", Name: "Hook", PasswordHash: "h"})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := e.Store.SetStripeCustomer(ctx, u.ID, "cus_fuzz"); err != nil {
		f.Fatal(err)
	}
	h := e.Root
	for _, s := range []struct{ typ, obj string }{
		{"checkout.session.completed", `{"id":"cs_1","object":"checkout.session","mode":"subscription","payment_status":"paid",` +
			`"client_reference_id":"$UID","customer":"$CUS","subscription":"sub_1","metadata":{"kind":"plan","plan":"solo","user_id":"$UID"}}`},
		{"checkout.session.completed", `{"id":"cs_2","mode":"payment","payment_status":"paid","client_reference_id":"$UID",` +
			`"customer":{"id":"$CUS"},"metadata":{"kind":"credits","price":"price_pack10"}}`},
		{"checkout.session.async_payment_succeeded", `{"id":"cs_3","mode":"payment","payment_status":"paid","metadata":{"user_id":"$UID","kind":"credits","credits":"-5"}}`},
		{"customer.subscription.updated", `{"id":"sub_1","status":"active","customer":"$CUS","metadata":{"user_id":"$UID"},` +
			`"items":{"data":[{"price":{"id":"price_label"}}]}}`},
		{"customer.subscription.deleted", `{"id":"sub_1","status":"active","customer":"$CUS","items":{"data":[]}}`},
		{"customer.subscription.created", `{"id":"","status":"","customer":5}`},
		{"invoice.payment_succeeded", `{"id":"in_1","customer":"$CUS","subscription":"sub_1","lines":{"data":[{"price":{"id":"price_storage"}}]}}`},
		{"invoice.payment_failed", `{"id":"in_2","customer":"$CUS","parent":{"subscription_details":{"subscription":"sub_1",` +
			`"metadata":{"user_id":"$UID"}}},"lines":{"data":[{"pricing":{"price_details":{"price":"price_solo"}}}]}}`},
		{"invoice.payment_succeeded", `{"lines":{"data":[{"price":null,"pricing":{"price_details":null}}]},"parent":null}`},
		{"charge.refunded", `{"id":"ch_1"}`},
		{"checkout.session.completed", `[]`},
		{"checkout.session.completed", `null`},
	} {
		f.Add(s.typ, []byte(s.obj), int64(0))
	}
	f.Fuzz(func(t *testing.T, typ string, obj []byte, age int64) {
		obj = bytes.ReplaceAll(obj, []byte("$UID"), []byte(u.ID))
		obj = bytes.ReplaceAll(obj, []byte("$CUS"), []byte("cus_fuzz"))
		if !json.Valid(obj) {
			return
		}
		// A fresh event id each time: a repeated one is a duplicate delivery.
		payload := stripetest.Event(fmt.Sprintf("evt_fuzz_%d", time.Now().UnixNano()), typ,
			time.Now().Unix()-age%(400*24*3600), json.RawMessage(obj))
		r := httptest.NewRequest(http.MethodPost, "/api/webhooks/stripe", bytes.NewReader(payload))
		r.RemoteAddr = "192.0.2.1:1234"
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Stripe-Signature", stripetest.Sign(payload, whsec))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest:
		default:
			t.Fatalf("webhook %s %s = %d %s; want 200 or 400", typ, obj, w.Code, w.Body.Bytes())
		}
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("webhook %s %s answered %q, not JSON", typ, obj, w.Body.Bytes())
		}
		if w.Code == http.StatusBadRequest && (out["error"] == nil || out["code"] == nil) {
			t.Fatalf("webhook %s %s = 400 %s; want the JSON error shape", typ, obj, w.Body.Bytes())
		}
	})
}
