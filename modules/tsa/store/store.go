// Package store persists the TSA daemon's automation state (suspensions,
// bounces, configuration overrides and threshold counters) in a bbolt
// database, so a restart, even after kill -9, resumes where the daemon
// stopped.
//
// Layout: the configured db path is a directory (created if missing); the
// database is the file FileName inside it. The path ":memory:" means no
// persistence at all: Open returns a store that keeps nothing and Restore
// attaches no journal.
//
// Durability: Restore attaches the store to the engine as its journal.
// From then on automation.Engine.Process writes and fsyncs each batch's
// changed entries (one bbolt transaction per batch) before it releases
// the engine's lock and returns the batch's events: whatever the API or a
// websocket can show has reached the disk first. Threshold counters and
// the deletions made by the pruner are written by Run's periodic Flush
// (every second by default), so a crash loses at most about a second of
// counting; a late deletion is harmless because expired entries are
// dropped on restore.
//
// Damage: a database that cannot be opened (not a bbolt file, a torn
// meta page, another process holding it, a newer format) is a fatal error
// naming the file: the daemon must not start over an unreadable state and
// later overwrite it. A single record that does not decode is skipped
// with a warning naming the file, bucket and key, and left in place (a
// later write of the same key replaces it): one lost entry must not keep
// the daemon from starting.
package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
)

// FileName is the database file inside the db path directory.
const FileName = "tsa-state.bbolt"

// Memory is the db path that disables persistence.
const Memory = ":memory:"

var (
	bucketMeta     = []byte("meta")
	bucketEntries  = []byte("entries")
	bucketCounters = []byte("counters")
	keyFormat      = []byte("format")
)

// Options tunes a Store.
type Options struct {
	// Logf receives warnings (skipped records, failed flushes); nil
	// discards them.
	Logf func(format string, args ...any)
	// LockTimeout bounds the wait for another process's lock on the
	// database; 0 means one second.
	LockTimeout time.Duration
}

// Store is an open state database. Its methods are safe for concurrent
// use.
type Store struct {
	path string // the database file; "" in memory mode
	db   *bbolt.DB
	logf func(string, ...any)
}

// Open opens (creating if needed) the state database under dbPath, or an
// in-memory store for ":memory:".
func Open(dbPath string, opts Options) (*Store, error) {
	s := &Store{logf: opts.Logf}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	if dbPath == Memory {
		return s, nil
	}
	if dbPath == "" {
		return nil, errors.New("tsa state: empty db path")
	}
	if fi, err := os.Stat(dbPath); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("tsa state: db path %s is not a directory", dbPath)
	}
	if err := os.MkdirAll(dbPath, 0o750); err != nil {
		return nil, fmt.Errorf("tsa state: %w", err)
	}
	s.path = filepath.Join(dbPath, FileName)
	_, statErr := os.Stat(s.path)
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	db, err := bbolt.Open(s.path, 0o640, &bbolt.Options{Timeout: timeout})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, fmt.Errorf("tsa state %s: locked by another process (is another tsa-daemon using this db path?)", s.path)
		}
		return nil, fmt.Errorf("tsa state %s: cannot open: %w", s.path, err)
	}
	s.db = db
	if os.IsNotExist(statErr) {
		syncDir(dbPath) // make the new file's directory entry durable
	}
	err = s.guard("initialize", func() error {
		return db.Update(func(tx *bbolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists(bucketMeta)
			if err != nil {
				return err
			}
			switch v := meta.Get(keyFormat); {
			case v == nil:
				if err := meta.Put(keyFormat, []byte(formatVersion)); err != nil {
					return err
				}
			case string(v) != formatVersion:
				return fmt.Errorf("bucket %q key %q: format %q, this kumopolicy reads %q", bucketMeta, keyFormat, v, formatVersion)
			}
			for _, b := range [][]byte{bucketEntries, bucketCounters} {
				if _, err := tx.CreateBucketIfNotExists(b); err != nil {
					return fmt.Errorf("bucket %q: %w", b, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// guard runs fn, turning an error or a panic inside bbolt (it panics on
// some page corruption) into an error naming the file.
func (s *Store) guard(what string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("tsa state %s: %s: corrupt database: %v", s.path, what, r)
		}
	}()
	if err := fn(); err != nil {
		return fmt.Errorf("tsa state %s: %s: %w", s.path, what, err)
	}
	return nil
}

// Path is the database file ("" in memory mode).
func (s *Store) Path() string { return s.path }

// InMemory reports whether the store keeps nothing.
func (s *Store) InMemory() bool { return s.db == nil }

// Close closes the database. Flush the engine first (Run does on exit).
func (s *Store) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Load reads every stored entry and counter, expired ones included.
// Records that do not decode are skipped and returned as warnings; the
// error is for a database that cannot be read at all.
func (s *Store) Load() (automation.State, []error, error) {
	var st automation.State
	var warns []error
	if s.db == nil {
		return st, nil, nil
	}
	skip := func(bucket, key []byte, err error) {
		warns = append(warns, fmt.Errorf("tsa state %s: bucket %q key %q: %w; record skipped", s.path, bucket, key, err))
	}
	err := s.guard("load", func() error {
		return s.db.View(func(tx *bbolt.Tx) error {
			err := tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
				e, err := decodeEntry(v)
				if err == nil {
					var key string
					if key, err = e.Key(); err == nil && key != string(k) {
						err = fmt.Errorf("record is for key %q", key)
					}
				}
				if err != nil {
					skip(bucketEntries, k, err)
					return nil
				}
				st.Entries = append(st.Entries, e)
				return nil
			})
			if err != nil {
				return err
			}
			return tx.Bucket(bucketCounters).ForEach(func(k, v []byte) error {
				c, err := decodeCounter(v)
				if err == nil {
					var key string
					if key, err = c.Key(); err == nil && key != string(k) {
						err = fmt.Errorf("record is for key %q", key)
					}
				}
				if err != nil {
					skip(bucketCounters, k, err)
					return nil
				}
				st.Counters = append(st.Counters, c)
				return nil
			})
		})
	})
	return st, warns, err
}

// Commit writes ch in one transaction and returns once it is on disk
// (bbolt fsyncs every commit). It implements automation.Journal. An entry
// whose value cannot be encoded is skipped with a warning; the others
// are written.
func (s *Store) Commit(ch automation.Changes) error {
	if s.db == nil || ch.Empty() {
		return nil
	}
	type kv struct{ k, v []byte }
	puts := make([]kv, 0, len(ch.Put))
	for _, e := range ch.Put {
		k, err := e.Key()
		if err == nil {
			var v []byte
			if v, err = encodeEntry(e); err == nil {
				puts = append(puts, kv{[]byte(k), v})
				continue
			}
		}
		s.logf("tsa state %s: key %q: %v; entry not persisted", s.path, k, err)
	}
	counters := make([]kv, 0, len(ch.Counters))
	for _, c := range ch.Counters {
		k, err := c.Key()
		if err == nil {
			var v []byte
			if v, err = encodeCounter(c); err == nil {
				counters = append(counters, kv{[]byte(k), v})
				continue
			}
		}
		s.logf("tsa state %s: counter %q: %v; not persisted", s.path, k, err)
	}
	return s.guard("write", func() error {
		return s.db.Update(func(tx *bbolt.Tx) error {
			eb, cb := tx.Bucket(bucketEntries), tx.Bucket(bucketCounters)
			for _, p := range puts {
				if err := eb.Put(p.k, p.v); err != nil {
					return fmt.Errorf("key %q: %w", p.k, err)
				}
			}
			for _, k := range ch.Delete {
				if err := eb.Delete([]byte(k)); err != nil {
					return fmt.Errorf("key %q: %w", k, err)
				}
			}
			for _, p := range counters {
				if err := cb.Put(p.k, p.v); err != nil {
					return fmt.Errorf("counter %q: %w", p.k, err)
				}
			}
			for _, k := range ch.DeleteCounters {
				if err := cb.Delete([]byte(k)); err != nil {
					return fmt.Errorf("counter %q: %w", k, err)
				}
			}
			return nil
		})
	})
}

// Report tells what Restore found.
type Report struct {
	automation.ImportStats
	// Warnings are the records skipped: undecodable, or rejected by the
	// engine.
	Warnings []error
}

// Restore loads the stored state into e at now (expired entries and stale
// counters skipped) and attaches the store as e's journal. Call it once,
// before the first Process. In memory mode it does nothing.
func (s *Store) Restore(e *automation.Engine, now time.Time) (Report, error) {
	var rep Report
	if s.db == nil {
		return rep, nil
	}
	st, warns, err := s.Load()
	if err != nil {
		return rep, err
	}
	rep.Warnings = warns
	var errs []error
	rep.ImportStats, errs = e.Import(st, now)
	for _, err := range errs {
		rep.Warnings = append(rep.Warnings, fmt.Errorf("tsa state %s: %w; record skipped", s.path, err))
	}
	for _, w := range rep.Warnings {
		s.logf("%v", w)
	}
	e.SetJournal(s)
	return rep, nil
}

// RunOptions sets Run's periods.
type RunOptions struct {
	FlushEvery time.Duration // threshold counters and deletions; 0: 1 s
	PruneEvery time.Duration // expired entries and stale counters; 0: 60 s
	Now        func() time.Time
}

// Run prunes e and flushes its pending changes periodically until ctx is
// done, then flushes one last time and returns that flush's error. In
// memory mode it only prunes. Failed flushes are logged and retried.
func (s *Store) Run(ctx context.Context, e *automation.Engine, o RunOptions) error {
	if o.FlushEvery <= 0 {
		o.FlushEvery = time.Second
	}
	if o.PruneEvery <= 0 {
		o.PruneEvery = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	flush := time.NewTicker(o.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(o.PruneEvery)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return e.Flush()
		case <-flush.C:
			if err := e.Flush(); err != nil {
				s.logf("%v", err)
			}
		case <-prune.C:
			e.Prune(o.Now())
		}
	}
}
