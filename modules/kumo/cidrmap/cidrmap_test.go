package cidrmap

import (
	"net/netip"
	"testing"
)

func mustKey(t *testing.T, s string) netip.Prefix {
	t.Helper()
	p, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseKeyForms(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1":           "127.0.0.1/32",
		"127.0.0.1:25":        "127.0.0.1/32",
		"[127.0.0.1]":         "127.0.0.1/32",
		"[::1]:25":            "::1/128",
		"[IPv6:::1]":          "::1/128",
		"::ffff:10.0.0.1":     "10.0.0.1/32",
		"10.0.0.77/24":        "10.0.0.0/24",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"2001:db8::/32":       "2001:db8::/32",
	} {
		if got := mustKey(t, in).String(); got != want {
			t.Errorf("ParseKey(%q) = %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{"not.set", "", "10.0.0.0/33", "[10.0.0.1"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestLongestPrefixWins(t *testing.T) {
	m := New[string]()
	m.Set(mustKey(t, "10.0.0.0/8"), "eight")
	m.Set(mustKey(t, "10.1.0.0/16"), "sixteen")
	m.Set(mustKey(t, "10.1.2.3"), "host")
	m.Set(mustKey(t, "::/0"), "any6")
	for in, want := range map[string]string{
		"10.9.9.9": "eight", "10.1.9.9": "sixteen", "10.1.2.3": "host", "2001:db8::1": "any6", "11.0.0.1": "",
	} {
		got, _ := m.Lookup(mustKey(t, in))
		if got != want {
			t.Errorf("Lookup(%s) = %q, want %q", in, got, want)
		}
	}
	c := m.Clone()
	m.Delete(mustKey(t, "10.1.0.0/16"))
	if got, _ := m.Lookup(mustKey(t, "10.1.9.9")); got != "eight" {
		t.Errorf("after Delete: %q", got)
	}
	if got, _ := c.Lookup(mustKey(t, "10.1.9.9")); got != "sixteen" {
		t.Errorf("clone changed: %q", got)
	}
	if m.Len() != 3 || c.Len() != 4 {
		t.Errorf("Len %d %d", m.Len(), c.Len())
	}
}
