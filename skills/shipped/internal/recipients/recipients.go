// Package recipients validates the payout recipients of the shipped skills'
// split inputs: who gets what percentage of an amount, under which role.
package recipients

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agentbot/gateway/sdk/skill"
	"github.com/agentbot/gateway/skills/shipped/internal/usdc"
)

// Max is the most recipients one input may list.
const Max = 20

// Input is one recipient as a caller sends it; Percentage is a decimal
// string or a JSON number.
type Input struct {
	RecipientAddress string          `json:"recipientAddress"`
	Percentage       json.RawMessage `json:"percentage"`
	Role             string          `json:"role"`
	Name             string          `json:"name"`
}

// Recipient is a validated recipient; Percentage is in units of 10^-4 %
// (usdc.Hundred is 100 %).
type Recipient struct {
	Address    string
	Percentage int64
	Role       string
	Name       string
}

// Parse validates the recipients of input field (like "splits"), named
// field[i] in failures: at least one and at most Max, each with a 0x address,
// a percentage, a role of roles (default "artist") and a name of at most 100
// characters (default the role, capitalized). Their percentages must total
// exactly 100; total names them in that failure ("split percentages").
func Parse(field, total string, ins []Input, roles []string) ([]Recipient, error) {
	if len(ins) == 0 {
		return nil, usdc.Missing(field + " (at least one recipient)")
	}
	if len(ins) > Max {
		return nil, usdc.Invalidf("%s may have at most %d recipients", field, Max)
	}
	out := make([]Recipient, 0, len(ins))
	var sum int64
	for i, in := range ins {
		name := fmt.Sprintf("%s[%d]", field, i)
		r := Recipient{Address: strings.TrimSpace(in.RecipientAddress), Role: strings.ToLower(strings.TrimSpace(in.Role)),
			Name: strings.TrimSpace(in.Name)}
		if r.Address == "" {
			return nil, usdc.Missing(name + ".recipientAddress")
		}
		if !ValidAddress(r.Address) {
			return nil, usdc.Invalidf("%s.recipientAddress must be a 0x-prefixed address of 40 hex digits", name)
		}
		var err error
		if r.Percentage, err = usdc.Percent(name+".percentage", in.Percentage); err != nil {
			return nil, err
		}
		if r.Role == "" {
			r.Role = "artist"
		}
		if !slices.Contains(roles, r.Role) {
			return nil, usdc.Invalidf("%s.role must be one of %s", name, strings.Join(roles, ", "))
		}
		if r.Name == "" {
			r.Name = strings.ToUpper(r.Role[:1]) + r.Role[1:]
		}
		if utf8.RuneCountInString(r.Name) > 100 {
			return nil, usdc.Invalidf("%s.name must be at most 100 characters", name)
		}
		sum += r.Percentage
		out = append(out, r)
	}
	if sum != usdc.Hundred {
		return nil, skill.Failf(usdc.CodeInvalidPercentage, 400, "%s must total 100 (got %s)", total, usdc.FormatPercent(sum))
	}
	return out, nil
}

// ValidAddress reports whether s is a 0x-prefixed 20-byte hex address.
func ValidAddress(s string) bool {
	if len(s) != 42 || (s[:2] != "0x" && s[:2] != "0X") {
		return false
	}
	_, err := hex.DecodeString(s[2:])
	return err == nil
}
