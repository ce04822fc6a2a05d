package dnsname

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Check validates a DNS name as KumoMTA's resolver library (hickory) does
// in its relaxed mode, returning the reason it is malformed, in that
// library's words, or "". Labels are separated by dots (a trailing dot is
// allowed); whitespace and control
// characters are rejected outright; an ASCII label must start with a
// letter, digit, '_' or '*' and continue with letters, digits, '-' or '_';
// a label with other characters must be an internationalized name.
func Check(host string) string {
	if host == "." {
		return ""
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	total := 0
	for _, label := range labels {
		// Labels are checked as they end, so a bad character is only
		// reported when no earlier label was malformed.
		for _, r := range label {
			if unicode.IsSpace(r) || unicode.IsControl(r) {
				return "unrecognized char: " + string(r)
			}
		}
		if why := checkLabel(label); why != "" {
			return why
		}
		total += len(label) + 1
	}
	if total > 255 {
		return "Domain name exceeds maximum length of 255"
	}
	return ""
}

func checkLabel(label string) string {
	if len(label) > 63 {
		return fmt.Sprintf("label bytes exceed 63: %d", len(label))
	}
	if label == "" {
		return "Malformed label: "
	}
	for i, r := range label {
		var ok bool
		if r < utf8.RuneSelf {
			c := byte(r)
			ok = isASCIIAlnum(c) || c == '_' || (c == '-' && i > 0) || (c == '*' && i == 0)
		} else {
			// An internationalized label: letters, digits and marks.
			ok = unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc)
		}
		if !ok {
			return "Malformed label: " + label
		}
	}
	return ""
}

func isASCIIAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
