package loghook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook/loghooktest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// record returns a valid log record as JSON text with the given changes
// (key=JSON value; an empty value removes the key).
func record(t testing.TB, changes ...string) []byte {
	t.Helper()
	v, _, err := plain.ParseJSON([]byte(`{"type":"TransientFailure","id":"abc","sender":"s@example.com","recipient":"user@gmail.com",
"queue":"gmail.com","site":"unspecified->mx@smtp_client","size":1024,
"response":{"code":421,"enhanced_code":{"class":4,"subject":7,"detail":28},"content":"slow down","command":null},
"timestamp":1700000000,"created":1699999990,"num_attempts":1,"bounce_classification":"Uncategorized",
"meta":{"tenant_id":7},"headers":{},"nodeid":"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"}`), plain.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	for _, c := range changes {
		k, val, _ := strings.Cut(c, "=")
		if val == "" {
			delete(m, k)
			continue
		}
		x, _, err := plain.ParseJSON([]byte(val), plain.ParseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		m[k] = x
	}
	s, err := plain.EncodeJSON(m)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s)
}

// goPolicy enqueues every record to queue "q" and delivers with send.
type goPolicy struct {
	cfg   *egress.QueueConfig
	send  func(ctx context.Context, m *Message) (string, error)
	mu    sync.Mutex
	conns int
	close int
	sent  chan *Message
}

func newGoPolicy(retry, maxRetry, maxAge time.Duration, send func(context.Context, *Message) (string, error)) *goPolicy {
	cfg := egress.DefaultQueueConfig()
	cfg.RetryInterval, cfg.MaxAge = retry, maxAge
	if maxRetry > 0 {
		cfg.MaxRetryInterval = &maxRetry
	}
	cfg.Protocol = egress.DeliveryProtocol{Kind: egress.ProtocolLua, CustomLua: egress.LuaDeliveryProtocol{Constructor: "make.q", BatchSize: 1, MinBatchSize: 1}}
	return &goPolicy{cfg: cfg, send: send, sent: make(chan *Message, 100)}
}

func (p *goPolicy) ShouldEnqueue(ctx context.Context, m *Message, hook string) (bool, error) {
	return true, m.SetMeta("queue", "q")
}

func (p *goPolicy) QueueConfig(ctx context.Context, q QueueName) (*egress.QueueConfig, error) {
	return p.cfg, nil
}

func (p *goPolicy) Connect(ctx context.Context, q QueueName, proto egress.LuaDeliveryProtocol) (Session, error) {
	p.mu.Lock()
	p.conns++
	p.mu.Unlock()
	return &goSession{p}, nil
}

func (p *goPolicy) counts() (conns, closes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns, p.close
}

type goSession struct{ p *goPolicy }

func (s *goSession) Send(ctx context.Context, m *Message) (string, error) {
	d, err := s.p.send(ctx, m)
	s.p.sent <- m
	return d, err
}

func (s *goSession) Close() {
	s.p.mu.Lock()
	s.p.close++
	s.p.mu.Unlock()
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newPipeline(t *testing.T, pol Policy, clock Clock, hook *kumod.LogHook) *Pipeline {
	t.Helper()
	p := New(Options{Policy: pol, Clock: clock, Logger: quiet(), Jitter: func(time.Duration) time.Duration { return 0 }})
	if hook == nil {
		hook = &kumod.LogHook{Name: "h", BackPressure: 128000}
	}
	if err := p.AddHook(hook); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func waitSent(t *testing.T, pol *goPolicy) *Message {
	t.Helper()
	select {
	case m := <-pol.sent:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no send")
		return nil
	}
}

// waitStats polls until cond holds on the queue's stats.
func waitStats(t *testing.T, p *Pipeline, queue string, cond func(QueueStats) bool) QueueStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := p.Stats().Queues[queue]
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s stats never matched: %+v", queue, s)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTransientRetriesBackOffToMaxRetryInterval(t *testing.T) {
	clock := loghooktest.NewClock()
	pol := newGoPolicy(time.Minute, 5*time.Minute, 7*24*time.Hour, func(context.Context, *Message) (string, error) {
		return "", &Rejection{Code: 451, Text: "try later"}
	})
	p := newPipeline(t, pol, clock, nil)
	if err := p.SubmitJSON(context.Background(), record(t)); err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for i := 0; i < 6; i++ {
		waitSent(t, pol)
		d := clock.NextWait(t)
		waits = append(waits, d)
		clock.Advance(d)
	}
	want := []time.Duration{1 * time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Fatalf("retry delays %v, want %v", waits, want)
	}
	s := waitStats(t, p, "q", func(s QueueStats) bool { return s.Transient >= 6 })
	if s.Delivered != 0 || s.Permanent != 0 || s.Queued != 1 || s.Enqueued != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestRetryDelayJitterAndWholeSeconds(t *testing.T) {
	maxRetry := 20 * time.Minute
	cfg := egress.DefaultQueueConfig()
	cfg.RetryInterval, cfg.MaxRetryInterval = 90*time.Second+500*time.Millisecond, &maxRetry
	var limits []time.Duration
	p := New(Options{Policy: &goPolicy{}, Jitter: func(l time.Duration) time.Duration { limits = append(limits, l); return l }})
	q := newQueue(p, "x", QueueName{Domain: "x"}, cfg)
	// 90.5s → 90s whole, plus jitter min(90.5s/40, 30s) = 2.2625s → 92s.
	if d := q.retryDelay(0); d != 92*time.Second {
		t.Fatalf("delay %v", d)
	}
	if limits[0] != cfg.RetryInterval/40 {
		t.Fatalf("jitter limit %v", limits[0])
	}
	cfg.RetryInterval = 2 * time.Hour // jitter capped at 30s
	if d := q.retryDelay(10); d != 20*time.Minute+30*time.Second {
		t.Fatalf("delay %v", d)
	}
}

func TestPermanentRejectionDrops(t *testing.T) {
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(context.Context, *Message) (string, error) {
		return "", &Rejection{Code: 550, Text: "no"}
	})
	p := newPipeline(t, pol, loghooktest.NewClock(), nil)
	if err := p.SubmitJSON(context.Background(), record(t)); err != nil {
		t.Fatal(err)
	}
	s := waitStats(t, p, "q", func(s QueueStats) bool { return s.Permanent == 1 })
	if s.Transient != 0 || s.Queued != 0 || s.Delivered != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestErrorIsTransientAndEndsSession(t *testing.T) {
	clock := loghooktest.NewClock()
	gate := make(chan struct{})
	calls := 0
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(context.Context, *Message) (string, error) {
		calls++
		if calls == 1 {
			<-gate
			return "", errors.New("connection refused")
		}
		return "200 OK", nil
	})
	p := newPipeline(t, pol, clock, nil)
	for i := 0; i < 2; i++ {
		if err := p.SubmitJSON(context.Background(), record(t)); err != nil {
			t.Fatal(err)
		}
	}
	close(gate)
	first := waitSent(t, pol)
	// The second record, due while the first failed, goes out on a new
	// session: the failed one ended.
	waitSent(t, pol)
	if conns, closes := pol.counts(); conns != 2 || closes < 1 {
		t.Fatalf("after the error: %d sessions, %d closed; want a new session for the next message", conns, closes)
	}
	d := clock.NextWait(t)
	if d != time.Minute {
		t.Fatalf("retry in %v", d)
	}
	clock.Advance(d)
	if m := waitSent(t, pol); m != first {
		t.Fatal("the retry sent another message")
	}
	s := waitStats(t, p, "q", func(s QueueStats) bool { return s.Delivered == 2 })
	if s.Transient != 1 || s.Queued != 0 || first.NumAttempts() != 1 {
		t.Fatalf("stats %+v, attempts %d", s, first.NumAttempts())
	}
}

func TestExpiresAfterMaxAge(t *testing.T) {
	clock := loghooktest.NewClock()
	pol := newGoPolicy(time.Minute, 0, 3*time.Minute, func(context.Context, *Message) (string, error) {
		return "", &Rejection{Code: 421, Text: "later"}
	})
	p := newPipeline(t, pol, clock, nil)
	if err := p.SubmitJSON(context.Background(), record(t)); err != nil {
		t.Fatal(err)
	}
	waitSent(t, pol)
	clock.Advance(clock.NextWait(t)) // 1m; the next retry (at 3m) reaches max_age
	waitSent(t, pol)
	s := waitStats(t, p, "q", func(s QueueStats) bool { return s.Expired == 1 })
	if s.Transient != 2 || s.Permanent != 1 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBackPressureBlocksSubmitAndLosesNothing(t *testing.T) {
	gate := make(chan struct{})
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(ctx context.Context, m *Message) (string, error) {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		return "250 ok", nil
	})
	p := newPipeline(t, pol, loghooktest.NewClock(), &kumod.LogHook{Name: "h", BackPressure: 2})
	for i := 0; i < 2; i++ {
		if err := p.SubmitJSON(context.Background(), record(t)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := p.SubmitJSON(ctx, record(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third submit with two outstanding: %v, want it blocked until its context ended", err)
	}
	done := make(chan error, 1)
	go func() { done <- p.SubmitJSON(context.Background(), record(t)) }()
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := waitStats(t, p, "q", func(s QueueStats) bool { return s.Delivered == 3 })
	if s.Enqueued != 3 || s.Queued != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestHookFilters(t *testing.T) {
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(context.Context, *Message) (string, error) { return "ok", nil })
	p := newPipeline(t, pol, loghooktest.NewClock(), &kumod.LogHook{Name: "h", BackPressure: 10,
		PerRecord: map[string]kumod.LogRecordParams{"Reception": {Enable: false}}})
	ctx := context.Background()
	for _, rec := range [][]byte{
		record(t, `type="Reception"`),                        // disabled
		record(t, `reception_protocol="LogRecord"`),          // never reaches hooks
		record(t, `recipient=[]`),                            // no recipients
		record(t, `sender="not an address"`),                 // unparsable sender
		record(t, `type="Delivery"`, `sender=""`),            // null sender: fine
		record(t, `recipient=["a@x.example","b@y.example"]`), // fine
	} {
		if err := p.SubmitJSON(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	waitStats(t, p, "q", func(s QueueStats) bool { return s.Delivered == 2 })
	h := p.Stats().Hooks["h"]
	if h != (HookStats{Received: 6, Skipped: 2, Dropped: 2, Enqueued: 2}) {
		t.Fatalf("hook stats %+v", h)
	}
}

func TestSubmitJSONArrayAllOrNothing(t *testing.T) {
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(context.Context, *Message) (string, error) { return "ok", nil })
	p := newPipeline(t, pol, loghooktest.NewClock(), nil)
	body := "[" + string(record(t)) + "," + string(record(t, "site=")) + "]"
	err := p.SubmitJSON(context.Background(), []byte(body))
	if err == nil || !strings.Contains(err.Error(), "log record 1: missing field `site`") {
		t.Fatalf("err %v", err)
	}
	if h := p.Stats().Hooks["h"]; h.Received != 0 {
		t.Fatalf("a record of a rejected batch was submitted: %+v", h)
	}
	if err := p.SubmitJSON(context.Background(), []byte(`{"type":`)); err == nil {
		t.Fatal("broken JSON accepted")
	}
	body = "[" + string(record(t)) + "," + string(record(t)) + "]"
	if err := p.SubmitJSON(context.Background(), []byte(body)); err != nil {
		t.Fatal(err)
	}
	waitStats(t, p, "q", func(s QueueStats) bool { return s.Delivered == 2 })
}

func TestMessageDataAndMeta(t *testing.T) {
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(context.Context, *Message) (string, error) { return "ok", nil })
	p := newPipeline(t, pol, loghooktest.NewClock(), nil)
	if err := p.SubmitJSON(context.Background(), record(t, "size=12345678901")); err != nil {
		t.Fatal(err)
	}
	m := waitSent(t, pol)
	data := string(m.Data())
	for _, want := range []string{`"size":12345678901,`, `"timestamp":1700000000,`, `"tenant_id":7`} {
		if !strings.Contains(data, want) {
			t.Errorf("data lacks %s: %s", want, data)
		}
	}
	if !strings.HasSuffix(data, "}\n") {
		t.Errorf("data does not end with a newline: %q", data)
	}
	if v, _ := m.Meta("tenant_id"); v != int64(7) {
		t.Errorf("tenant_id meta %#v", v)
	}
	if v, _ := m.Meta("reception_protocol"); v != "LogRecord" {
		t.Errorf("reception_protocol meta %#v", v)
	}
	if v, _ := m.Meta("log_record"); v.(map[string]any)["size"] != int64(12345678901) {
		t.Errorf("log_record meta %#v", v)
	}
	if err := m.SetMeta("x", map[string]any{"f": func() {}}); err == nil {
		t.Error("set_meta accepted a value without a JSON form")
	}
}

func TestQueueNames(t *testing.T) {
	for name, want := range map[string]QueueName{
		"http://127.0.0.1:8008.tsa.kumomta": {Domain: "http://127.0.0.1:8008.tsa.kumomta"},
		"camp:ten@example.com!mx.example":   {Campaign: "camp", Tenant: "ten", Domain: "example.com", RoutingDomain: "mx.example"},
		"ten@example.com":                   {Tenant: "ten", Domain: "example.com"},
	} {
		if got := ParseQueueName(name); got != want || got.String() != name {
			t.Errorf("%s: %+v (%s)", name, got, got.String())
		}
	}
}

func TestCloseStopsWorkersAndSessions(t *testing.T) {
	before := runtime.NumGoroutine()
	gate := make(chan struct{})
	pol := newGoPolicy(time.Minute, 0, time.Hour, func(ctx context.Context, m *Message) (string, error) {
		select {
		case <-gate:
			return "ok", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	p := New(Options{Policy: pol, Clock: loghooktest.NewClock(), Logger: quiet()})
	if err := p.AddHook(&kumod.LogHook{Name: "h", BackPressure: 1}); err != nil {
		t.Fatal(err)
	}
	if err := p.SubmitJSON(context.Background(), record(t)); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { blocked <- p.SubmitJSON(context.Background(), record(t)) }()
	waitStats(t, p, "q", func(s QueueStats) bool { return s.Enqueued == 1 })
	p.Close()
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked submit after Close: %v", err)
	}
	if err := p.SubmitJSON(context.Background(), record(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("submit after Close: %v", err)
	}
	if conns, closes := pol.counts(); conns != closes {
		t.Fatalf("%d sessions, %d closed", conns, closes)
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(time.Millisecond)
	}
}
