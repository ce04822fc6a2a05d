package admin

import (
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTest() (*Registry, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
	return New(WithClock(c.now)), c
}

func mustReadyQ(t *testing.T, v map[string]any) ReadyQRequest {
	t.Helper()
	r, err := DecodeReadyQRequest(v)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadyQReplaceNewIDDefaultDuration(t *testing.T) {
	r, c := newTest()
	id1 := r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q1", "reason": "a"}))
	id2 := r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q1", "reason": "b", "duration": "10m"}))
	if id1 == id2 || len(id1) != 36 {
		t.Fatalf("ids %q %q: want two distinct UUIDs", id1, id2)
	}
	l := r.ListReadyQ()
	if len(l) != 1 || l[0].ID != id2 || l[0].Reason != "b" || l[0].Duration != "10m" {
		t.Fatalf("list after replace: %+v", l)
	}
	if l[0].Expires != "2026-11-30T12:10:00Z" {
		t.Errorf("expires %q", l[0].Expires)
	}
	r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q2", "reason": "c"}))
	c.advance(time.Second)
	l = r.ListReadyQ()
	if len(l) != 2 || l[1].Duration != "4m 59s" {
		t.Fatalf("default duration: %+v", l)
	}
	c.advance(299 * time.Second)
	if l = r.ListReadyQ(); len(l) != 1 || l[0].Name != "q1" {
		t.Fatalf("q2 should have expired lazily: %+v", l)
	}
}

func TestExpiresWinsAndPastExpiresReplacesButInactive(t *testing.T) {
	r, _ := newTest()
	id := r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q", "reason": "a", "duration": "1h", "expires": "2026-11-30T12:02:00Z"}))
	if l := r.ListReadyQ(); len(l) != 1 || l[0].Duration != "2m" {
		t.Fatalf("expires should win over duration: %+v", l)
	}
	id2 := r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q", "reason": "old", "expires": "2000-01-01T00:00:00Z"}))
	if id2 == "" || id2 == id {
		t.Fatalf("past expires returns a new id, got %q", id2)
	}
	if l := r.ListReadyQ(); len(l) != 0 {
		t.Fatalf("past expires replaced the live entry and is inactive: %+v", l)
	}
	if r.Delete(ReadyQ, id2) || r.Delete(ReadyQ, id) {
		t.Fatal("delete of expired/replaced entries should be false")
	}
}

func TestSuspendKeyAndUnknownFields(t *testing.T) {
	r, _ := newTest()
	req, err := DecodeSuspendRequest(map[string]any{"domain": "example.com", "reason": "x", "whatever": 1})
	if err != nil {
		t.Fatalf("suspend ignores unknown keys: %v", err)
	}
	r.Suspend(req)
	req2, _ := DecodeSuspendRequest(map[string]any{"domain": "example.com", "tenant": "t", "reason": "y"})
	r.Suspend(req2)
	id3 := r.Suspend(req)
	l := r.ListSuspend()
	if len(l) != 2 || l[1].ID != id3 || l[0].Tenant == nil || *l[0].Tenant != "t" {
		t.Fatalf("same criteria replace, other criteria stay: %+v", l)
	}
	if !r.Delete(Suspend, id3) || r.Delete(Suspend, id3) {
		t.Fatal("delete: true once, then false")
	}
}

func TestBounceStrict(t *testing.T) {
	_, err := DecodeBounceRequest(map[string]any{"reason": "x", "bogus": true})
	if err == nil || !strings.Contains(err.Error(), "unknown field `bogus`") {
		t.Fatalf("bounce rejects unknown keys: %v", err)
	}
	_, err = DecodeBounceRequest(map[string]any{"domain": "d"})
	if err == nil || !strings.Contains(err.Error(), "missing field `reason`") {
		t.Fatalf("reason is required: %v", err)
	}
	_, err = DecodeReadyQRequest(map[string]any{"name": "q", "reason": "r", "expires": "tomorrow"})
	if err == nil || !strings.Contains(err.Error(), "expires") {
		t.Fatalf("bad expires: %v", err)
	}
	r, _ := newTest()
	b, err := DecodeBounceRequest(map[string]any{"campaign": "c", "reason": "x", "routing_domain": "rd", "suppress_logging": true})
	if err != nil {
		t.Fatal(err)
	}
	id := r.Bounce(b)
	l := r.ListBounce()
	if len(l) != 1 || l[0].ID != id || *l[0].RoutingDomain != "rd" || l[0].Bounced == nil {
		t.Fatalf("%+v", l)
	}
}

func TestWatch(t *testing.T) {
	r, _ := newTest()
	var got []string
	cancel := r.Watch(func(c Change) { got = append(got, string(c.Kind)+" "+string(c.Op)) })
	id := r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q", "reason": "a"}))
	r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "q", "reason": "b"}))
	r.Delete(ReadyQ, id) // already replaced: no change
	b, _ := DecodeBounceRequest(map[string]any{"reason": "x"})
	r.Delete(Bounce, r.Bounce(b))
	cancel()
	r.SuspendReadyQ(mustReadyQ(t, map[string]any{"name": "z", "reason": "a"}))
	want := "suspend-ready-q added,suspend-ready-q removed,suspend-ready-q added,bounce added,bounce removed"
	if strings.Join(got, ",") != want {
		t.Fatalf("changes %q, want %q", strings.Join(got, ","), want)
	}
}

// Watchers see changes in the order they were made, even when made
// concurrently, and may read the registry.
func TestWatchOrderConcurrent(t *testing.T) {
	r := New()
	var mu sync.Mutex
	seen := map[string]Op{}
	var bad []string
	r.Watch(func(c Change) {
		r.ReadyQSuspensions()
		mu.Lock()
		defer mu.Unlock()
		if c.Op == Removed && seen[c.ID] != Added {
			bad = append(bad, c.ID)
		}
		seen[c.ID] = c.Op
	})
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.SuspendReadyQ(ReadyQRequest{Name: "same", Reason: "r"})
		}()
	}
	wg.Wait()
	if len(bad) > 0 || len(seen) != 40 {
		t.Fatalf("removed before added: %v (saw %d ids)", bad, len(seen))
	}
}
