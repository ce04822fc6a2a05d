package loghook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Policy is what the pipeline asks the policy. modules/kumo implements it
// with the runtime's events.
type Policy interface {
	// ShouldEnqueue fires should_enqueue_log_record(msg, hook); the
	// handler may set meta (`queue`). No answer is false.
	ShouldEnqueue(ctx context.Context, msg *Message, hook string) (bool, error)
	// QueueConfig fires get_queue_config(domain, tenant, campaign,
	// routing_domain) for a new queue; nil without error when no handler
	// answered (the queue then has the default configuration).
	QueueConfig(ctx context.Context, q QueueName) (*egress.QueueConfig, error)
	// Connect starts a delivery session of queue q with the custom_lua
	// protocol proto: the constructor event, fired with (domain, tenant,
	// campaign), returns the connection.
	Connect(ctx context.Context, q QueueName, proto egress.LuaDeliveryProtocol) (Session, error)
}

// Session is one delivery session: a connection object and the state it
// lives in. A Session is used by one goroutine at a time.
type Session interface {
	// Send delivers one message, returning its disposition. A *Rejection
	// error is kumo.reject's (4xx transient, other codes permanent); any
	// other error is transient and ends the session.
	Send(ctx context.Context, msg *Message) (string, error)
	// Close ends the session (calling the connection's close, if any).
	Close()
}

// Rejection is a kumo.reject(code, text) raised by a connection's send.
type Rejection struct {
	Code int
	Text string
}

func (r *Rejection) Error() string { return fmt.Sprintf("%d %s", r.Code, r.Text) }

// Transient reports a code in 400–499.
func (r *Rejection) Transient() bool { return r.Code >= 400 && r.Code < 500 }

// Clock is the pipeline's time source; tests substitute a fake.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure a Pipeline.
type Options struct {
	Policy Policy
	// Clock: nil is the system clock.
	Clock Clock
	// Logger receives the drop, failure and error lines. Nil: slog.Default().
	Logger *slog.Logger
	// Jitter returns a random duration in [-limit, limit] added to each
	// retry delay. Nil: uniformly random.
	Jitter func(limit time.Duration) time.Duration
}

// ErrClosed is returned by Submit after Close.
var ErrClosed = errors.New("log hook pipeline is closed")

// Pipeline routes log records through the configured hooks to their
// queues. It is safe for concurrent use.
type Pipeline struct {
	opts   Options
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	hooks  []*hook
	queues map[string]*queue
}

type hook struct {
	cfg   *kumod.LogHook
	slots chan struct{} // back_pressure
	stats HookStats
}

// New returns an empty pipeline.
func New(opts Options) *Pipeline {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Jitter == nil {
		opts.Jitter = func(limit time.Duration) time.Duration {
			if limit <= 0 {
				return 0
			}
			return time.Duration(rand.Int64N(int64(2*limit)+1)) - limit
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Pipeline{opts: opts, ctx: ctx, cancel: cancel, queues: map[string]*queue{}}
}

// AddHook registers a hook (kumo.configure_log_hook). Names are unique.
func (p *Pipeline) AddHook(cfg *kumod.LogHook) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrClosed
	}
	for _, h := range p.hooks {
		if h.cfg.Name == cfg.Name {
			return fmt.Errorf("log hook %q is already configured", cfg.Name)
		}
	}
	n := cfg.BackPressure
	if n == 0 {
		n = 1
	}
	p.hooks = append(p.hooks, &hook{cfg: cfg, slots: make(chan struct{}, n)})
	return nil
}

// Hooks returns the names of the registered hooks, in order.
func (p *Pipeline) Hooks() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.hooks))
	for i, h := range p.hooks {
		out[i] = h.cfg.Name
	}
	return out
}

// SubmitJSON accepts one KumoMTA JSON log record or an array of them. All
// are decoded before any is submitted: a broken record is an error naming
// its index (from 0) and problem, and then none is.
func (p *Pipeline) SubmitJSON(ctx context.Context, body []byte) error {
	v, _, err := plain.ParseJSON(body, plain.ParseOptions{})
	if err != nil {
		return fmt.Errorf("log record: %w", err)
	}
	items, isArray := v.([]any)
	if !isArray {
		items = []any{v}
	}
	type entry struct {
		raw map[string]any
		rec *logrecord.Record
	}
	entries := make([]entry, len(items))
	for i, it := range items {
		rec, err := logrecord.Decode(it)
		if err != nil {
			if isArray {
				return fmt.Errorf("log record %d: %w", i, err)
			}
			return fmt.Errorf("log record: %w", err)
		}
		entries[i] = entry{it.(map[string]any), rec}
	}
	for _, e := range entries {
		if err := p.submit(ctx, e.raw, e.rec); err != nil {
			return err
		}
	}
	return nil
}

// Submit accepts one log record as plain data (map[string]any with int64
// integers, as plain.ParseJSON produces). It returns once every hook has
// declined or enqueued it; it blocks while a hook's back_pressure is
// reached, until room is made, ctx ends or the pipeline closes.
func (p *Pipeline) Submit(ctx context.Context, record map[string]any) error {
	rec, err := logrecord.Decode(record)
	if err != nil {
		return fmt.Errorf("log record: %w", err)
	}
	return p.submit(ctx, record, rec)
}

func (p *Pipeline) submit(ctx context.Context, raw map[string]any, rec *logrecord.Record) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	hooks := append([]*hook(nil), p.hooks...)
	p.mu.Unlock()
	for _, h := range hooks {
		if err := p.runHook(ctx, h, raw, rec); err != nil {
			return err
		}
	}
	return nil
}

// enabled applies per_record: the type's entry, else the Any entry, else on.
func (h *hook) enabled(t string) bool {
	if pr, ok := h.cfg.PerRecord[t]; ok {
		return pr.Enable
	}
	if pr, ok := h.cfg.PerRecord["Any"]; ok {
		return pr.Enable
	}
	return true
}

func (p *Pipeline) runHook(ctx context.Context, h *hook, raw map[string]any, rec *logrecord.Record) error {
	name := h.cfg.Name
	p.count(func() { h.stats.Received++ })
	if !h.enabled(rec.Type) || rec.ReceptionProtocol == "LogRecord" {
		p.count(func() { h.stats.Skipped++ })
		return nil
	}
	if len(rec.Recipients) == 0 {
		p.count(func() { h.stats.Dropped++ })
		p.opts.Logger.Warn(fmt.Sprintf("log hook %s: dropping log record %s: it has no recipients", name, rec.ID))
		return nil
	}
	if !validSender(rec.Sender) {
		p.count(func() { h.stats.Dropped++ })
		p.opts.Logger.Warn(fmt.Sprintf("log hook %s: dropping log record %s: sender %q does not parse as an address", name, rec.ID, rec.Sender))
		return nil
	}
	msg, err := NewMessage(raw, rec)
	if err != nil {
		return err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.ctx.Done():
		return ErrClosed
	}
	var once sync.Once
	msg.release = func() { once.Do(func() { <-h.slots }) }

	var ok bool
	err = safely(func() (err error) {
		ok, err = p.opts.Policy.ShouldEnqueue(ctx, msg, name)
		return err
	})
	if err != nil {
		msg.release()
		p.count(func() { h.stats.Dropped++ })
		p.opts.Logger.Error(fmt.Sprintf("log hook %s: dropping log record %s: should_enqueue_log_record: %v", name, rec.ID, err))
		return nil
	}
	if !ok {
		msg.release()
		p.count(func() { h.stats.Declined++ })
		return nil
	}
	q, err := p.queue(ctx, msg.queueName())
	if err != nil {
		msg.release()
		p.count(func() { h.stats.Dropped++ })
		p.opts.Logger.Error(fmt.Sprintf("log hook %s: dropping log record %s: %v", name, rec.ID, err))
		return nil
	}
	p.count(func() { h.stats.Enqueued++ })
	q.insert(msg)
	return nil
}

func (p *Pipeline) count(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
}

// queue returns the scheduled queue called name, making it (and asking
// get_queue_config) the first time.
func (p *Pipeline) queue(ctx context.Context, name string) (*queue, error) {
	p.mu.Lock()
	q := p.queues[name]
	p.mu.Unlock()
	if q != nil {
		return q, nil
	}
	qn := ParseQueueName(name)
	var cfg *egress.QueueConfig
	err := safely(func() (err error) {
		cfg, err = p.opts.Policy.QueueConfig(ctx, qn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: get_queue_config: %w", name, err)
	}
	if cfg == nil {
		cfg = egress.DefaultQueueConfig()
	}
	if cfg.Protocol.Kind != egress.ProtocolLua {
		return nil, fmt.Errorf("queue %s: get_queue_config: the %s delivery protocol is not supported by kumopolicy (log hook queues deliver with protocol.custom_lua only)", name, protocolName(cfg.Protocol.Kind))
	}
	if cfg.Protocol.CustomLua.BatchSize > 1 {
		return nil, fmt.Errorf("queue %s: get_queue_config: custom_lua batch_size %d is not supported by kumopolicy (send_batch); use batch_size = 1", name, cfg.Protocol.CustomLua.BatchSize)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if q := p.queues[name]; q != nil {
		return q, nil
	}
	q = newQueue(p, name, qn, cfg)
	p.queues[name] = q
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		q.run(p.ctx)
	}()
	return q, nil
}

func protocolName(k egress.ProtocolKind) string {
	switch k {
	case egress.ProtocolSMTP:
		return "smtp"
	case egress.ProtocolMaildir:
		return "maildir"
	case egress.ProtocolXfer:
		return "xfer"
	}
	return "custom_lua"
}

// Close stops every queue worker (ending their sessions) and waits for
// them. Records still queued are dropped; Submit returns ErrClosed.
func (p *Pipeline) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}

// HookStats count what one hook did with the records it saw.
type HookStats struct {
	Received uint64 // records submitted
	Skipped  uint64 // disabled by per_record, or reception_protocol LogRecord
	Dropped  uint64 // no recipients, bad sender, handler or queue error
	Declined uint64 // should_enqueue_log_record said no
	Enqueued uint64
}

// QueueStats count one scheduled queue's deliveries.
type QueueStats struct {
	Enqueued  uint64
	Delivered uint64
	Transient uint64 // transient failures (each attempt)
	Permanent uint64 // permanent failures and expirations
	Expired   uint64 // of Permanent, the messages past max_age
	Queued    int    // waiting now (including in flight)
}

// Stats is a snapshot of the pipeline's counters.
type Stats struct {
	Hooks  map[string]HookStats
	Queues map[string]QueueStats
}

// Stats returns the counters, per hook and per queue.
func (p *Pipeline) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Stats{Hooks: map[string]HookStats{}, Queues: map[string]QueueStats{}}
	for _, h := range p.hooks {
		s.Hooks[h.cfg.Name] = h.stats
	}
	for n, q := range p.queues {
		s.Queues[n] = q.stats
	}
	return s
}
