package tsaclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// keyedApplier is an Applier that keeps one entry per key, as the admin
// registry does, and counts the calls.
type keyedApplier struct {
	mu     sync.Mutex
	calls  int
	ready  map[string]ReadyQSuspension
	sched  map[string]SchedQSuspension
	bounce map[string]SchedQBounce
	fail   error
}

func newKeyedApplier() *keyedApplier {
	return &keyedApplier{ready: map[string]ReadyQSuspension{}, sched: map[string]SchedQSuspension{}, bounce: map[string]SchedQBounce{}}
}

func opt(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func (a *keyedApplier) SuspendReadyQ(s ReadyQSuspension) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.ready[s.Name] = s
	return a.fail
}

func (a *keyedApplier) Suspend(s SchedQSuspension) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.sched[opt(s.Campaign)+"|"+opt(s.Tenant)+"|"+s.Domain] = s
	return a.fail
}

func (a *keyedApplier) Bounce(s SchedQBounce) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.bounce[opt(s.Campaign)+"|"+opt(s.Tenant)+"|"+s.Domain] = s
	return a.fail
}

func (a *keyedApplier) snapshot() (calls, ready, sched, bounce int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls, len(a.ready), len(a.sched), len(a.bounce)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	readyFrame  = `{"ReadyQ":{"rule_hash":"abc","site_name":"src->mx.example.com@smtp_client","reason":"automation rule: go away","source":"src","expires":"2099-01-02T03:04:05.5Z"}}`
	schedFrame  = `{"SchedQ":{"rule_hash":"site-def","tenant":"t1","domain":"example.com","campaign":null,"reason":"r2","expires":"2099-01-02T03:04:05Z"}}`
	bounceFrame = `{"SchedQBounce":{"rule_hash":"site-123","domain":"example.com","tenant":null,"campaign":"c","reason":"r3","expires":"2099-01-02T03:04:05Z"}}`
)

// legacyDaemon is a daemon of the old kind: 404 on /subscribe_event_v1,
// and the legacy endpoint sending frames then closing.
func legacyDaemon(t *testing.T, frames ...string) (*httptest.Server, *sync.Map) {
	hits := &sync.Map{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := hits.LoadOrStore(r.URL.Path, new(int))
		*(n.(*int))++
		if r.URL.Path != SubscribeLegacyPath {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		for _, f := range frames {
			if c.Write(r.Context(), websocket.MessageText, []byte(f)) != nil {
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(srv.Close)
	return srv, hits
}

func TestSubscriberLegacyFallback(t *testing.T) {
	// The legacy stream carries no bounces; one that came would be ignored.
	srv, _ := legacyDaemon(t, readyFrame, schedFrame, bounceFrame)
	a := newKeyedApplier()
	var mu sync.Mutex
	var endpoints []string
	s := &Subscriber{URL: srv.URL, Applier: a, RetryDelay: 20 * time.Millisecond,
		OnConnect: func(e string) { mu.Lock(); endpoints = append(endpoints, e); mu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	// The legacy server closes after its frames: the subscriber
	// reconnects and replays, the keyed entries stay one each.
	waitFor(t, "a reconnect", func() bool { return s.Connections() >= 2 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
	calls, ready, sched, bounce := a.snapshot()
	if ready != 1 || sched != 1 || bounce != 0 || calls < 4 {
		t.Errorf("calls %d, entries ready %d sched %d bounce %d", calls, ready, sched, bounce)
	}
	r := a.ready["src->mx.example.com@smtp_client"]
	if r.Reason != "automation rule: go away (rule_hash=abc)" || !r.Expires.Equal(time.Date(2099, 1, 2, 3, 4, 5, 5e8, time.UTC)) {
		t.Errorf("ready-q suspension %+v", r)
	}
	q := a.sched["<nil>|t1|example.com"]
	if q.Reason != "r2 (rule_hash=site-def)" || q.Campaign != nil {
		t.Errorf("sched-q suspension %+v", q)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.HasPrefix(srv.URL, "http://") || endpoints[0] != "ws://"+strings.TrimPrefix(srv.URL, "http://")+SubscribeLegacyPath {
		t.Errorf("endpoints %v", endpoints)
	}
}

// TestSubscriberEventFrames: the current endpoint's three kinds, an
// unknown kind logged and skipped, and an Applier error ending the
// connection (then a reconnect).
func TestSubscriberEventFrames(t *testing.T) {
	frames := []string{
		strings.Replace(readyFrame, `"ReadyQ"`, `"ReadyQSuspension"`, 1),
		`{"SomethingNew":{}}`,
		strings.Replace(schedFrame, `"SchedQ"`, `"SchedQSuspension"`, 1),
		bounceFrame,
	}
	kick := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != SubscribeEventPath {
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for _, f := range frames {
			if c.Write(r.Context(), websocket.MessageText, []byte(f)) != nil {
				return
			}
		}
		select {
		case <-r.Context().Done():
		case <-kick:
		}
	}))
	defer srv.Close()
	a := newKeyedApplier()
	s := &Subscriber{URL: srv.URL, Applier: a, RetryDelay: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, "three entries", func() bool { _, r, q, b := a.snapshot(); return r == 1 && q == 1 && b == 1 })
	b := a.bounce["c|<nil>|example.com"]
	if b.Reason != "r3 (rule_hash=site-123)" || b.Tenant != nil || opt(b.Campaign) != "c" {
		t.Errorf("bounce %+v", b)
	}
	if s.Connections() != 1 {
		t.Errorf("connections %d with a stream that stays open", s.Connections())
	}
	a.mu.Lock()
	a.fail = errors.New("registry full")
	a.mu.Unlock()
	// The daemon ends the stream; each new connection replays and fails
	// at the first entry, so connections keep growing.
	close(kick)
	waitFor(t, "reconnects", func() bool { return s.Connections() >= 3 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v", err)
	}
}

func TestSubscriberHandshakeError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer srv.Close()
	s := &Subscriber{URL: srv.URL, Applier: newKeyedApplier()}
	err := s.session(context.Background())
	want := "Request to ws://" + strings.TrimPrefix(srv.URL, "http://") + "/subscribe_event_v1 failed: HTTP error: 401 Unauthorized"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

func TestWebsocketURL(t *testing.T) {
	for in, want := range map[string]string{"http://a:1": "ws://a:1", "https://a": "wss://a"} {
		if got := WebsocketURL(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}
