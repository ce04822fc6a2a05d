package kumo_test

import (
	"strings"
	"testing"
)

// The three native maps share one object implementation; each keeps its
// own kind, and the Lua-visible differences between them stay.
func TestNativeMapKinds(t *testing.T) {
	for body, wantErr := range map[string]string{
		// A map of one kind is not taken for another.
		`kumo.domain_map.new(kumo.cidr.make_map {})`:                                      "a table or a DomainMap expected, got ",
		`getmetatable(kumo.cidr.make_map {}).__index(kumo.domain_map.new {}, '10.0.0.1')`: "CidrMap expected",
		`getmetatable(kumo.domain_map.new {}).__pairs(kumo.regex_set_map.new {})`:         "DomainMap expected",
		`getmetatable(kumo.regex_set_map.new {}).__tostring(kumo.cidr.make_map {})`:       "RegexSetMap expected",
		// A DomainMap has no length; the other two have.
		`return #kumo.domain_map.new {}`: "__len undefined",
		// A RegexSetMap refuses any assignment, whatever the receiver.
		`getmetatable(kumo.regex_set_map.new {}).__newindex(1, 2, 3)`: "a RegexSetMap is immutable",
		// Key errors: a DomainMap raises on a bad key even when reading.
		`return kumo.domain_map.new {}[true]`:        "kumo.domain_map: a key must be a domain name string, got boolean",
		`local m = kumo.cidr.make_map {} ; m[1] = 2`: "kumo.cidr: a key must be an IP address or CIDR block string, got integer `1`",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
	got := runRegex(t, `
local c, r = kumo.cidr.make_map { ['10.0.0.0/8'] = 1 }, kumo.regex_set_map.new { a = 1 }
return #c, #r, c[true], r[true], c['not an address']`)
	wantValues(t, got, int64(1), int64(1), nil, nil, nil)
}
