package shaping

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// tbl builds a Table from alternating keys and values.
func tbl(kv ...any) *plain.Map {
	t := plain.NewMap(0)
	for i := 0; i < len(kv); i += 2 {
		t.Set(kv[i].(string), kv[i+1])
	}
	return t
}

type fakeMX map[string][]string

func (f fakeMX) MXHosts(_ context.Context, domain string) ([]string, error) {
	h, ok := f[domain]
	if !ok {
		return nil, errors.New("NXDOMAIN")
	}
	return h, nil
}

func TestMergeTableAdditionalMapsMerge(t *testing.T) {
	dst := tbl("connection_limit", int64(1),
		"additional_connection_limits", tbl("a", "1", "b", "2"),
		"tls_certificate", tbl("key_data", "x"))
	mergeTable(dst, tbl(
		"additional_connection_limits", tbl("b", "20", "c", "3"),
		"tls_certificate", tbl("vault_path", "p"),
		"new_key", true,
		"connection_limit", int64(5)))
	if got := dst.Keys(); !reflect.DeepEqual(got, []string{"connection_limit", "additional_connection_limits", "tls_certificate", "new_key"}) {
		t.Fatalf("key order %v", got)
	}
	acl, _ := dst.Get("additional_connection_limits")
	if !reflect.DeepEqual(acl.(*plain.Map).Plain(true), map[string]any{"a": "1", "b": "20", "c": "3"}) {
		t.Fatalf("additional map not merged entry-wise: %v", acl.(*plain.Map).Plain(true))
	}
	cert, _ := dst.Get("tls_certificate")
	if !reflect.DeepEqual(cert.(*plain.Map).Plain(true), map[string]any{"vault_path": "p"}) {
		t.Fatalf("other tables must be replaced whole: %v", cert.(*plain.Map).Plain(true))
	}
	// A non-table on either side replaces.
	mergeTable(dst, tbl("additional_connection_limits", "oops"))
	if v, _ := dst.Get("additional_connection_limits"); v != "oops" {
		t.Fatalf("got %v", v)
	}
}

func TestMergeBlockAndReplaceBase(t *testing.T) {
	a := newBlock("a.com")
	a.Params = tbl("x", int64(1), "y", int64(2))
	a.Sources = tbl("s1", tbl("x", int64(10)))
	a.Automation = []*Rule{{}}
	b := newBlock("b.com")
	b.Params = tbl("y", int64(3))
	b.Sources = tbl("s1", tbl("z", int64(1)), "s2", tbl("x", int64(5)))
	b.Automation = []*Rule{{}}
	mergeBlock(a, b)
	if !reflect.DeepEqual(a.Params.Plain(true), map[string]any{"x": int64(1), "y": int64(3)}) {
		t.Fatalf("params %v", a.Params.Plain(true))
	}
	s1, _ := a.Sources.Get("s1")
	if !reflect.DeepEqual(s1.(*plain.Map).Plain(true), map[string]any{"x": int64(10), "z": int64(1)}) || a.Sources.Len() != 2 {
		t.Fatalf("sources %v", a.Sources.Plain(true))
	}
	if len(a.Automation) != 2 || a.Name != "a.com" {
		t.Fatalf("automation %d name %s", len(a.Automation), a.Name)
	}

	c := newBlock("c")
	c.ReplaceBase = true
	c.Params = tbl("only", true)
	a.ReplaceBase = false
	mergeBlock(a, c)
	if !reflect.DeepEqual(a.Params.Plain(true), map[string]any{"only": true}) || a.Sources.Len() != 0 || len(a.Automation) != 0 {
		t.Fatalf("replace_base did not replace: %v", a.Params.Plain(true))
	}
	if a.ReplaceBase {
		t.Fatal("the stored block's replace_base flag must not change")
	}
}

func TestMergeProviderKeepsFirstMaxMessageRate(t *testing.T) {
	a := &Provider{Name: "p", MaxMessageRate: "10/s", ConnectionLimit: "5", Params: plain.NewMap(0), Sources: plain.NewMap(0), Matches: []Match{{DomainSuffix, ".a"}}}
	b := &Provider{Name: "p", MaxMessageRate: "99/s", Params: tbl("k", int64(1)), Sources: plain.NewMap(0), Matches: []Match{{MXSuffix, ".b"}}}
	mergeProvider(a, b)
	if a.MaxMessageRate != "10/s" || a.ConnectionLimit != "5" || len(a.Matches) != 2 {
		t.Fatalf("%+v", a)
	}
	mergeProvider(a, &Provider{Name: "p", ReplaceBase: true, MaxMessageRate: "1/s", Params: plain.NewMap(0), Sources: plain.NewMap(0)})
	if a.MaxMessageRate != "10/s" || a.ConnectionLimit != "" || len(a.Matches) != 0 {
		t.Fatalf("replace_base provider: %+v", a)
	}
}

func TestSuffixAndHostMatching(t *testing.T) {
	cases := []struct {
		c, s string
		want bool
	}{
		{"a", "a", true}, {"foo.com", "foo.com", true}, {"foo.com", ".foo.com", false},
		{"foo.com", "longer.com", false}, {"réputation.net", ".mx.microsoft", false},
		{"foo.Com", ".com", false}, {"foo.Cam", ".com", false}, {"gmail.com", "ail.com", true},
		{"mx.kpnmail.nl.", ".kpnmail.nl.", false}, {"mx.google.com.", ".google.com", true},
	}
	for _, c := range cases {
		if got := suffixMatches(c.c, c.s); got != c.want {
			t.Errorf("suffixMatches(%q, %q) = %v", c.c, c.s, got)
		}
	}
	if !hostMatches("foo.com", "foo.com") || !hostMatches("foo.com.", "foo.com") || hostMatches("foo.com", "notfoo.com") {
		t.Error("hostMatches")
	}
}

func TestProviderDomainMatches(t *testing.T) {
	mx := fakeMX{
		"gmail.com":   {"alt1.gmail-smtp-in.l.google.com.", "gmail-smtp-in.l.google.com."},
		"mixed.com":   {"mx.google.com.", "mx.other.net."},
		"hosted.org":  {"aspmx.l.google.com."},
		"exact.net":   {"mx1.exact.net."},
		"nomx.domain": {"nomx.domain."},
	}
	google := &Provider{Name: "google", Matches: []Match{{MXSuffix, ".google.com"}}}
	bySuffix := &Provider{Name: "y", Matches: []Match{{DomainSuffix, ".yahoo.com"}, {MXSuffix, ".never"}}}
	exact := &Provider{Name: "e", Matches: []Match{{HostName, "mx1.exact.net"}}}
	none := &Provider{Name: "none"}
	ctx := context.Background()
	checks := []struct {
		p      *Provider
		domain string
		want   bool
	}{
		{google, "gmail.com", true},
		{google, "hosted.org", true},
		{google, "mixed.com", false}, // every host must match
		{google, "unknown.com", false},
		{bySuffix, "mail.yahoo.com", true}, // no MX lookup needed
		{bySuffix, "yahoo.com", false},
		{exact, "exact.net", true},
		{none, "gmail.com", false},
		{&Provider{Matches: []Match{{MXSuffix, "domain"}}}, "nomx.domain", true},
	}
	for _, c := range checks {
		if got := c.p.domainMatches(ctx, c.domain, mx); got != c.want {
			t.Errorf("%s matches %s = %v, want %v", c.p.Name, c.domain, got, c.want)
		}
	}
}

func TestImpliedParams(t *testing.T) {
	p := &Provider{Name: "Office 365", ConnectionLimit: "local:5", MaxMessageRate: "100/h"}
	target := tbl("provider_source_selection_rate", "10/s", "additional_connection_limits", tbl("mine", "1"), "provider_name", "x")
	p.applyImplied("src-a", target)
	want := map[string]any{
		"provider_name":                     "Office 365",
		"additional_connection_limits":      map[string]any{"mine": "1", "shaping-provider-Office 365-src-a-limit": "local:5"},
		"additional_message_rate_throttles": map[string]any{"shaping-provider-Office 365-src-a-rate": "100/h"},
		"additional_source_selection_rates": map[string]any{"shaping-provider-Office 365-src-a-selection-rate": "10/s"},
	}
	if got := target.Plain(true); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

// testShaping builds the layered data the resolution tests use.
func testShaping() *Shaping {
	s := newShaping()
	def := newBlock("default")
	def.Params = tbl("connection_limit", int64(10), "max_message_rate", "100/hr")
	def.Sources = tbl("s1", tbl("from_default_source", true))
	s.byDomain.mergeOrInsert("default", def)

	google := &Provider{Name: "google", Matches: []Match{{MXSuffix, ".google.com"}}, ConnectionLimit: "20",
		Params:  tbl("connection_limit", int64(20), "enable_tls", "Required"),
		Sources: tbl("s1", tbl("provider_source_selection_rate", "5/s", "idle_timeout", "7s"))}
	s.mergeProvider(google)

	site := newBlock("gmail.com")
	site.Params = tbl("max_deliveries_per_connection", int64(50))
	site.Sources = tbl("s1", tbl("connection_limit", int64(3)))
	s.bySite.mergeOrInsert("(alt1)?.gmail-smtp-in.l.google.com", site)

	dom := newBlock("literal.example")
	dom.MxRollup = false
	dom.Params = tbl("connection_limit", int64(4))
	dom.Sources = tbl("s1", tbl("connection_limit", int64(1)))
	s.byDomain.mergeOrInsert("literal.example", dom)

	reset := newBlock("reset.example")
	reset.ReplaceBase = true
	reset.Params = tbl("only_this", true)
	s.bySite.mergeOrInsert("reset-site", reset)
	return s
}

func TestResolvePrecedence(t *testing.T) {
	s := testShaping()
	mx := fakeMX{"gmail.com": {"alt1.gmail-smtp-in.l.google.com.", "gmail-smtp-in.l.google.com."}}
	ctx := context.Background()
	site := "(alt1)?.gmail-smtp-in.l.google.com"

	got := s.Resolve(ctx, Query{"gmail.com", "s1", site}, mx, nil).Plain(true)
	want := map[string]any{
		"connection_limit":              int64(3), // site source wins
		"max_message_rate":              "100/hr", // raw value from default, not canonicalised
		"enable_tls":                    "Required",
		"provider_name":                 "google",
		"idle_timeout":                  "7s",
		"max_deliveries_per_connection": int64(50),
		"additional_connection_limits":  map[string]any{"shaping-provider-google-s1-limit": "20"},
		"additional_source_selection_rates": map[string]any{
			"shaping-provider-google-s1-selection-rate": "5/s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("gmail.com/s1:\n got %v\nwant %v", got, want)
	}
	// (want has no from_default_source: default.sources never apply.)

	// Another source: no provider source, no site source.
	got = s.Resolve(ctx, Query{"gmail.com", "s2", site}, mx, nil).Plain(true)
	if got["connection_limit"] != int64(20) || got["idle_timeout"] != nil {
		t.Fatalf("gmail.com/s2: %v", got)
	}

	// The site is found only by the caller's site name.
	got = s.Resolve(ctx, Query{"gmail.com", "s2", "some.other.site"}, mx, nil).Plain(true)
	if _, ok := got["max_deliveries_per_connection"]; ok {
		t.Fatalf("site block applied to another site: %v", got)
	}

	// mx_rollup=false domain and its source.
	got = s.Resolve(ctx, Query{"literal.example", "s1", "literal.example"}, mx, nil).Plain(true)
	if got["connection_limit"] != int64(1) {
		t.Fatalf("domain source should win: %v", got)
	}
	// Domain keys are case-sensitive.
	got = s.Resolve(ctx, Query{"Literal.Example", "s9", "x"}, mx, nil).Plain(true)
	if got["connection_limit"] != int64(10) {
		t.Fatalf("case-insensitive domain match: %v", got)
	}

	// A first-defined replace_base site discards default and providers.
	got = s.Resolve(ctx, Query{"reset.example", "s1", "reset-site"}, mx, nil).Plain(true)
	if !reflect.DeepEqual(got, map[string]any{"only_this": true}) {
		t.Fatalf("replace_base at query time: %v", got)
	}

	// Names that are not DNS names skip providers entirely.
	got = s.Resolve(ctx, Query{"http://127.0.0.1:8008.tsa.kumomta", "unspecified", "x"}, mx, nil).Plain(true)
	if _, ok := got["provider_name"]; ok || got["connection_limit"] != int64(10) {
		t.Fatalf("TSA hook name: %v", got)
	}

	// Nothing at all: empty result.
	if n := newShaping().Resolve(ctx, Query{"a.com", "s", "a.com"}, mx, nil).Len(); n != 0 {
		t.Fatalf("empty shaping gave %d keys", n)
	}
}

func TestResolveTrace(t *testing.T) {
	s := testShaping()
	mx := fakeMX{"gmail.com": {"gmail-smtp-in.l.google.com."}}
	var layers []Layer
	s.Resolve(context.Background(), Query{"gmail.com", "s1", "(alt1)?.gmail-smtp-in.l.google.com"}, mx, &layers)
	var kinds []string
	for _, l := range layers {
		kinds = append(kinds, l.Kind)
	}
	want := []string{"default", "provider", "provider-implied", "provider-source", "provider-implied", "site", "site-source"}
	if !reflect.DeepEqual(kinds, want) {
		t.Fatalf("layers %v", kinds)
	}
	if v, _ := layers[2].Params.Get("provider_name"); v != "google" {
		t.Fatalf("implied layer %v", layers[2].Params.Plain(true))
	}
}

func TestIsDNSName(t *testing.T) {
	good := []string{"example.com", "example.com.", "a", "*.example.com", "xn--bcher-kva.example", "bücher.example", "under_score.com", "a-b.c"}
	bad := []string{"", "http://127.0.0.1:8008.tsa.kumomta", "-a.com", "a..com", "has space.com", "a.*.com", string(make([]byte, 256))}
	for _, n := range good {
		if !IsDNSName(n) {
			t.Errorf("%q rejected", n)
		}
	}
	for _, n := range bad {
		if IsDNSName(n) {
			t.Errorf("%q accepted", n)
		}
	}
}
