package dns_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// connServer answers every name under conn.test with one MX record.
func connServer(t *testing.T) *dnstest.Server {
	srv := dnstest.New(t)
	srv.Fallback(func(name string, qtype uint16) []mdns.RR {
		if qtype != mdns.TypeMX || !strings.HasSuffix(name, ".conn.test.") {
			return nil
		}
		return []mdns.RR{&mdns.MX{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeMX, Class: mdns.ClassINET, Ttl: 300}, Preference: 10, Mx: "mx." + name}}
	})
	return srv
}

func lookup(t *testing.T, r *dns.Resolver, name string) {
	t.Helper()
	mx, err := r.LookupMX(context.Background(), name)
	if err != nil || mx.SiteName != "mx."+name {
		t.Fatalf("%s: %v %v", name, mx, err)
	}
}

// Sequential lookups share one UDP socket until it has carried
// MaxConnUses queries: the server sees a handful of source ports, not one
// per query.
func TestSequentialLookupsReuseOneUDPConnection(t *testing.T) {
	srv := connServer(t)
	r := srv.Resolver()
	const n = 3*dns.MaxConnUses + 10
	for i := range n {
		lookup(t, r, fmt.Sprintf("d%d.conn.test", i))
	}
	want := (n + dns.MaxConnUses - 1) / dns.MaxConnUses
	if got := len(srv.Sources("udp")); got != want {
		t.Fatalf("%d queries came from %d source ports, want %d", n, got, want)
	}
	if st := r.Stats(); st.Dials != uint64(want) || st.Queries != n || st.IdleConns != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// Concurrent lookups use at most one connection per query in flight (the
// concurrency limit), plus the replacements of retired ones.
func TestConcurrentLookupsUseABoundedSetOfConnections(t *testing.T) {
	srv := connServer(t)
	r := srv.Resolver()
	const limit, n = 8, 1000
	if err := r.SetMXConcurrencyLimit(limit); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("c%d.conn.test", i)
			if mx, err := r.LookupMX(context.Background(), name); err != nil || mx.SiteName != "mx."+name {
				t.Errorf("%s: %v %v", name, mx, err)
			}
		})
	}
	wg.Wait()
	bound := limit + n/dns.MaxConnUses
	ports := len(srv.Sources("udp"))
	if ports > bound {
		t.Fatalf("%d queries came from %d source ports, want at most %d", n, ports, bound)
	}
	if st := r.Stats(); st.Dials != uint64(ports) || st.IdleConns > limit {
		t.Fatalf("stats %+v with %d source ports", st, ports)
	}
}

// A connection that timed out is closed, never reused: the answer that
// arrives late must not be read as the answer to the next query.
func TestTimedOutConnectionIsReplaced(t *testing.T) {
	srv := connServer(t)
	srv.AddMX("slow.test", 10, "mx.slow.test", 300)
	srv.Delay("slow.test", time.Second)
	r := dns.New(dns.Config{
		NameServers: []dns.NameServer{srv.NameServer()},
		Options:     dns.Options{Timeout: 100 * time.Millisecond, Attempts: 1},
	})
	lookup(t, r, "a.conn.test")
	if _, err := r.LookupMX(context.Background(), "slow.test"); err == nil || !strings.Contains(err.Error(), "no answer from") {
		t.Fatalf("err = %v", err)
	}
	if st := r.Stats(); st.IdleConns != 0 {
		t.Fatalf("the timed-out connection is kept: %+v", st)
	}
	lookup(t, r, "b.conn.test")
	lookup(t, r, "c.conn.test")
	if got := srv.Sources("udp"); len(got) != 2 {
		t.Fatalf("source ports %v, want the first connection and its replacement", got)
	}
	if st := r.Stats(); st.Dials != 2 || st.IdleConns != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// A TCP connection the server has closed is replaced on the next query,
// which succeeds at its first attempt; the replacement is then reused.
func TestClosedTCPConnectionIsReplaced(t *testing.T) {
	srv := connServer(t)
	ns := srv.NameServer()
	ns.Protocol = dns.TCP
	r := dns.New(dns.Config{NameServers: []dns.NameServer{ns}, Options: dns.Options{Attempts: 1}})
	lookup(t, r, "a.conn.test")
	lookup(t, r, "b.conn.test")
	if got := srv.Sources("tcp"); len(got) != 1 {
		t.Fatalf("source ports %v, want one reused connection", got)
	}
	if n := srv.CloseConnections(); n != 1 {
		t.Fatalf("closed %d connections", n)
	}
	lookup(t, r, "c.conn.test")
	lookup(t, r, "d.conn.test")
	if got := srv.Sources("tcp"); len(got) != 2 {
		t.Fatalf("source ports %v, want the first connection and its replacement", got)
	}
	if st := r.Stats(); st.Dials != 2 || st.Queries != 5 {
		// Five messages: c went out on the closed connection first.
		t.Fatalf("stats %+v", st)
	}
}

// The TCP fallback after a truncated UDP answer reuses its connection too.
func TestTCPFallbackConnectionIsReused(t *testing.T) {
	srv := dnstest.New(t)
	for _, name := range []string{"big1.test", "big2.test", "big3.test"} {
		for i := range 40 {
			srv.AddMX(name, 10, fmt.Sprintf("mx%02d.a-rather-long-mail-exchanger-name-%02d.example.net", i, i), 300)
		}
	}
	r := srv.Resolver()
	for _, name := range []string{"big1.test", "big2.test", "big3.test"} {
		mx, err := r.LookupMX(context.Background(), name)
		if err != nil || len(mx.Hosts) != 40 {
			t.Fatalf("%s: %v %v", name, mx, err)
		}
	}
	udp, tcp := srv.Sources("udp"), srv.Sources("tcp")
	if len(udp) != 1 || len(tcp) != 1 || srv.TotalQueries() != 6 {
		t.Fatalf("udp %v, tcp %v, %d queries", udp, tcp, srv.TotalQueries())
	}
}

// Configure closes the idle connections to the old servers; the next
// queries go to the new ones.
func TestConfigureClosesTheOldConnections(t *testing.T) {
	a, b := connServer(t), connServer(t)
	na, nb := a.NameServer(), b.NameServer()
	na.Protocol, nb.Protocol = dns.TCP, dns.TCP
	r := dns.New(dns.Config{NameServers: []dns.NameServer{na}})
	lookup(t, r, "a.conn.test")
	if n := a.OpenConnections(); n != 1 {
		t.Fatalf("%d connections open to the first server", n)
	}
	r.Configure(dns.Config{NameServers: []dns.NameServer{nb}})
	lookup(t, r, "b.conn.test")
	lookup(t, r, "c.conn.test")
	if a.TotalQueries() != 1 || b.TotalQueries() != 2 || len(b.Sources("tcp")) != 1 {
		t.Fatalf("queries: first server %d, second %d from %v", a.TotalQueries(), b.TotalQueries(), b.Sources("tcp"))
	}
	// The first server sees its connection closed.
	for deadline := time.Now().Add(5 * time.Second); a.OpenConnections() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the connection to the old server is still open")
		}
	}
	r.CloseIdleConnections()
	for deadline := time.Now().Add(5 * time.Second); b.OpenConnections() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("CloseIdleConnections left the connection open")
		}
	}
	lookup(t, r, "d.conn.test")
	if b.TotalQueries() != 3 {
		t.Fatalf("second server: %d queries", b.TotalQueries())
	}
}
