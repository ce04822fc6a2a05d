package dns_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// The MX cache grows rather than evict results that have not expired: a
// shaping file with more domains than the starting capacity keeps every
// domain's MX, so none is asked again while its TTL runs. The growth stops
// at the limit.
func TestMXCacheGrowsToKeepLiveResults(t *testing.T) {
	srv := connServer(t)
	r := srv.Resolver(dns.WithCacheCapacity(8, 0), dns.WithMXCacheLimit(32))
	for i := range 20 {
		lookup(t, r, fmt.Sprintf("d%d.conn.test", i))
	}
	if st := r.Stats(); st.MXEntries != 20 || st.MXCapacity != 32 {
		t.Fatalf("after 20 domains: %+v", st)
	}
	for i := range 20 {
		lookup(t, r, fmt.Sprintf("d%d.conn.test", i))
	}
	if q := srv.TotalQueries(); q != 20 {
		t.Fatalf("%d queries for 20 domains looked up twice", q)
	}
	for i := 20; i < 40; i++ {
		lookup(t, r, fmt.Sprintf("d%d.conn.test", i))
	}
	if st := r.Stats(); st.MXEntries != 32 || st.MXCapacity != 32 {
		t.Fatalf("beyond the limit: %+v", st)
	}
}

// Expired results are evicted as before: they do not make the cache grow.
func TestMXCacheEvictsExpiredResultsWithoutGrowing(t *testing.T) {
	srv := connServer(t)
	clk := newClock()
	r := srv.Resolver(dns.WithCacheCapacity(8, 0), dns.WithClock(clk.Now))
	for i := range 8 {
		lookup(t, r, fmt.Sprintf("old%d.conn.test", i))
	}
	clk.Advance(301 * time.Second) // the records' TTL is 300 s
	for i := range 8 {
		lookup(t, r, fmt.Sprintf("new%d.conn.test", i))
	}
	if st := r.Stats(); st.MXEntries != 8 || st.MXCapacity != 8 {
		t.Fatalf("stats %+v", st)
	}
	// A fixed capacity (limit at or below it) evicts live results.
	fixed := srv.Resolver(dns.WithCacheCapacity(8, 0), dns.WithMXCacheLimit(8))
	for i := range 12 {
		if _, err := fixed.LookupMX(context.Background(), fmt.Sprintf("f%d.conn.test", i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := fixed.Stats(); st.MXEntries != 8 || st.MXCapacity != 8 {
		t.Fatalf("fixed: %+v", st)
	}
}
