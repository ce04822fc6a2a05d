package dns_test

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

const exampleZone = `
$ORIGIN example.test.
@          300 IN SOA ns.example.test. admin.example.test. 1 3600 600 86400 120
@          300 IN MX 20 mx-b.example.test.
@          300 IN MX 10 mx-z.example.test.
@          300 IN MX 10 mx-a.example.test.
@          300 IN TXT "v=spf1 " "-all"
mx-a       300 IN A 192.0.2.1
mx-a       300 IN AAAA 2001:db8::1
alias      300 IN CNAME mid.example.test.
mid        300 IN CNAME mx-a
loop1      300 IN CNAME loop2
loop2      300 IN CNAME loop1
out        300 IN CNAME elsewhere.invalid.
a.b.deep   300 IN A 192.0.2.9
mailonly   300 IN A 192.0.2.7
`

func zoneResolver(t *testing.T, texts []string, servfail ...string) *dns.Resolver {
	t.Helper()
	var zones []dns.ZoneText
	for _, s := range texts {
		zones = append(zones, dns.ZoneText{Text: s})
	}
	z, err := dns.ParseZones(zones, servfail)
	if err != nil {
		t.Fatal(err)
	}
	return dns.New(dns.Config{Test: z})
}

func TestZoneMXByPreference(t *testing.T) {
	r := zoneResolver(t, []string{exampleZone})
	mx, err := r.LookupMX(context.Background(), "Example.Test")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"mx-a.example.test.", "mx-z.example.test.", "mx-b.example.test."}
	if !reflect.DeepEqual(mx.Hosts, want) || !mx.IsMX || len(mx.ByPref) != 2 || mx.ByPref[0].Pref != 10 {
		t.Fatalf("got %+v, want hosts %v by preference", mx, want)
	}
}

func TestZoneNXDOMAINAndNODATA(t *testing.T) {
	r := zoneResolver(t, []string{exampleZone})
	ctx := context.Background()
	// NODATA: the name exists with an A record, so the implicit MX.
	mx, err := r.LookupMX(ctx, "mailonly.example.test")
	if err != nil || mx.IsMX || !reflect.DeepEqual(mx.Hosts, []string{"mailonly.example.test."}) {
		t.Fatalf("NODATA: got %+v, %v", mx, err)
	}
	// An empty non-terminal exists too.
	if mx, err := r.LookupMX(ctx, "deep.example.test"); err != nil || mx.IsMX {
		t.Fatalf("empty non-terminal: got %+v, %v", mx, err)
	}
	// NXDOMAIN inside the zone, and outside every zone.
	for _, name := range []string{"missing.example.test", "nowhere.invalid"} {
		_, err := r.LookupMX(ctx, name)
		if err == nil || !strings.HasSuffix(err.Error(), ": NXDOMAIN") {
			t.Errorf("%s: got %v, want NXDOMAIN", name, err)
		}
	}
	if _, err := r.LookupTXT(ctx, "missing.example.test"); err == nil || !strings.Contains(err.Error(), "NXDOMAIN") {
		t.Errorf("TXT of a missing name: got %v, want NXDOMAIN", err)
	}
	if txt, err := r.LookupTXT(ctx, "mailonly.example.test"); err != nil || len(txt) != 0 {
		t.Errorf("TXT NODATA: got %v, %v, want an empty list", txt, err)
	}
	if txt, err := r.LookupTXT(ctx, "example.test"); err != nil || !reflect.DeepEqual(txt, []string{"v=spf1 -all"}) {
		t.Errorf("TXT: got %q, %v", txt, err)
	}
}

func TestZoneCNAMEChains(t *testing.T) {
	r := zoneResolver(t, []string{exampleZone})
	ctx := context.Background()
	addrs, err := r.LookupAddr(ctx, "alias.example.test", dns.IPv4AndIPv6)
	if err != nil || !reflect.DeepEqual(addrs, []string{"192.0.2.1", "2001:db8::1"}) {
		t.Fatalf("chain of two: got %v, %v", addrs, err)
	}
	if _, err := r.LookupAddr(ctx, "loop1.example.test", dns.IPv4Only); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Fatalf("loop: got %v, want a SERVFAIL failure", err)
	}
	// A chain leaving the zones ends there: no addresses, no error.
	if addrs, err := r.LookupAddr(ctx, "out.example.test", dns.IPv4Only); err != nil || len(addrs) != 0 {
		t.Fatalf("chain out of the zones: got %v, %v", addrs, err)
	}
}

func TestZonePTRAndServfail(t *testing.T) {
	r := zoneResolver(t, []string{`
$ORIGIN 0.0.127.in-addr.arpa.
1 30 IN PTR localhost.
`, `
$ORIGIN 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.
@ 30 IN PTR LocalHost.
`}, "2.0.0.127.in-addr.arpa")
	ctx := context.Background()
	for _, ip := range []string{"127.0.0.1", "::1"} {
		got, err := r.LookupPTR(ctx, netip.MustParseAddr(ip))
		if err != nil || !reflect.DeepEqual(got, []string{"localhost."}) {
			t.Errorf("%s: got %v, %v", ip, got, err)
		}
	}
	if got, err := r.LookupPTR(ctx, netip.MustParseAddr("10.0.0.1")); err != nil || len(got) != 0 {
		t.Errorf("unknown PTR: got %v, %v, want an empty list", got, err)
	}
	if _, err := r.LookupPTR(ctx, netip.MustParseAddr("127.0.0.2")); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Errorf("servfail name: got %v", err)
	}
}

func TestRBLLookup(t *testing.T) {
	r := zoneResolver(t, []string{`
$ORIGIN bl.example.
2.0.0.127 600 A 127.0.0.2
2.0.0.127 600 TXT "listed"
3.0.0.127 600 A 127.0.0.4
`})
	ctx := context.Background()
	cases := []struct {
		in, addr, reason  string
		listed, hasReason bool
	}{
		{"127.0.0.2:25", "127.0.0.2", "listed", true, true},
		{"127.0.0.3", "127.0.0.4", "", true, false},
		{"127.0.0.5", "", "", false, false},
	}
	for _, c := range cases {
		ip, err := dns.ParseRBLAddress(c.in)
		if err != nil {
			t.Fatal(err)
		}
		addr, reason, listed, hasReason, err := r.RBLLookup(ctx, ip, "bl.example")
		if err != nil || addr != c.addr || reason != c.reason || listed != c.listed || hasReason != c.hasReason {
			t.Errorf("%s: got %q %q %v %v %v", c.in, addr, reason, listed, hasReason, err)
		}
	}
	if _, err := dns.ParseRBLAddress("not-an-ip"); err == nil {
		t.Error("ParseRBLAddress accepted a name")
	}
}

func TestAggregateAsksZonesFirst(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddA("www.example.test.", "198.51.100.1", 60) // shadowed by the zone
	srv.AddA("www.other.test.", "198.51.100.2", 60)
	z, err := dns.ParseZones([]dns.ZoneText{{Text: exampleZone}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := dns.New(dns.Config{Aggregate: []dns.Config{{Test: z}, {NameServers: []dns.NameServer{srv.NameServer()}}}})
	ctx := context.Background()
	// Inside the zone: the zone's answer, NXDOMAIN included, is final.
	if got, err := r.LookupAddr(ctx, "www.example.test", dns.IPv4Only); err != nil || len(got) != 0 {
		t.Errorf("name in the zone: got %v, %v, want the zone's NXDOMAIN", got, err)
	}
	if got, err := r.LookupAddr(ctx, "mx-a.example.test", dns.IPv4Only); err != nil || !reflect.DeepEqual(got, []string{"192.0.2.1"}) {
		t.Errorf("zone record: got %v, %v", got, err)
	}
	if n := srv.Queries("www.example.test."); n != 0 {
		t.Errorf("the name server was asked about a name in the zone %d times", n)
	}
	// Outside it: the name server.
	if got, err := r.LookupAddr(ctx, "www.other.test", dns.IPv4Only); err != nil || !reflect.DeepEqual(got, []string{"198.51.100.2"}) {
		t.Errorf("name outside the zone: got %v, %v", got, err)
	}
}

func TestConfigureWithZonesDropsCachedAnswers(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("example.test.", 10, "mx.from-server.test.", 3600)
	r := srv.Resolver()
	ctx := context.Background()
	if mx, err := r.LookupMX(ctx, "example.test"); err != nil || mx.Hosts[0] != "mx.from-server.test." {
		t.Fatalf("got %+v, %v", mx, err)
	}
	z, err := dns.ParseZones([]dns.ZoneText{{Text: exampleZone}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Configure(dns.Config{Test: z})
	mx, err := r.LookupMX(ctx, "example.test")
	if err != nil || mx.Hosts[0] != "mx-a.example.test." {
		t.Fatalf("after configuring zones: got %+v, %v, want the zone's MX", mx, err)
	}
	r.Configure(dns.Config{NameServers: []dns.NameServer{srv.NameServer()}})
	if mx, err := r.LookupMX(ctx, "example.test"); err != nil || mx.Hosts[0] != "mx.from-server.test." {
		t.Fatalf("after configuring the server again: got %+v, %v", mx, err)
	}
}

func TestParseZonesErrors(t *testing.T) {
	cases := []struct{ zone, want string }{
		{"$ORIGIN a.test.\nx 30 IN A not-an-ip\n", "zone 1: dns: bad A A"},
		{"$ORIGIN a.test.\nx.b.test. 30 IN A 192.0.2.1\n", "zone 1: record x.b.test. is outside the zone's origin a.test."},
		{"; nothing\n", "zone 1: the zone has neither records nor an $ORIGIN"},
	}
	for _, c := range cases {
		_, err := dns.ParseZones([]dns.ZoneText{{Text: c.zone}}, nil)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.zone, err, c.want)
		}
	}
}

func TestDecodeTestAndAggregate(t *testing.T) {
	zone := "$ORIGIN t.test.\n@ 30 IN A 192.0.2.1\n"
	good := []any{
		map[string]any{"Test": map[string]any{"zones": []any{zone, map[string]any{"zone": zone, "secure": true}}, "servfail": []any{"x.t.test"}}},
		map[string]any{"Aggregate": []any{map[string]any{"Test": map[string]any{"zones": []any{zone}}}, "HickorySystemConfig"}},
		// The docs' mixed table: the keyed Test first, then the list.
		map[string]any{"Aggregate": map[string]any{"Test": map[string]any{"zones": []any{zone}}, "1": "HickorySystemConfig"}},
	}
	for i, v := range good {
		cfg, err := dns.DecodeResolverConfig(v)
		if err != nil || !cfg.UsesZones() {
			t.Errorf("%d: got %+v, %v", i, cfg, err)
		}
	}
	cfg, _ := dns.DecodeResolverConfig(good[2])
	if len(cfg.Aggregate) != 2 || cfg.Aggregate[0].Test == nil || cfg.Aggregate[1].Test != nil {
		t.Errorf("mixed Aggregate table: got %+v", cfg)
	}
	bad := []struct {
		in   any
		want string
	}{
		{map[string]any{"Test": map[string]any{}}, "Test: missing field `zones`"},
		{map[string]any{"Test": map[string]any{"zones": []any{zone}, "zone": 1}}, "Test: unknown field `zone`, expected `zones` or `servfail`"},
		{map[string]any{"Test": map[string]any{"zones": []any{true}}}, "Test.zones[1]: invalid type: boolean `true`, expected a zone text or {zone = TEXT, secure = BOOL}"},
		{map[string]any{"Test": map[string]any{"zones": []any{"$ORIGIN t.test.\nx IN A nope\n"}}}, "Test: zone 1: dns: bad A A"},
		{map[string]any{"Aggregate": []any{}}, "Aggregate: an Aggregate resolver needs at least one resolver"},
		{map[string]any{"Aggregate": []any{"HickorySystemConfig", map[string]any{"Unbound": map[string]any{}}}}, "Aggregate[2].Unbound.name_servers: kumopolicy runs Unbound's forwarding mode only"},
	}
	for _, c := range bad {
		_, err := dns.DecodeResolverConfig(c.in)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}
