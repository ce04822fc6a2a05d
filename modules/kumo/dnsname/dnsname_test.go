package dnsname

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, ok := range []string{"example.com", "example.com.", ".", "_dmarc.example", "*.example", "a-b.example", "bücher.example", "xn--bcher-kva.example"} {
		if why := Check(ok); why != "" {
			t.Errorf("Check(%q) = %q, want ok", ok, why)
		}
	}
	// The names below are ones a lax parse (labels of any bytes, as the
	// resolver package's parseName takes ASCII names) would accept.
	for name, want := range map[string]string{
		"a b.example":             "unrecognized char:  ",
		"-bad.example":            "Malformed label: -bad",
		"a..b":                    "Malformed label: ",
		"a+b.example":             "Malformed label: a+b",
		"x*.example":              "Malformed label: x*",
		strings.Repeat("a", 64):   "label bytes exceed 63: 64",
		strings.Repeat("a.", 128): "Domain name exceeds maximum length of 255",
		"tab\there.example":       "unrecognized char: \t",
	} {
		if got := Check(name); got != want {
			t.Errorf("Check(%.30q) = %q, want %q", name, got, want)
		}
	}
}
