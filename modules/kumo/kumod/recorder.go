package kumod

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Config is a decoded parameter table.
type Config interface {
	// Data renders the parameters as plain data (secrets redacted).
	Data() map[string]any
}

// AccountingDB is the argument of kumo.configure_accounting_db_path.
type AccountingDB struct {
	Path string
}

// DecodeAccountingDB checks the path given to
// kumo.configure_accounting_db_path.
func DecodeAccountingDB(path string) (*AccountingDB, error) {
	if err := checkPath("kumo.configure_accounting_db_path", "the path", path); err != nil {
		return nil, err
	}
	return &AccountingDB{Path: path}, nil
}

// Data renders the path as plain data.
func (a *AccountingDB) Data() map[string]any { return map[string]any{"path": a.Path} }

// Disposition says what KumoMTA would do with a recorded call. kumopolicy
// itself never does it.
type Disposition string

const (
	// Recorded: the call only sets process state in kumod.
	Recorded Disposition = "recorded"
	// WouldBind: kumod would bind the listener (not in validate mode).
	WouldBind Disposition = "would bind"
	// WouldOpen: kumod would open the spool (not in validate mode).
	WouldOpen Disposition = "would open"
	// WouldCreate: kumod would create the log directory and write logs
	// there, in validate mode too.
	WouldCreate Disposition = "would create the log directory"
	// WouldConnect: kumod would connect to Redis (in validate mode too).
	WouldConnect Disposition = "would connect"
	// SkippedInValidate: kumod --validate skips this call as well.
	SkippedInValidate Disposition = "skipped in validate"
)

// Record is one accepted call.
type Record struct {
	Seq         int    // 1 for the first recorded call
	Func        string // the kumo function, e.g. "start_esmtp_listener"
	Config      Config // the decoded parameters, defaults applied
	Caller      string // FILE:LINE of the Lua code that made the call
	Disposition Disposition
}

// Summary is a one-line description of what the call configured, for
// example "esmtp listener 0.0.0.0:25" or "spool data: /var/spool/data
// (RocksDB)".
func (r Record) Summary() string {
	switch c := r.Config.(type) {
	case *EsmtpListener:
		return "esmtp listener " + c.Listen
	case *HTTPListener:
		if c.UseTLS {
			return "http listener " + c.Listen + " (tls)"
		}
		return "http listener " + c.Listen
	case *Spool:
		return fmt.Sprintf("spool %s: %s (%s)", c.Name, c.Path, c.Kind)
	case *LocalLogs:
		return "local logs: " + c.LogDir
	case *AccountingDB:
		return "accounting db: " + c.Path
	case *LogHook:
		return fmt.Sprintf("log hook %q", c.Name)
	case *LogDispositionHook:
		return fmt.Sprintf("log disposition hook %q", c.Name)
	case *RedisThrottles:
		nodes := make([]string, len(c.Nodes))
		for i, n := range c.Nodes {
			nodes[i] = redactURL(n)
		}
		kind := "redis throttles"
		if c.IsCluster() {
			kind = "redis throttles (cluster)"
		}
		return kind + ": " + strings.Join(nodes, ", ")
	case *BounceClassifier:
		return "bounce classifier: " + strings.Join(c.Files, ", ")
	case *MonitorGlobs:
		return "config monitor globs: " + strings.Join(c.Globs, ", ")
	case *AcctLog:
		return "accounting log: " + c.LogDir
	case *Setting:
		return c.summary()
	}
	return r.Func
}

// Recorder keeps the calls a policy made, in order. One Recorder belongs to
// one policy host (one luart.Runtime); it is safe for concurrent use.
//
// It applies KumoMTA's process-wide rules: a log hook name can be used once
// (across configure_log_hook and configure_log_disposition_hook), the
// bounce classifier and Redis throttles can be configured once, and —
// outside validate mode, where kumod would really bind and open them — two
// listeners cannot share an address and two spools cannot share a
// directory.
type Recorder struct {
	validating bool

	mu         sync.Mutex
	records    []Record
	hooks      map[string]bool
	classifier bool
	redis      bool
	acctLog    bool
	globs      []string
	settings   map[string]any // Setting.Key -> Setting.Value, last call wins
}

// NewRecorder returns an empty Recorder; validating is whether the host
// runs like kumod --validate.
func NewRecorder(validating bool) *Recorder {
	return &Recorder{validating: validating, hooks: map[string]bool{}, settings: map[string]any{}, globs: slices.Clone(DefaultMonitorGlobs)}
}

// Validating reports whether the Recorder records for validate mode.
func (r *Recorder) Validating() bool { return r.validating }

// Add records an accepted call of kumo.<fn> made at caller, or returns the
// error KumoMTA would raise for it.
func (r *Recorder) Add(fn string, cfg Config, caller string) (Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	disp := Recorded
	switch c := cfg.(type) {
	case *EsmtpListener:
		disp = r.startDisposition(WouldBind)
		if err := r.checkListen(c.Listen, "failed to bind to "+c.Listen); err != nil {
			return Record{}, err
		}
	case *HTTPListener:
		disp = r.startDisposition(WouldBind)
		if err := r.checkListen(c.Listen, "listen on "+c.Listen); err != nil {
			return Record{}, err
		}
	case *Spool:
		disp = r.startDisposition(WouldOpen)
		if err := r.checkSpool(c); err != nil {
			return Record{}, err
		}
	case *LocalLogs:
		disp = WouldCreate
	case *LogHook:
		if err := r.claimHook(c.Name); err != nil {
			return Record{}, err
		}
	case *LogDispositionHook:
		if err := r.claimHook(c.Name); err != nil {
			return Record{}, err
		}
	case *BounceClassifier:
		if r.classifier {
			return Record{}, fmt.Errorf("classifier already initialized")
		}
		r.classifier = true
	case *RedisThrottles:
		if r.redis {
			return Record{}, fmt.Errorf("redis already configured for throttles")
		}
		r.redis = true
		disp = WouldConnect
	case *MonitorGlobs:
		r.globs = slices.Clone(c.Globs)
	case *AcctLog:
		if r.acctLog {
			return Record{}, fmt.Errorf("kumo.aaa.configure_acct_log: the accounting log is already configured; it can be configured once")
		}
		r.acctLog = true
		disp = WouldCreate
	case *Setting:
		r.settings[c.Key] = c.Value
	}
	rec := Record{Seq: len(r.records) + 1, Func: fn, Config: cfg, Caller: caller, Disposition: disp}
	r.records = append(r.records, rec)
	return rec, nil
}

func (r *Recorder) startDisposition(d Disposition) Disposition {
	if r.validating {
		return SkippedInValidate
	}
	return d
}

func (r *Recorder) claimHook(name string) error {
	if r.hooks[name] {
		return fmt.Errorf("A logging hook with name `%s` has already been registered", name)
	}
	r.hooks[name] = true
	return nil
}

// checkListen refuses, outside validate mode, a listen address that would
// collide with one recorded before: the same port on the same address, or
// on a wildcard address.
func (r *Recorder) checkListen(listen, prefix string) error {
	if r.validating {
		return nil
	}
	for _, prev := range r.records {
		var other string
		switch c := prev.Config.(type) {
		case *EsmtpListener:
			if prev.Disposition == WouldBind {
				other = c.Listen
			}
		case *HTTPListener:
			if prev.Disposition == WouldBind {
				other = c.Listen
			}
		}
		if other != "" && listenConflict(listen, other) {
			return fmt.Errorf("%s: address already in use (%s already listens on %s, at %s)", prefix, prev.Summary(), other, prev.Caller)
		}
	}
	return nil
}

func listenConflict(a, b string) bool {
	ah, ap, ok1 := splitListen(a)
	bh, bp, ok2 := splitListen(b)
	if !ok1 || !ok2 || ap != bp || ap == "0" {
		return false
	}
	if ah == bh {
		return true
	}
	aa, err1 := netip.ParseAddr(ah)
	ba, err2 := netip.ParseAddr(bh)
	if err1 != nil || err2 != nil {
		return false
	}
	if aa.IsUnspecified() && ba.IsUnspecified() {
		return true // 0.0.0.0 and [::] collide on dual-stack hosts
	}
	if aa.IsUnspecified() {
		return aa.Is4() == ba.Unmap().Is4() || aa.Is6()
	}
	if ba.IsUnspecified() {
		return ba.Is4() == aa.Unmap().Is4() || ba.Is6()
	}
	return aa.Unmap() == ba.Unmap()
}

func splitListen(s string) (host, port string, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", "", false
	}
	return strings.Trim(s[:i], "[]"), s[i+1:], true
}

// checkSpool refuses, outside validate mode, a spool in a directory that
// an earlier spool uses: kumod locks the directory when it opens a spool.
func (r *Recorder) checkSpool(s *Spool) error {
	if r.validating {
		return nil
	}
	path := filepath.Clean(s.Path)
	for _, prev := range r.records {
		if p, ok := prev.Config.(*Spool); ok && filepath.Clean(p.Path) == path {
			return fmt.Errorf("Opening spool %s: unable to lock pid file %s: spool %s (defined at %s) already uses that directory",
				s.Name, filepath.Join(path, "lock"), p.Name, prev.Caller)
		}
	}
	return nil
}

// Records returns the recorded calls in order.
func (r *Recorder) Records() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.records)
}

// MonitorGlobs returns the config monitor globs: DefaultMonitorGlobs until
// the policy sets its own.
func (r *Recorder) MonitorGlobs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.globs)
}

// LogHooks returns the recorded configure_log_hook parameters in order.
func (r *Recorder) LogHooks() []*LogHook {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*LogHook
	for _, rec := range r.records {
		if h, ok := rec.Config.(*LogHook); ok {
			out = append(out, h)
		}
	}
	return out
}
