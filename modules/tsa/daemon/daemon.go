package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
	"github.com/kumopolicy/kumopolicy/modules/tsa/store"
)

// Events the daemon fires, and defaults, as KumoMTA's tsa-daemon has them.
const (
	EventLoadShaping = "tsa_load_shaping_data"
	EventInit        = "tsa_init"

	// DefaultDBPath is tsa.configure_tsa_db_path's default, KumoMTA's.
	// kumopolicy's db path is a directory (see modules/tsa/store); the
	// path ":memory:" (store.Memory) keeps the state in memory only.
	DefaultDBPath = "/var/spool/kumomta/tsa.db"
	// DefaultShapingRefresh is how often tsa_load_shaping_data fires
	// after startup.
	DefaultShapingRefresh = 30 * time.Second
	// DefaultPruneInterval is how often expired entries are removed.
	DefaultPruneInterval = 60 * time.Second
	// DefaultFlushInterval is how often threshold counters and the
	// pruner's deletions are written to the state database (entries are
	// written with each batch, before anything shows them).
	DefaultFlushInterval = time.Second
	// DefaultSubscriberBuffer is how many events a websocket subscriber
	// may lag behind before it is dropped (KumoMTA's broadcast capacity).
	DefaultSubscriberBuffer = 131072
)

// Options configure a Daemon. Zero fields take the defaults.
type Options struct {
	// Logger receives the daemon's diagnostics, among them the lines
	// "http listener on ADDR" and "initialization complete" that KumoMTA's
	// test harness waits for. Nil: the runtime's logger.
	Logger *slog.Logger
	// Version is logged at startup ("Version is ...").
	Version string
	// MX answers the MX lookups of provider rules matched by MX host
	// (nil: such providers never match).
	MX shaping.MXLookup
	// ShapingRefresh, PruneInterval, FlushInterval and SubscriberBuffer:
	// see the Default constants.
	ShapingRefresh   time.Duration
	PruneInterval    time.Duration
	FlushInterval    time.Duration
	SubscriberBuffer int
	// Queue sizes the ingest queue; its Process is the daemon's.
	Queue httpapi.QueueConfig
	// DBPath is the db path until tsa.configure_tsa_db_path sets one
	// ("": DefaultDBPath).
	DBPath string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Paths moves the TLS key files listeners name (--share-dir,
	// --etc-dir); nil moves nothing.
	Paths *paths.Map
}

// Daemon is one TSA daemon on a Lua runtime.
type Daemon struct {
	rt     *luart.Runtime
	opts   Options
	log    *slog.Logger
	engine *automation.Engine
	queue  *httpapi.Queue
	hub    *hub
	// stateMu orders state changes with the publishing of their events:
	// a batch and an admin cancel never interleave their events.
	stateMu sync.Mutex
	// metrics counts ingest for GET /metrics (metrics.go).
	metrics *metrics

	ctx    context.Context // ends after the queue is drained at shutdown
	cancel context.CancelFunc

	// restored is closed once the state is restored (or startup failed
	// before): batches and the state routes wait for it.
	restored    chan struct{}
	restoreDone sync.Once
	persistErrs atomic.Uint64

	mu        sync.Mutex
	store     *store.Store // nil until opened in start
	runCancel func()       // ends the store's Run
	runDone   chan error   // Run's final flush
	dbPath    string
	listeners []*httpapi.Listener
	loopsOn   bool
	stop      chan struct{}
	loops     sync.WaitGroup
	down      sync.Once
}

// New builds a daemon on rt and installs the `tsa` module in it (every
// state built afterwards has package.loaded.tsa). Nothing runs until
// Start.
func New(rt *luart.Runtime, opts Options) (*Daemon, error) {
	if opts.Logger == nil {
		opts.Logger = rt.Logger()
	}
	if opts.ShapingRefresh <= 0 {
		opts.ShapingRefresh = DefaultShapingRefresh
	}
	if opts.PruneInterval <= 0 {
		opts.PruneInterval = DefaultPruneInterval
	}
	if opts.SubscriberBuffer <= 0 {
		opts.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if opts.DBPath == "" {
		opts.DBPath = DefaultDBPath
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = DefaultFlushInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Daemon{
		rt:       rt,
		opts:     opts,
		log:      opts.Logger,
		engine:   automation.New(nil, opts.MX),
		hub:      newHub(opts.SubscriberBuffer),
		ctx:      ctx,
		cancel:   cancel,
		dbPath:   opts.DBPath,
		stop:     make(chan struct{}),
		restored: make(chan struct{}),
	}
	qc := opts.Queue
	d.metrics = newMetrics(d, qc.BatchSize, qc.Metrics)
	qc.Metrics = d.metrics
	qc.Process = d.processBatch
	qc.OnPanic = func(v any) { d.log.Error(fmt.Sprintf("error processing batch: panic: %v", v)) }
	q, err := httpapi.NewQueue(qc)
	if err != nil {
		cancel()
		return nil, err
	}
	d.queue = q
	rt.AddModule("tsa", d.openModule)
	return d, nil
}

// Engine is the daemon's automation engine.
func (d *Daemon) Engine() *automation.Engine { return d.engine }

// DBPath is the path tsa.configure_tsa_db_path set (Options.DBPath if it
// was not called).
func (d *Daemon) DBPath() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dbPath
}

// Addrs are the bound addresses of the listeners started so far, in
// order ("127.0.0.1:43117", "[::1]:8008").
func (d *Daemon) Addrs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, len(d.listeners))
	for i, l := range d.listeners {
		out[i] = l.Addr
	}
	return out
}

// PersistErrors counts the batches whose state could not be written to
// the state database (each is logged; the state stays in memory and the
// next write retries it).
func (d *Daemon) PersistErrors() uint64 { return d.persistErrs.Load() }

// QueueDepth is the number of records accepted (answered 200) and not yet
// processed, the batches being processed and their events' publishing
// included.
func (d *Daemon) QueueDepth() int { return d.queue.Depth() }

func (d *Daemon) now() time.Time { return d.opts.Now() }

// markRestored lets batches and the state routes through: after the
// restore, or when startup fails or shutdown begins before it.
func (d *Daemon) markRestored() { d.restoreDone.Do(func() { close(d.restored) }) }

// processBatch is the ingest queue's consumer: one now per batch, events
// published once the whole batch is applied. Records accepted before the
// state is restored wait for it.
func (d *Daemon) processBatch(batch []*logrecord.Record) {
	<-d.restored
	d.stateMu.Lock()
	defer d.stateMu.Unlock()
	events, errs := d.engine.Process(d.ctx, d.now(), batch)
	for _, err := range errs {
		var pe *automation.PersistError
		if errors.As(err, &pe) {
			n := d.persistErrs.Add(1)
			d.log.Error(fmt.Sprintf("STATE NOT SAVED (%d failed writes so far): %v; the batch's effects are served from memory and the write is retried with the next batch", n, err))
			continue
		}
		d.log.Error("error processing record: " + err.Error())
	}
	d.hub.publish(events)
}

// Start performs KumoMTA's initialization: it fires tsa_load_shaping_data
// and installs its rules, fires tsa_init (which starts the listeners),
// opens the state database at the configured db path and restores the
// state, and starts the shaping refresh and the store's flusher and
// pruner. Records and state requests that arrive before the restore wait
// for it. Whatever happened, it logs "initialization
// complete"; on failure it first logs "problem initializing: ..." and
// returns the error (the caller shuts down).
func (d *Daemon) Start(ctx context.Context) error {
	err := d.start(ctx)
	if err != nil {
		d.log.Error("problem initializing: " + err.Error())
	}
	d.log.Info("initialization complete")
	return err
}

func (d *Daemon) start(ctx context.Context) error {
	d.log.Info("Version is " + d.opts.Version)
	rules, err := d.loadShaping(ctx)
	if err != nil {
		return err
	}
	d.engine.SetRules(rules)
	err = d.rt.Call(ctx, func(s *luart.State) error {
		_, _, err := s.Fire(ctx, EventInit)
		return err
	})
	if err != nil {
		return fmt.Errorf("in %s event: %w", EventInit, err)
	}
	if err := d.restore(); err != nil {
		return err
	}
	d.mu.Lock()
	d.loopsOn = true
	d.mu.Unlock()
	d.loops.Add(1)
	go d.every(d.opts.ShapingRefresh, d.refreshShaping)
	return nil
}

// restore opens the state database at the configured db path, loads it
// into the engine, attaches it as the engine's journal and starts its
// flusher and pruner.
func (d *Daemon) restore() error {
	defer d.markRestored()
	path := d.DBPath()
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return fmt.Errorf("tsa state: db path %s is a regular file (KumoMTA's tsa-daemon keeps a sqlite file at its db path; kumopolicy keeps its state in a directory there): give tsa.configure_tsa_db_path a directory, or move the file away", path)
	}
	st, err := store.Open(path, store.Options{Logf: func(format string, args ...any) { d.log.Warn(fmt.Sprintf(format, args...)) }})
	if err != nil {
		return err
	}
	rep, err := st.Restore(d.engine, d.now())
	if err != nil {
		st.Close()
		return err
	}
	if st.InMemory() {
		d.log.Info("db path is " + store.Memory + ": the automation state is kept in memory only and is lost when the daemon stops")
	} else {
		d.log.Info(fmt.Sprintf("state database %s: restored %d entries and %d threshold counters (%d expired skipped, %d records skipped)",
			st.Path(), rep.Entries, rep.Counters, rep.Expired, len(rep.Warnings)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- st.Run(ctx, d.engine, store.RunOptions{FlushEvery: d.opts.FlushInterval, PruneEvery: d.opts.PruneInterval, Now: d.opts.Now})
	}()
	d.mu.Lock()
	d.store, d.runCancel, d.runDone = st, cancel, done
	d.mu.Unlock()
	return nil
}

func (d *Daemon) every(interval time.Duration, fn func()) {
	defer d.loops.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			fn()
		}
	}
}

// refreshShaping reloads the rules; an error keeps the previous ones.
func (d *Daemon) refreshShaping() {
	rules, err := d.loadShaping(d.ctx)
	if err != nil {
		d.log.Error(fmt.Sprintf("refreshing shaping data: %v; keeping the previous rules", err))
		return
	}
	d.engine.SetRules(rules)
}

// loadShaping fires tsa_load_shaping_data and compiles what it returns.
func (d *Daemon) loadShaping(ctx context.Context) (*automation.Rules, error) {
	var obj *kumo.ShapingObject
	err := d.rt.Call(ctx, func(s *luart.State) error {
		out, handled, err := s.Fire(ctx, EventLoadShaping)
		if err != nil {
			return err
		}
		if !handled {
			return fmt.Errorf("Event %s has not been registered", EventLoadShaping)
		}
		if len(out) == 0 || out[0] == lua.LNil {
			return fmt.Errorf("Event %s did not return a value", EventLoadShaping)
		}
		o, ok := kumo.ShapingFromLua(out[0])
		if !ok {
			return fmt.Errorf("Event %s returned a %s, expected the Shaping object kumo.shaping.load returns", EventLoadShaping, out[0].Type())
		}
		obj = o
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("in %s event: %w", EventLoadShaping, err)
	}
	rules, err := automation.Compile(obj.Shaping)
	if err != nil {
		return nil, fmt.Errorf("in %s event: %w", EventLoadShaping, err)
	}
	return rules, nil
}

// Shutdown stops the listeners, drains the ingest queue (every record
// answered 200 is processed), ends the subscriber connections and the
// periodic tasks, writes what is pending (threshold counters, pruned
// entries) to the state database and closes it. It is safe to call more than once; later calls return
// nil at once.
func (d *Daemon) Shutdown(ctx context.Context) error {
	var errs []error
	d.down.Do(func() {
		d.log.Info("shutting down")
		d.mu.Lock()
		ls := d.listeners
		loopsOn := d.loopsOn
		d.mu.Unlock()
		d.markRestored() // nothing to wait for any more: let queued batches through
		for _, l := range ls {
			if err := l.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if err := d.queue.Close(ctx); err != nil {
			errs = append(errs, err)
		}
		d.hub.close()
		close(d.stop)
		if loopsOn {
			d.loops.Wait()
		}
		d.mu.Lock()
		st, runCancel, runDone := d.store, d.runCancel, d.runDone
		d.mu.Unlock()
		if st != nil {
			runCancel()
			if err := <-runDone; err != nil {
				errs = append(errs, fmt.Errorf("saving the automation state: %w", err))
			}
			if err := st.Close(); err != nil {
				errs = append(errs, fmt.Errorf("closing the state database: %w", err))
			}
		}
		d.cancel()
		if len(errs) == 0 {
			d.log.Info("Shutdown completed OK!")
		}
	})
	return errors.Join(errs...)
}
