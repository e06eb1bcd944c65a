package billing

import (
	"encoding/json"
	"testing"
)

// FuzzPlanOverrides: whatever the AGENTBOT_PLANS file holds, the plans it
// yields (if NewPlans takes them) each pass validation, keep their known
// names and order, and a limit reads back as it was written.
func FuzzPlanOverrides(f *testing.F) {
	for _, s := range []string{`{"solo":{"pricePence":3500,"agents":2}}`,
		`{"network":{"agents":"unlimited","skillsPerAgent":"unlimited","modelTier":"all","models":["gpt-4o"]}}`,
		`{"solo":{"agents":null}}`, `{"solo":{"agents":0}}`, `{"solo":{"agents":-1}}`, `{"solo":{"agents":"5"}}`,
		`{"solo":{"pricePence":-1}}`, `{"gold":{}}`, `{"solo":{"extra":1}}`, `{"solo":{"models":[" "]}}`, `[]`, `null`,
		`{"solo":{}} x`, `{"solo":{"agents":1e3}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		plans, err := applyOverrides(DefaultPlans(), raw)
		if err != nil {
			return
		}
		ps, err := NewPlans(plans)
		if err != nil {
			return
		}
		for i, p := range ps.All() {
			if err := p.validate(); err != nil {
				t.Fatalf("AGENTBOT_PLANS %s: plan %+v is invalid: %v", raw, p, err)
			}
			if want := DefaultPlans()[i].Name; p.Name != want {
				t.Fatalf("AGENTBOT_PLANS %s: plan %d is %q; want %q", raw, i, p.Name, want)
			}
			for _, l := range []Limit{p.Agents, p.SkillsPerAgent, p.A2AMessagesPerDay} {
				b, _ := json.Marshal(l)
				if l == Unlimited {
					b = []byte(`"unlimited"`) // MarshalJSON renders it as null for clients
				}
				var back Limit
				if err := json.Unmarshal(b, &back); err != nil || back != l {
					t.Fatalf("limit %d written as %s reads %d, %v", l, b, back, err)
				}
			}
		}
	})
}
