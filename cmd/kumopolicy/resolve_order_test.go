package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
)

// resolve writes the options in the config's declaration order in both
// formats. TOML puts every plain value of a table before its sub-tables, so
// there the tables follow the plain values, each group in declaration order.
func TestResolveFormatsShareDeclarationOrder(t *testing.T) {
	ns := dnstest.New(t).Addr
	policy := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 3, max_message_rate = '10/s' }
end)
`)
	code, jsonOut, errs := runCLI("resolve", "--resolver", ns, "--policy", policy, "--site", "s", "--format", "json", "x.org")
	if code != exitOK {
		t.Fatalf("json: exit %d: %s", code, errs)
	}
	var keys, tables []string
	dec := json.NewDecoder(strings.NewReader(jsonOut))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("json output does not start with an object: %v %v", tok, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if v == nil {
			continue // TOML has no null: unset options are left out there
		}
		if _, isTable := v.(map[string]any); isTable {
			tables = append(tables, tok.(string))
		} else {
			keys = append(keys, tok.(string))
		}
	}
	declared := egress.EgressPathFieldNames()
	inDeclarationOrder := func(names []string) bool {
		return slices.IsSortedFunc(names, func(a, b string) int {
			return slices.Index(declared, a) - slices.Index(declared, b)
		})
	}
	all := append(append([]string{}, keys...), tables...)
	if len(tables) == 0 || len(keys) == 0 || !inDeclarationOrder(keys) || !inDeclarationOrder(tables) {
		t.Fatalf("json keys not in declaration order: %q then %q", keys, tables)
	}

	code, tomlOut, errs := runCLI("resolve", "--resolver", ns, "--policy", policy, "--site", "s", "x.org")
	if code != exitOK {
		t.Fatalf("toml: exit %d: %s", code, errs)
	}
	var got []string
	rootKey := regexp.MustCompile(`^([A-Za-z0-9_-]+) = `)
	section := regexp.MustCompile(`^\[([A-Za-z0-9_-]+)\]$`)
	inRoot := true
	for _, line := range strings.Split(tomlOut, "\n") {
		if m := section.FindStringSubmatch(line); m != nil {
			inRoot = false
			got = append(got, m[1])
		} else if m := rootKey.FindStringSubmatch(line); m != nil && inRoot {
			got = append(got, m[1])
		}
	}
	if !slices.Equal(got, all) {
		t.Errorf("toml order %q\nwant %q (json's plain values, then its tables)", got, all)
	}
}
