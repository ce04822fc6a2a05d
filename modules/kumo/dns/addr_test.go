package dns_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

func TestLookupAddrStrategies(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddA("both.test", "192.0.2.1", 300)
	srv.AddA("both.test", "192.0.2.2", 300)
	srv.AddAAAA("both.test", "2001:db8::1", 300)
	srv.AddA("v4.test", "192.0.2.4", 300)
	srv.AddAAAA("v6.test", "2001:db8::6", 300)
	ctx := context.Background()

	for _, c := range []struct {
		name     string
		strategy dns.IPStrategy
		want     []string
	}{
		{"both.test", dns.IPv4AndIPv6, []string{"192.0.2.1", "192.0.2.2", "2001:db8::1"}},
		{"Both.TEST.", dns.IPv4Only, []string{"192.0.2.1", "192.0.2.2"}},
		{"both.test", dns.IPv6Only, []string{"2001:db8::1"}},
		{"both.test", dns.IPv6ThenIPv4, []string{"2001:db8::1"}},
		{"both.test", dns.IPv4ThenIPv6, []string{"192.0.2.1", "192.0.2.2"}},
		{"v4.test", dns.IPv6ThenIPv4, []string{"192.0.2.4"}},
		{"v6.test", dns.IPv4ThenIPv6, []string{"2001:db8::6"}},
		{"v6.test", dns.IPv4Only, []string{}},
		// No DNS for literals, addresses and unix paths.
		{"[192.0.2.9]", dns.IPv4AndIPv6, []string{"192.0.2.9"}},
		{"[IPv6:2001:DB8::9]", dns.IPv4AndIPv6, []string{"2001:db8::9"}},
		{"[::1]", dns.IPv4AndIPv6, []string{"::1"}},
		{"127.0.0.1", dns.IPv4AndIPv6, []string{"127.0.0.1"}},
		{"/var/run/sink.sock", dns.IPv4AndIPv6, []string{"/var/run/sink.sock"}},
		// Names that do not exist or have no addresses: empty, no error.
		{"missing.test", dns.IPv4AndIPv6, []string{}},
	} {
		got, err := r.LookupAddr(ctx, c.name, c.strategy)
		if err != nil {
			t.Errorf("%s %v: %v", c.name, c.strategy, err)
			continue
		}
		if got == nil {
			got = []string{}
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %v = %q, want %q", c.name, c.strategy, got, c.want)
		}
	}
	// Each family of both.test was asked once: the rest came from the cache.
	if a, aaaa := srv.QueriesOf("both.test", mdns.TypeA), srv.QueriesOf("both.test", mdns.TypeAAAA); a != 1 || aaaa != 1 {
		t.Fatalf("A %d AAAA %d queries", a, aaaa)
	}
	if srv.Queries("127.0.0.1") != 0 {
		t.Fatal("an address literal was queried")
	}
}

func TestLookupAddrErrors(t *testing.T) {
	srv := dnstest.New(t)
	r := dns.New(dns.Config{
		NameServers: []dns.NameServer{srv.NameServer()},
		Options:     dns.Options{Timeout: 100 * time.Millisecond, Attempts: 1},
	})
	srv.ServFail("bad.test")
	_, err := r.LookupAddr(context.Background(), "bad.test", dns.IPv4AndIPv6)
	if err == nil || !strings.HasPrefix(err.Error(), "DNS: failed to query DNS for bad.test.: 127.0.0.1:") || !strings.HasSuffix(err.Error(), "answered SERVFAIL") {
		t.Fatalf("servfail: %v", err)
	}
	// Failures are not cached.
	r.LookupAddr(context.Background(), "bad.test", dns.IPv4Only)
	if n := srv.QueriesOf("bad.test", mdns.TypeA); n != 2 {
		t.Fatalf("%d A queries", n)
	}

	srv.AddA("slow.test", "192.0.2.1", 300)
	srv.Delay("slow.test", time.Second)
	_, err = r.LookupAddr(context.Background(), "slow.test", dns.IPv4Only)
	if err == nil || !strings.Contains(err.Error(), "(udp) within 100ms") {
		t.Fatalf("timeout: %v", err)
	}

	for _, bad := range []string{"[192.0.2.1", "[IPv6:192.0.2.1]", "a..b", ""} {
		if _, err := r.LookupAddr(context.Background(), bad, dns.IPv4AndIPv6); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestLookupAddrCacheTTL(t *testing.T) {
	srv := dnstest.New(t)
	clk := newClock()
	r := srv.Resolver(dns.WithClock(clk.Now))
	srv.AddA("ttl.test", "192.0.2.1", 30)
	srv.SetNegativeTTL(10)
	lookup := func() {
		if _, err := r.LookupAddr(context.Background(), "ttl.test", dns.IPv4AndIPv6); err != nil {
			t.Fatal(err)
		}
	}
	lookup()
	clk.Advance(9 * time.Second)
	lookup()
	if a, aaaa := srv.QueriesOf("ttl.test", mdns.TypeA), srv.QueriesOf("ttl.test", mdns.TypeAAAA); a != 1 || aaaa != 1 {
		t.Fatalf("A %d AAAA %d", a, aaaa)
	}
	clk.Advance(time.Second) // NODATA for AAAA expires after 10 s
	lookup()
	if a, aaaa := srv.QueriesOf("ttl.test", mdns.TypeA), srv.QueriesOf("ttl.test", mdns.TypeAAAA); a != 1 || aaaa != 2 {
		t.Fatalf("A %d AAAA %d", a, aaaa)
	}
	clk.Advance(20 * time.Second)
	lookup()
	if a := srv.QueriesOf("ttl.test", mdns.TypeA); a != 2 {
		t.Fatalf("A %d after 30 s", a)
	}
}

func TestLookupAddrFollowsCNAME(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddCNAME("alias.test", "target.test", 300)
	srv.AddA("target.test", "192.0.2.7", 300)
	got, err := r.LookupAddr(context.Background(), "alias.test", dns.IPv4Only)
	if err != nil || !reflect.DeepEqual(got, []string{"192.0.2.7"}) {
		t.Fatalf("%q %v", got, err)
	}
}

func TestParseIPStrategy(t *testing.T) {
	for _, s := range []string{"Ipv4AndIpv6", "Ipv4Only", "Ipv6Only", "Ipv6ThenIpv4", "Ipv4ThenIpv6"} {
		st, err := dns.ParseIPStrategy(s)
		if err != nil || st.String() != s {
			t.Errorf("%s: %v %v", s, st, err)
		}
	}
	if _, err := dns.ParseIPStrategy("ipv4only"); err == nil {
		t.Error("lowercase accepted")
	}
}
