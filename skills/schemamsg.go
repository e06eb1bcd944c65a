package skills

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// maxProblems bounds the problems one message lists: a model fixes the first
// few and calls again; a page of them helps nobody.
const maxProblems = 6

var english = message.NewPrinter(language.English)

// describe renders a validation failure as its problems, "where: what",
// joined by "; ", e.g. `amount: must be >= 1; recipients[0]: missing
// property "share"`. Where is read against instance (a.b[0].c), or, with
// pointer, is a JSON pointer (a schema's own locations, for its author).
func describe(ve *jsonschema.ValidationError, instance any, pointer bool) string {
	return strings.Join(capped(problems(ve, instance, pointer)), "; ")
}

// capped keeps the first maxProblems problems and says how many more there
// were.
func capped(ps []string) []string {
	if len(ps) > maxProblems {
		return append(ps[:maxProblems:maxProblems], fmt.Sprintf("and %d more", len(ps)-maxProblems))
	}
	return ps
}

// problems are the leaves of a failure's tree (the groups above them, like
// "allOf failed", say nothing a reader can act on), sorted, without repeats.
func problems(ve *jsonschema.ValidationError, instance any, pointer bool) []string {
	type found struct{ where, what string }
	var all []found
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		where := argPath(e.InstanceLocation, instance)
		if pointer {
			where = jsonPointer(e.InstanceLocation)
		}
		all = append(all, found{where, problem(e.ErrorKind)})
	}
	walk(ve)
	// By location, so that a value's problems come before its members'.
	slices.SortFunc(all, func(a, b found) int {
		return cmp.Or(strings.Compare(a.where, b.where), strings.Compare(a.what, b.what))
	})
	all = slices.Compact(all)
	out := make([]string, len(all))
	for i, f := range all {
		out[i] = f.what
		if f.where != "" {
			out[i] = f.where + ": " + f.what
		}
	}
	return out
}

// problem says what is wrong in words a model acts on; kinds not listed keep
// the library's wording.
func problem(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = withArticle(w)
		}
		return "must be " + strings.Join(want, " or ") + ", not " + withArticle(k.Got)
	case *kind.Required:
		return plural(len(k.Missing), "missing property ", "missing properties ") + quoteAll(k.Missing)
	case *kind.AdditionalProperties:
		return plural(len(k.Properties), "unknown property ", "unknown properties ") + quoteAll(k.Properties)
	case *kind.DependentRequired:
		return fmt.Sprintf("%q needs %s", k.Prop, quoteAll(k.Missing))
	case *kind.Dependency:
		return fmt.Sprintf("%q needs %s", k.Prop, quoteAll(k.Missing))
	case *kind.Minimum:
		return "must be >= " + decimal(k.Want)
	case *kind.Maximum:
		return "must be <= " + decimal(k.Want)
	case *kind.ExclusiveMinimum:
		return "must be > " + decimal(k.Want)
	case *kind.ExclusiveMaximum:
		return "must be < " + decimal(k.Want)
	case *kind.MultipleOf:
		return "must be a multiple of " + decimal(k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d %s long", k.Want, plural(k.Want, "character", "characters"))
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d %s long", k.Want, plural(k.Want, "character", "characters"))
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d %s", k.Want, plural(k.Want, "item", "items"))
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d %s", k.Want, plural(k.Want, "item", "items"))
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %d %s", k.Want, plural(k.Want, "property", "properties"))
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d %s", k.Want, plural(k.Want, "property", "properties"))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = jsonText(w)
		}
		if len(want) == 1 {
			return "must be " + want[0]
		}
		return "must be one of " + strings.Join(want, ", ")
	case *kind.Const:
		return "must be " + jsonText(k.Want)
	case *kind.Pattern:
		return "must match the pattern " + k.Want
	case *kind.Format:
		if k.Err != nil {
			return "must be a valid " + k.Want + " (" + k.Err.Error() + ")"
		}
		return "must be a valid " + k.Want
	case *kind.FalseSchema:
		return "is not allowed"
	case *kind.UniqueItems:
		return fmt.Sprintf("items %d and %d are equal; items must be unique", k.Duplicates[0], k.Duplicates[1])
	case *kind.OneOf:
		return "matches more than one of the allowed forms"
	}
	return k.LocalizedString(english)
}

func withArticle(jsonType string) string {
	switch jsonType {
	case "null":
		return "null"
	case "integer", "object", "array":
		return "an " + jsonType
	}
	return "a " + jsonType
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// decimal renders an exact number as a decimal: 0.0001, not 1/10000.
func decimal(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	if s, exact := r.FloatPrec(); exact {
		return r.FloatString(s)
	}
	return r.FloatString(6)
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// argPath renders an instance location as a model writes it: a.b[0].c, with
// array indices told apart from keys by walking the instance.
func argPath(tokens []string, v any) string {
	var b strings.Builder
	for _, tok := range tokens {
		switch x := v.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			v = nil
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(x) {
				v = x[i]
			}
		default:
			obj, _ := v.(map[string]any)
			v = obj[tok]
			if !identifier.MatchString(tok) {
				b.WriteString("[" + strconv.Quote(tok) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		}
	}
	return b.String()
}

func jsonPointer(tokens []string) string {
	var b strings.Builder
	for _, tok := range tokens {
		b.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
