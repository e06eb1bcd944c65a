package siwe

import "strings"

// Character classes of RFC 3986 and RFC 5234, for the ABNF of EIP-4361.
const (
	alpha      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	digit      = "0123456789"
	hexdig     = digit + "ABCDEFabcdef"
	unreserved = alpha + digit + "-._~"
	genDelims  = ":/?#[]@"
	subDelims  = "!$&'()*+,;="
	reserved   = genDelims + subDelims
)

func only(s, set string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}

// pctOK reports whether every "%" in s starts a pct-encoded octet.
func pctOK(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !only(s[i+1:i+3], hexdig) {
				return false
			}
			i += 2
		}
	}
	return true
}

// isScheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func isScheme(s string) bool {
	return s != "" && strings.IndexByte(alpha, s[0]) >= 0 && only(s, alpha+digit+"+-.")
}

// isAuthority: host [ ":" port ], host a reg-name, an IPv4 address or a
// bracketed IP literal; userinfo is refused (it has no place in an origin).
func isAuthority(s string) bool {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return false
		}
		host, port = s[:end+1], s[end+1:]
		if !only(host[1:end], hexdig+":."+unreserved+subDelims) || end == 1 {
			return false
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i:]
	}
	if port != "" && (port[0] != ':' || !only(port[1:], digit)) {
		return false
	}
	if !strings.HasPrefix(host, "[") && (host == "" || !only(host, unreserved+subDelims+"%") || !pctOK(host)) {
		return false
	}
	return true
}

// isStatement: *( reserved / unreserved / " " ), non-empty here.
func isStatement(s string) bool { return only(s, reserved+unreserved+" ") }

// isURI: an RFC 3986 URI: a scheme, ":", then only URI characters, with
// well-formed percent escapes.
func isURI(s string) bool {
	scheme, rest, ok := strings.Cut(s, ":")
	return ok && isScheme(scheme) && only(rest, reserved+unreserved+"%") && pctOK(rest) &&
		strings.Count(rest, "#") <= 1
}

// isChainID: 1*DIGIT, without leading zeros (one spelling per id), below 2^64.
func isChainID(s string) bool {
	if s == "" || !only(s, digit) || (s[0] == '0' && len(s) > 1) || s == "0" {
		return false
	}
	return len(s) < 20 || (len(s) == 20 && s <= "18446744073709551615")
}

// isNonce: 8*( ALPHA / DIGIT ), at most 256 here.
func isNonce(s string) bool { return len(s) >= 8 && len(s) <= 256 && only(s, alpha+digit) }

// isRequestID: *pchar, non-empty here.
func isRequestID(s string) bool { return s != "" && only(s, unreserved+subDelims+":@%") && pctOK(s) }
