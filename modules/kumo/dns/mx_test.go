package dns_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// clock is a settable time source for TTL tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type mxRecord struct {
	pref uint16
	host string
}

// KumoMTA's documented site_name examples, each produced by a real MX
// exchange with the loopback server. Records are published in a shuffled
// order so that the resolver's own grouping and sorting is what is tested.
func TestSiteNameExamplesOverDNS(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	ctx := context.Background()

	cases := []struct {
		domain   string // what is looked up (may carry a port)
		zone     string // the name the records are published at
		records  []mxRecord
		nodata   bool
		siteName string
		hosts    []string
		byPref   []dns.Preference
		isMX     bool
	}{
		{
			domain: "yahoo.test", zone: "yahoo.test",
			records:  []mxRecord{{1, "mta7.am0.yahoodns.net"}, {1, "mta5.am0.yahoodns.net"}, {1, "mta6.am0.yahoodns.net"}},
			siteName: "(mta5|mta6|mta7).am0.yahoodns.net",
			hosts:    []string{"mta5.am0.yahoodns.net.", "mta6.am0.yahoodns.net.", "mta7.am0.yahoodns.net."},
			byPref:   []dns.Preference{{Pref: 1, Hosts: []string{"mta5.am0.yahoodns.net.", "mta6.am0.yahoodns.net.", "mta7.am0.yahoodns.net."}}},
			isMX:     true,
		},
		{
			// Mixed-case exchanges are lowercased.
			domain: "Yahoo-Case.TEST", zone: "yahoo-case.test",
			records:  []mxRecord{{1, "mta5.AM0.yahoodns.net"}, {1, "MTA7.am0.yahoodns.net"}, {1, "mta6.am0.yAHOodns.net"}},
			siteName: "(mta5|mta6|mta7).am0.yahoodns.net",
			hosts:    []string{"mta5.am0.yahoodns.net.", "mta6.am0.yahoodns.net.", "mta7.am0.yahoodns.net."},
			byPref:   []dns.Preference{{Pref: 1, Hosts: []string{"mta5.am0.yahoodns.net.", "mta6.am0.yahoodns.net.", "mta7.am0.yahoodns.net."}}},
			isMX:     true,
		},
		{
			domain: "gmail.test", zone: "gmail.test",
			records: []mxRecord{
				{30, "alt3.gmail-smtp-in.l.google.com"},
				{40, "alt4.gmail-smtp-in.l.google.com"},
				{5, "gmail-smtp-in.l.google.com"},
				{10, "alt1.gmail-smtp-in.l.google.com"},
				{20, "alt2.gmail-smtp-in.l.google.com"},
			},
			siteName: "(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com",
			hosts: []string{
				"gmail-smtp-in.l.google.com.",
				"alt1.gmail-smtp-in.l.google.com.",
				"alt2.gmail-smtp-in.l.google.com.",
				"alt3.gmail-smtp-in.l.google.com.",
				"alt4.gmail-smtp-in.l.google.com.",
			},
			byPref: []dns.Preference{
				{Pref: 5, Hosts: []string{"gmail-smtp-in.l.google.com."}},
				{Pref: 10, Hosts: []string{"alt1.gmail-smtp-in.l.google.com."}},
				{Pref: 20, Hosts: []string{"alt2.gmail-smtp-in.l.google.com."}},
				{Pref: 30, Hosts: []string{"alt3.gmail-smtp-in.l.google.com."}},
				{Pref: 40, Hosts: []string{"alt4.gmail-smtp-in.l.google.com."}},
			},
			isMX: true,
		},
		{
			// A port in the input is appended to every host and to the TLD
			// label of the site name.
			domain: "yahoo-port.test:123", zone: "yahoo-port.test",
			records:  []mxRecord{{1, "mta6.am0.yahoodns.net"}, {1, "mta7.am0.yahoodns.net"}, {1, "mta5.am0.yahoodns.net"}},
			siteName: "(mta5|mta6|mta7).am0.yahoodns.net:123",
			hosts:    []string{"mta5.am0.yahoodns.net.:123", "mta6.am0.yahoodns.net.:123", "mta7.am0.yahoodns.net.:123"},
			byPref:   []dns.Preference{{Pref: 1, Hosts: []string{"mta5.am0.yahoodns.net.:123", "mta6.am0.yahoodns.net.:123", "mta7.am0.yahoodns.net.:123"}}},
			isMX:     true,
		},
		{
			// The same host at two preferences appears twice; positions
			// align from the TLD.
			domain: "mixed-a.test", zone: "mixed-a.test",
			records:  []mxRecord{{30, "mx-biz.mail.am0.yahoodns.net"}, {10, "example-com.mail.protection.outlook.com"}, {20, "mx-biz.mail.am0.yahoodns.net"}},
			siteName: "(example-com|mx-biz).mail.(protection|am0).(outlook|yahoodns).(com|net)",
			hosts:    []string{"example-com.mail.protection.outlook.com.", "mx-biz.mail.am0.yahoodns.net.", "mx-biz.mail.am0.yahoodns.net."},
			byPref: []dns.Preference{
				{Pref: 10, Hosts: []string{"example-com.mail.protection.outlook.com."}},
				{Pref: 20, Hosts: []string{"mx-biz.mail.am0.yahoodns.net."}},
				{Pref: 30, Hosts: []string{"mx-biz.mail.am0.yahoodns.net."}},
			},
			isMX: true,
		},
		{
			// The reverse order gives a different site name.
			domain: "mixed-b.test", zone: "mixed-b.test",
			records:  []mxRecord{{30, "example-com.mail.protection.outlook.com"}, {20, "mx-biz.mail.am0.yahoodns.net"}, {10, "mx-biz.mail.am0.yahoodns.net"}},
			siteName: "(mx-biz|example-com).mail.(am0|protection).(yahoodns|outlook).(net|com)",
			hosts:    []string{"mx-biz.mail.am0.yahoodns.net.", "mx-biz.mail.am0.yahoodns.net.", "example-com.mail.protection.outlook.com."},
			byPref: []dns.Preference{
				{Pref: 10, Hosts: []string{"mx-biz.mail.am0.yahoodns.net."}},
				{Pref: 20, Hosts: []string{"mx-biz.mail.am0.yahoodns.net."}},
				{Pref: 30, Hosts: []string{"example-com.mail.protection.outlook.com."}},
			},
			isMX: true,
		},
		{
			domain: "do.havedane.net", zone: "do.havedane.net",
			records:  []mxRecord{{10, "do.havedane.net"}},
			siteName: "do.havedane.net",
			hosts:    []string{"do.havedane.net."},
			byPref:   []dns.Preference{{Pref: 10, Hosts: []string{"do.havedane.net."}}},
			isMX:     true,
		},
		{
			// Null MX.
			domain: "nullmx.test", zone: "nullmx.test",
			records:  []mxRecord{{0, "."}},
			siteName: "",
			hosts:    []string{"."},
			byPref:   []dns.Preference{{Pref: 0, Hosts: []string{"."}}},
			isMX:     true,
		},
		{
			// Null MX with a port: the port goes nowhere in the site name.
			domain: "nullmx-port.test:25", zone: "nullmx-port.test",
			records:  []mxRecord{{0, "."}},
			siteName: "",
			hosts:    []string{".:25"},
			byPref:   []dns.Preference{{Pref: 0, Hosts: []string{".:25"}}},
			isMX:     true,
		},
		{
			// NODATA: the implicit MX.
			domain: "WWW.Example.com", zone: "www.example.com", nodata: true,
			siteName: "www.example.com",
			hosts:    []string{"www.example.com."},
			byPref:   []dns.Preference{{Pref: 1, Hosts: []string{"www.example.com."}}},
			isMX:     false,
		},
		{
			// A single remaining label with a placeholder.
			domain: "alt.test", zone: "alt.test",
			records:  []mxRecord{{20, "alt1.mx.example.com"}, {10, "mx.example.com"}},
			siteName: "alt1?.mx.example.com",
			hosts:    []string{"mx.example.com.", "alt1.mx.example.com."},
			byPref:   []dns.Preference{{Pref: 10, Hosts: []string{"mx.example.com."}}, {Pref: 20, Hosts: []string{"alt1.mx.example.com."}}},
			isMX:     true,
		},
		{
			// A mixed null MX.
			domain: "mixed-null.test", zone: "mixed-null.test",
			records:  []mxRecord{{10, "mx.example.com"}, {0, "."}},
			siteName: "mx?.example?.com?",
			hosts:    []string{".", "mx.example.com."},
			byPref:   []dns.Preference{{Pref: 0, Hosts: []string{"."}}, {Pref: 10, Hosts: []string{"mx.example.com."}}},
			isMX:     true,
		},
	}
	for _, c := range cases {
		for _, rec := range c.records {
			srv.AddMX(c.zone, rec.pref, rec.host, 300)
		}
		if c.nodata {
			srv.AddA(c.zone, "192.0.2.1", 300)
		}
	}
	for _, c := range cases {
		t.Run(c.domain, func(t *testing.T) {
			mx, err := r.LookupMX(ctx, c.domain)
			if err != nil {
				t.Fatal(err)
			}
			if mx.SiteName != c.siteName {
				t.Errorf("site_name = %q, want %q", mx.SiteName, c.siteName)
			}
			if !reflect.DeepEqual(mx.Hosts, c.hosts) {
				t.Errorf("hosts = %q, want %q", mx.Hosts, c.hosts)
			}
			if !reflect.DeepEqual(mx.ByPref, c.byPref) {
				t.Errorf("by_pref = %+v, want %+v", mx.ByPref, c.byPref)
			}
			if mx.IsMX != c.isMX || mx.IsDomainLiteral || mx.IsSecure || mx.MTASTS != "None" {
				t.Errorf("flags: is_mx=%v literal=%v secure=%v mta_sts=%q", mx.IsMX, mx.IsDomainLiteral, mx.IsSecure, mx.MTASTS)
			}
			if want := strings.ToLower(c.zone) + "."; mx.DomainName != want {
				t.Errorf("domain_name = %q, want %q", mx.DomainName, want)
			}
			if srv.QueriesOf(c.zone, mdns.TypeMX) != 1 {
				t.Errorf("%d MX queries for %s", srv.QueriesOf(c.zone, mdns.TypeMX), c.zone)
			}
		})
	}
}

// The example with ports 123/456/123: three resolutions with different
// ports, factored together.
func TestSiteNameMixedPortsOverDNS(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddMX("p1.test", 1, "mta5.am0.yahoodns.net", 300)
	srv.AddMX("p2.test", 1, "mta6.am0.yahoodns.net", 300)
	srv.AddMX("p3.test", 1, "mta7.am0.yahoodns.net", 300)
	var hosts []string
	for _, d := range []string{"p1.test:123", "p2.test:456", "p3.test:123"} {
		mx, err := r.LookupMX(context.Background(), d)
		if err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, mx.Hosts...)
	}
	if got, want := dns.FactorNames(hosts), "(mta5|mta6|mta7).am0.yahoodns.(net:123|net:456)"; got != want {
		t.Fatalf("site_name %q, want %q", got, want)
	}
}

func TestLookupMXDomainLiterals(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	for _, c := range []struct{ in, want string }{
		{"[127.0.0.1]", "127.0.0.1"},
		{"[IPv6:::1]", "::1"},
		{"[::1]", "::1"},
		{"[127.0.0.1]:2525", "127.0.0.1:2525"},
		{"[127.0.0.1:2525]", "127.0.0.1:2525"},
		{"[IPv6:::1]:25", ""}, // not split: malformed
	} {
		mx, err := r.LookupMX(context.Background(), c.in)
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), "malformed literal domain") {
				t.Errorf("%s: %v", c.in, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		want := &dns.MailExchanger{
			DomainName:      c.in,
			Hosts:           []string{c.want},
			SiteName:        c.want,
			ByPref:          []dns.Preference{{Pref: 1, Hosts: []string{c.want}}},
			IsDomainLiteral: true,
			MTASTS:          "None",
		}
		if !reflect.DeepEqual(mx, want) {
			t.Errorf("%s: %+v", c.in, mx)
		}
	}
	if n := srv.TotalQueries(); n != 0 {
		t.Fatalf("literals sent %d DNS queries", n)
	}
}

var nxdomainRE = regexp.MustCompile(`^MX lookup for nope\.test failed after [0-9.]+(ns|µs|ms|s): NXDOMAIN$`)

func TestLookupMXNXDOMAINIsCachedWithItsText(t *testing.T) {
	srv := dnstest.New(t)
	clk := newClock()
	r := srv.Resolver(dns.WithClock(clk.Now))
	_, err := r.LookupMX(context.Background(), "nope.test")
	if err == nil || !nxdomainRE.MatchString(err.Error()) {
		t.Fatalf("err = %v", err)
	}
	first := err.Error()

	// Negative TTL: 5 minutes by default. The text, elapsed time
	// included, is what was cached.
	srv.AddMX("nope.test", 10, "mx.nope.test", 300)
	clk.Advance(299 * time.Second)
	_, err = r.LookupMX(context.Background(), "NOPE.test")
	if err == nil || err.Error() != first {
		t.Fatalf("cached err = %v, want %q", err, first)
	}
	if n := srv.QueriesOf("nope.test", mdns.TypeMX); n != 1 {
		t.Fatalf("%d queries", n)
	}
	clk.Advance(2 * time.Second)
	mx, err := r.LookupMX(context.Background(), "nope.test")
	if err != nil || mx.SiteName != "mx.nope.test" {
		t.Fatalf("after negative TTL: %v %v", mx, err)
	}
	if n := srv.QueriesOf("nope.test", mdns.TypeMX); n != 2 {
		t.Fatalf("%d queries", n)
	}
}

func TestMXNegativeCacheTTLIsSettable(t *testing.T) {
	srv := dnstest.New(t)
	clk := newClock()
	r := srv.Resolver(dns.WithClock(clk.Now))
	if err := r.SetMXNegativeCacheTTL(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	srv.ServFail("broken.test")
	_, err := r.LookupMX(context.Background(), "broken.test")
	want := regexp.MustCompile(`^MX lookup for broken\.test failed after [0-9.]+(ns|µs|ms|s): DNS: failed to query DNS for broken\.test\.: 127\.0\.0\.1:\d+ answered SERVFAIL$`)
	if err == nil || !want.MatchString(err.Error()) {
		t.Fatalf("err = %v", err)
	}
	// SERVFAIL is retried once (two attempts) within one resolution.
	if n := srv.QueriesOf("broken.test", mdns.TypeMX); n != 2 {
		t.Fatalf("%d queries", n)
	}
	clk.Advance(9 * time.Second)
	r.LookupMX(context.Background(), "broken.test")
	if n := srv.QueriesOf("broken.test", mdns.TypeMX); n != 2 {
		t.Fatalf("cached error re-queried: %d", n)
	}
	clk.Advance(time.Second)
	r.LookupMX(context.Background(), "broken.test")
	if n := srv.QueriesOf("broken.test", mdns.TypeMX); n != 4 {
		t.Fatalf("expired error not re-queried: %d", n)
	}
}

func TestMXResultLivesForItsTTL(t *testing.T) {
	srv := dnstest.New(t)
	clk := newClock()
	r := srv.Resolver(dns.WithClock(clk.Now))
	srv.AddMX("ttl.test", 10, "mx1.ttl.test", 60)
	srv.AddMX("ttl.test", 20, "mx2.ttl.test", 120) // the smallest TTL counts
	mx, err := r.LookupMX(context.Background(), "ttl.test")
	if err != nil {
		t.Fatal(err)
	}
	if got := mx.Expires.Sub(clk.Now()); got != 60*time.Second {
		t.Fatalf("expires in %v", got)
	}
	clk.Advance(59 * time.Second)
	if _, err := r.LookupMX(context.Background(), "ttl.test"); err != nil {
		t.Fatal(err)
	}
	if n := srv.QueriesOf("ttl.test", mdns.TypeMX); n != 1 {
		t.Fatalf("%d queries before expiry", n)
	}
	clk.Advance(time.Second)
	if mx.HasExpired(clk.Now()) != true {
		t.Fatal("HasExpired false at the TTL")
	}
	if _, err := r.LookupMX(context.Background(), "ttl.test"); err != nil {
		t.Fatal(err)
	}
	if n := srv.QueriesOf("ttl.test", mdns.TypeMX); n != 2 {
		t.Fatalf("%d queries after expiry", n)
	}
	st := r.Stats()
	if st.MXHits != 1 || st.MXMisses != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMXZeroTTLIsKeptTenSeconds(t *testing.T) {
	srv := dnstest.New(t)
	clk := newClock()
	r := srv.Resolver(dns.WithClock(clk.Now))
	srv.AddMX("zero.test", 10, "mx.zero.test", 0)
	for range 2 {
		if _, err := r.LookupMX(context.Background(), "zero.test"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(9 * time.Second)
	}
	if n := srv.QueriesOf("zero.test", mdns.TypeMX); n != 1 {
		t.Fatalf("%d queries within 10 s", n)
	}
	clk.Advance(2 * time.Second)
	r.LookupMX(context.Background(), "zero.test")
	if n := srv.QueriesOf("zero.test", mdns.TypeMX); n != 2 {
		t.Fatalf("%d queries after 10 s", n)
	}
}

func TestImplicitMXLivesForTheNegativeTTLOfTheSOA(t *testing.T) {
	srv := dnstest.New(t)
	clk := newClock()
	r := srv.Resolver(dns.WithClock(clk.Now))
	srv.SetNegativeTTL(30)
	srv.NoData("bare.test")
	mx, err := r.LookupMX(context.Background(), "bare.test")
	if err != nil {
		t.Fatal(err)
	}
	if mx.IsMX || mx.SiteName != "bare.test" || mx.Expires.Sub(clk.Now()) != 30*time.Second {
		t.Fatalf("%+v", mx)
	}
}

func TestLookupMXPortsAreSeparateCacheEntries(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddMX("ports.test", 10, "mx.ports.test", 300)
	a, _ := r.LookupMX(context.Background(), "ports.test")
	b, _ := r.LookupMX(context.Background(), "ports.test:2525")
	if a.SiteName != "mx.ports.test" || b.SiteName != "mx.ports.test:2525" || b.Hosts[0] != "mx.ports.test.:2525" {
		t.Fatalf("%+v / %+v", a, b)
	}
	if n := srv.QueriesOf("ports.test", mdns.TypeMX); n != 2 {
		t.Fatalf("%d queries", n)
	}
}

func TestLookupMXTimeoutWithSlowAnswer(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	if err := r.SetMXTimeout(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	srv.AddMX("slow.test", 10, "mx.slow.test", 300)
	srv.Delay("slow.test", 2*time.Second)
	start := time.Now()
	_, err := r.LookupMX(context.Background(), "slow.test")
	took := time.Since(start)
	want := regexp.MustCompile(`^MX lookup for slow\.test failed after (\d+)(\.\d+)?ms: deadline has elapsed$`)
	m := want.FindStringSubmatch(fmt.Sprint(err))
	if m == nil {
		t.Fatalf("err = %v", err)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 200 {
		t.Fatalf("gave up after %s ms", m[1])
	}
	if took > 1500*time.Millisecond {
		t.Fatalf("took %v", took)
	}
}

func TestQueryTimeoutIsPerServer(t *testing.T) {
	slow := dnstest.New(t)
	fast := dnstest.New(t)
	slow.Delay("two.test", 5*time.Second)
	fast.AddMX("two.test", 10, "mx.two.test", 300)
	r := dns.New(dns.Config{
		NameServers: []dns.NameServer{slow.NameServer(), fast.NameServer()},
		Options:     dns.Options{Timeout: 100 * time.Millisecond},
	})
	mx, err := r.LookupMX(context.Background(), "two.test")
	if err != nil || mx.SiteName != "mx.two.test" {
		t.Fatalf("%v %v", mx, err)
	}
}

func TestServFailFallsThroughToTheNextServer(t *testing.T) {
	bad := dnstest.New(t)
	good := dnstest.New(t)
	bad.ServFail("x.test")
	good.AddMX("x.test", 10, "mx.x.test", 300)
	r := dns.New(dns.Config{NameServers: []dns.NameServer{bad.NameServer(), good.NameServer()}})
	if mx, err := r.LookupMX(context.Background(), "x.test"); err != nil || mx.SiteName != "mx.x.test" {
		t.Fatalf("%v %v", mx, err)
	}
}

func TestNegativeAnswersAreTrustedUnlessConfigured(t *testing.T) {
	first := dnstest.New(t)
	second := dnstest.New(t)
	second.AddMX("neg.test", 10, "mx.neg.test", 300)

	trusting := dns.New(dns.Config{NameServers: []dns.NameServer{first.NameServer(), second.NameServer()}})
	if _, err := trusting.LookupMX(context.Background(), "neg.test"); err == nil || !strings.HasSuffix(err.Error(), ": NXDOMAIN") {
		t.Fatalf("trusting: %v", err)
	}

	ns := first.NameServer()
	ns.DistrustNegative = true
	distrusting := dns.New(dns.Config{NameServers: []dns.NameServer{ns, second.NameServer()}})
	if mx, err := distrusting.LookupMX(context.Background(), "neg.test"); err != nil || mx.SiteName != "mx.neg.test" {
		t.Fatalf("distrusting: %v %v", mx, err)
	}
}

func TestSingleFlight(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddMX("flight.test", 10, "mx.flight.test", 300)
	srv.Delay("flight.test", 200*time.Millisecond)
	const n = 50
	var wg sync.WaitGroup
	results := make([]*dns.MailExchanger, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := "flight.test"
			if i%2 == 1 {
				name = "FLIGHT.test."
			}
			results[i], errs[i] = r.LookupMX(context.Background(), name)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("%d: %v %p %p", i, errs[i], results[i], results[0])
		}
	}
	if q := srv.QueriesOf("flight.test", mdns.TypeMX); q != 1 {
		t.Fatalf("%d MX queries for %d concurrent lookups", q, n)
	}
}

func TestCallerContextEndsOnlyItsOwnWait(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddMX("wait.test", 10, "mx.wait.test", 300)
	srv.Delay("wait.test", 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := r.LookupMX(ctx, "wait.test")
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded") {
		t.Fatalf("err = %v", err)
	}
	mx, err := r.LookupMX(context.Background(), "wait.test")
	if err != nil || mx.SiteName != "mx.wait.test" {
		t.Fatalf("%v %v", mx, err)
	}
	if q := srv.QueriesOf("wait.test", mdns.TypeMX); q != 1 {
		t.Fatalf("%d queries", q)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	if err := r.SetMXConcurrencyLimit(3); err != nil {
		t.Fatal(err)
	}
	if err := r.SetMXConcurrencyLimit(0); err == nil {
		t.Fatal("limit 0 accepted")
	}
	const n = 12
	for i := range n {
		name := fmt.Sprintf("d%d.limit.test", i)
		srv.AddMX(name, 10, "mx."+name, 300)
		srv.Delay(name, 100*time.Millisecond)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.LookupMX(context.Background(), fmt.Sprintf("d%d.limit.test", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := srv.PeakInFlight(); p > 3 || p < 2 {
		t.Fatalf("peak in flight %d with limit 3", p)
	}
	if took := time.Since(start); took < 350*time.Millisecond {
		t.Fatalf("12 lookups of 100 ms with limit 3 took %v", took)
	}
}

func TestTruncatedAnswerIsRetriedOverTCP(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	var want []string
	for i := range 40 {
		host := fmt.Sprintf("mx%02d.a-rather-long-mail-exchanger-name-%02d.example.net", i, i)
		srv.AddMX("big.test", 10, host, 300)
		want = append(want, host+".")
	}
	mx, err := r.LookupMX(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mx.Hosts, want) {
		t.Fatalf("%d hosts: %q", len(mx.Hosts), mx.Hosts)
	}
	if q := srv.QueriesOf("big.test", mdns.TypeMX); q != 2 {
		t.Fatalf("%d queries (want UDP then TCP)", q)
	}
	// UDP only: the truncated answer is used as it is.
	udp := srv.NameServer()
	udp.Protocol = dns.UDP
	r2 := dns.New(dns.Config{NameServers: []dns.NameServer{udp}})
	mx2, err := r2.LookupMX(context.Background(), "big.test")
	if err != nil || len(mx2.Hosts) >= 40 {
		t.Fatalf("udp only: %d hosts, %v", len(mx2.Hosts), err)
	}
	// TCP only.
	tcp := srv.NameServer()
	tcp.Protocol = dns.TCP
	r3 := dns.New(dns.Config{NameServers: []dns.NameServer{tcp}})
	mx3, err := r3.LookupMX(context.Background(), "big.test")
	if err != nil || len(mx3.Hosts) != 40 {
		t.Fatalf("tcp only: %v %v", mx3, err)
	}
}

func TestPunycodeExchangeIsShownInUnicode(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	srv.AddMX("xn--bb-eka.at", 10, "mx.xn--bb-eka.at", 300)
	srv.AddA("plain-a.xn--bb-eka.at", "192.0.2.5", 300)
	mx, err := r.LookupMX(context.Background(), "ÖBB.at")
	if err != nil {
		t.Fatal(err)
	}
	if mx.DomainName != "xn--bb-eka.at." || mx.Hosts[0] != "mx.öbb.at." || mx.SiteName != "mx.xn--bb-eka.at" {
		t.Fatalf("%+v", mx)
	}
	mx, err = r.LookupMX(context.Background(), "plain-a.xn--bb-eka.at")
	if err != nil || mx.Hosts[0] != "plain-a.xn--bb-eka.at." || mx.IsMX {
		t.Fatalf("%+v %v", mx, err)
	}
}

func TestInvalidNames(t *testing.T) {
	srv := dnstest.New(t)
	r := srv.Resolver()
	for _, in := range []string{"", "a..b", "[nonsense]"} {
		if _, err := r.LookupMX(context.Background(), in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	if srv.TotalQueries() != 0 {
		t.Fatal("invalid names were queried")
	}
}

func TestNameServersFromResolvConf(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("conf.test", 10, "mx.conf.test", 300)
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "# test\nsearch example.net\nnameserver " + srv.Addr + "\noptions timeout:1 attempts:1\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r := dns.New(dns.Config{ResolvConf: path})
	if mx, err := r.LookupMX(context.Background(), "conf.test"); err != nil || mx.SiteName != "mx.conf.test" {
		t.Fatalf("%v %v", mx, err)
	}

	missing := dns.New(dns.Config{ResolvConf: filepath.Join(t.TempDir(), "absent")})
	_, err := missing.LookupMX(context.Background(), "conf.test")
	if err == nil || !strings.Contains(err.Error(), "no name servers configured") {
		t.Fatalf("missing resolv.conf: %v", err)
	}
}

func TestNewFromAddrs(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("addrs.test", 10, "mx.addrs.test", 300)
	r, err := dns.NewFromAddrs([]string{srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	if mx, err := r.LookupMX(context.Background(), "addrs.test"); err != nil || mx.SiteName != "mx.addrs.test" {
		t.Fatalf("%v %v", mx, err)
	}
	for _, bad := range []string{"127.0.0.1", "localhost:53", "::1:53", "127.0.0.1:99999", "[::1]:x"} {
		r, err := dns.NewFromAddrs([]string{bad})
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if _, lerr := r.LookupMX(context.Background(), "addrs.test"); lerr == nil || !strings.Contains(lerr.Error(), "invalid resolver configuration") {
			t.Errorf("%q: lookup error %v", bad, lerr)
		}
	}
	if _, err := dns.ParseNameServer("[::1]:5353"); err != nil {
		t.Fatal(err)
	}
}

func TestConfigureKeepsTheCache(t *testing.T) {
	a := dnstest.New(t)
	b := dnstest.New(t)
	a.AddMX("keep.test", 10, "mx.a.test", 300)
	b.AddMX("keep.test", 10, "mx.b.test", 300)
	b.AddMX("other.test", 10, "mx.b.test", 300)
	r := a.Resolver()
	mx, _ := r.LookupMX(context.Background(), "keep.test")
	r.Configure(dns.Config{NameServers: []dns.NameServer{b.NameServer()}})
	mx2, _ := r.LookupMX(context.Background(), "keep.test")
	mx3, err := r.LookupMX(context.Background(), "other.test")
	if mx.SiteName != "mx.a.test" || mx2 != mx || err != nil || mx3.SiteName != "mx.b.test" {
		t.Fatalf("%v %v %v %v", mx, mx2, mx3, err)
	}
}
