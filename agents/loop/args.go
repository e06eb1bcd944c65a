package loop

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// parseArgs checks a call's arguments. args is what the tool receives ("{}"
// for empty text, which some models send for a call without parameters);
// canon is the arguments as canonical JSON (sorted keys, no spaces) so that
// calls differing only in key order or whitespace count as repeats, or the
// raw text when it is not JSON. err, if set, completes "the arguments of X …".
func parseArgs(raw string) (args, canon string, err error) {
	args = strings.TrimSpace(raw)
	if args == "" {
		return "{}", "{}", nil
	}
	dec := json.NewDecoder(strings.NewReader(args))
	dec.UseNumber() // keep numbers' text: 1 and 1.0 stay different, large integers exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return args, args, errors.New("are not valid JSON: " + err.Error())
	}
	if strings.TrimSpace(args[dec.InputOffset():]) != "" {
		return args, args, errors.New("are not valid JSON: data after the value")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return args, args, errors.New("are not valid JSON: " + err.Error())
	}
	canon = strings.TrimSuffix(b.String(), "\n")
	if _, ok := v.(map[string]any); !ok {
		return args, canon, errors.New("must be a JSON object")
	}
	return args, canon, nil
}
