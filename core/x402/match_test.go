package x402

import "testing"

func TestMatches(t *testing.T) {
	base := func() Requirements {
		return Requirements{Scheme: "exact", Network: "eip155:84532", Amount: "10000",
			Asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e", PayTo: "0x742d35Cc6634C0532925a3b844Bc454e4438f44e",
			MaxTimeoutSeconds: 300, Extra: map[string]any{"name": "USDC", "version": "2", "decimals": 6,
				"nested": map[string]any{"a": []any{1, "b"}}}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(r *Requirements) // applied to the echoed copy
		want   bool
	}{
		{"identical", func(*Requirements) {}, true},
		{"client adds an extra key", func(r *Requirements) { r.Extra["assetTransferMethod"] = "eip3009" }, true},
		{"numbers as JSON decodes them", func(r *Requirements) { r.Extra["decimals"] = 6.0 }, true},
		{"nested as JSON decodes it", func(r *Requirements) { r.Extra["nested"] = map[string]any{"a": []any{1.0, "b"}} }, true},
		{"scheme", func(r *Requirements) { r.Scheme = "upto" }, false},
		{"network", func(r *Requirements) { r.Network = "eip155:8453" }, false},
		{"amount", func(r *Requirements) { r.Amount = "1" }, false},
		{"amount with leading zero", func(r *Requirements) { r.Amount = "010000" }, false},
		{"asset", func(r *Requirements) { r.Asset = "0x0000000000000000000000000000000000000001" }, false},
		{"asset case", func(r *Requirements) { r.Asset = "0x036cbd53842c5426634e7929541ec2318f3dcf7e" }, false},
		{"payTo", func(r *Requirements) { r.PayTo = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" }, false},
		{"maxTimeoutSeconds", func(r *Requirements) { r.MaxTimeoutSeconds = 3000 }, false},
		{"extra value changed", func(r *Requirements) { r.Extra["name"] = "USD Coin" }, false},
		{"extra value type changed", func(r *Requirements) { r.Extra["version"] = 2 }, false},
		{"extra key dropped", func(r *Requirements) { delete(r.Extra, "version") }, false},
		{"extra key set to null", func(r *Requirements) { r.Extra["version"] = nil }, false},
		{"extra nil", func(r *Requirements) { r.Extra = nil }, false},
		{"nested differs", func(r *Requirements) { r.Extra["nested"] = map[string]any{"a": []any{1}} }, false},
		{"nested superset", func(r *Requirements) { r.Extra["nested"] = map[string]any{"a": []any{1, "b"}, "z": 1} }, false},
	} {
		advertised, echoed := base(), base()
		tc.mutate(&echoed)
		if got := advertised.Matches(echoed); got != tc.want {
			t.Errorf("Matches(%s) = %v; want %v", tc.name, got, tc.want)
		}
	}

	// An advertised requirement without extra accepts any echoed extra.
	noExtra := base()
	noExtra.Extra = nil
	echoed := base()
	if !noExtra.Matches(echoed) {
		t.Error("Matches(advertised without extra, echoed with extra) = false; want true")
	}
	// Values that cannot be JSON never match.
	weird := base()
	weird.Extra["f"] = func() {}
	if weird.Matches(weird) {
		t.Error("Matches(extra holding a func) = true; want false")
	}
}
