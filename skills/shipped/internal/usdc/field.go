package usdc

import (
	"encoding/json"
	"errors"

	"github.com/agentbot/gateway/sdk/skill"
)

// Codes of the input failures the helpers below return (all status 400).
const (
	CodeMissingField      = "MISSING_FIELD"
	CodeInvalidAmount     = "INVALID_AMOUNT"
	CodeInvalidPercentage = "INVALID_PERCENTAGE"
	CodeInvalidField      = "INVALID_FIELD"
)

// PercentDecimals is the precision of split percentages: 4 places, so that
// 33.3333 + 33.3333 + 33.3334 is a valid three-way split.
const PercentDecimals = 4

// Hundred is 100 % in percentage units (10^-4 %).
const Hundred int64 = 100 * 10_000

// Missing fails a call for an absent required field.
func Missing(name string) error {
	return skill.Failf(CodeMissingField, 400, "%s is required", name)
}

// Invalidf fails a call for an invalid field: 400 INVALID_FIELD with the
// formatted message.
func Invalidf(format string, args ...any) error {
	return skill.Failf(CodeInvalidField, 400, format, args...)
}

// Amount parses the USDC amount in field name (a decimal string or a JSON
// number). An absent or null field is def, or fails when required.
func Amount(name string, raw json.RawMessage, required bool, def int64) (int64, error) {
	v, ok, err := Parse(raw)
	if err != nil {
		return 0, invalid(CodeInvalidAmount, name, "an amount in USDC", err)
	}
	if !ok {
		if required {
			return 0, Missing(name)
		}
		return def, nil
	}
	return v, nil
}

// Percent parses a split percentage (0 < p ≤ 100, at most 4 decimals) into
// units of 10^-4 %.
func Percent(name string, raw json.RawMessage) (int64, error) {
	v, ok, err := ParseScaled(raw, PercentDecimals, Hundred)
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return 0, skill.Failf(CodeInvalidPercentage, 400, "%s must be at most 100", name)
		}
		return 0, invalid(CodeInvalidPercentage, name, "a percentage", err)
	}
	if !ok {
		return 0, Missing(name)
	}
	if v == 0 {
		return 0, skill.Failf(CodeInvalidPercentage, 400, "%s must be greater than 0", name)
	}
	return v, nil
}

// FormatPercent renders percentage units as a JSON number: 70, 33.3333.
func FormatPercent(units int64) json.Number {
	return json.Number(FormatScaled(units, PercentDecimals, 0))
}

// Count parses a non-negative whole number (a JSON number or a string of
// digits) of at most max; absent is def, or fails when required.
func Count(name string, raw json.RawMessage, required bool, def, max int64) (int64, error) {
	v, ok, err := ParseScaled(raw, 0, max)
	if err != nil {
		var tm *TooManyDecimalsError
		switch {
		case errors.As(err, &tm):
			return 0, skill.Failf(CodeInvalidField, 400, "%s must be a whole number", name)
		case errors.Is(err, ErrTooLarge):
			return 0, skill.Failf(CodeInvalidField, 400, "%s must be at most %d", name, max)
		}
		if errors.Is(err, ErrMalformed) {
			return 0, skill.Failf(CodeInvalidField, 400, "%s must be a whole number (like 100000)", name)
		}
		return 0, invalid(CodeInvalidField, name, "a whole number", err)
	}
	if !ok {
		if required {
			return 0, Missing(name)
		}
		return def, nil
	}
	return v, nil
}

func invalid(code, name, what string, err error) error {
	if errors.Is(err, ErrMalformed) {
		return skill.Failf(code, 400, "%s must be %s written as a plain decimal (like 12 or 12.34)", name, what)
	}
	return skill.Failf(code, 400, "%s %v", name, err)
}
