package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
)

func counters(s automation.State) []automation.CounterState {
	c := append([]automation.CounterState(nil), s.Counters...)
	sort.Slice(c, func(i, j int) bool { return c[i].RuleHash+c[i].Site < c[j].RuleHash+c[j].Site })
	return c
}

// Engine -> store -> a new engine with no rules gives the same snapshot,
// the same counters and the same generated shaping.toml.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	e := newEngine(t)
	if rep, err := s.Restore(e, at); err != nil || rep.Entries != 0 || len(rep.Warnings) != 0 {
		t.Fatalf("restore of an empty db: %+v %v", rep, err)
	}
	populate(t, e)
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	now := at.Add(time.Minute)
	s = open(t, dir)
	defer s.Close()
	fresh := automation.New(nil, nil)
	rep, err := s.Restore(fresh, now)
	if err != nil || len(rep.Warnings) != 0 || rep.Entries != 7 || rep.Counters != 1 {
		t.Fatalf("restore: %+v %v", rep, err)
	}
	if got, want := fresh.Snapshot(now), e.Snapshot(now); !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot after restore:\n%+v\nwant\n%+v", got, want)
	}
	if got, want := fresh.ShapingTOML(now), e.ShapingTOML(now); got != want {
		t.Fatalf("shaping.toml after restore:\n%s\nwant\n%s", got, want)
	}
	if !strings.Contains(fresh.ShapingTOML(now), "max_deliveries_per_connection = 1\n") {
		t.Errorf("integer override lost its type:\n%s", fresh.ShapingTOML(now))
	}
	if got, want := counters(fresh.Export()), counters(e.Export()); !reflect.DeepEqual(got, want) {
		t.Fatalf("counters %+v, want %+v", got, want)
	}
}

// Entries expired at restore time are not restored; pruned entries are
// deleted from the database by the next flush.
func TestExpiry(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	e := newEngine(t)
	if _, err := s.Restore(e, at); err != nil {
		t.Fatal(err)
	}
	populate(t, e)
	// The ready-q suspension lasts 2 minutes from the record's time.
	fresh := automation.New(nil, nil)
	st, warns, err := s.Load()
	if err != nil || len(warns) != 0 || len(st.Entries) != 7 {
		t.Fatalf("load: %d entries, %v %v", len(st.Entries), warns, err)
	}
	if got, errs := fresh.Import(st, at.Add(2*time.Minute)); got.Entries != 6 || got.Expired != 1 || len(errs) != 0 {
		t.Fatalf("import at +2m: %+v %v", got, errs)
	}
	if n := e.Prune(at.Add(2 * time.Minute)).Ready; n != 1 {
		t.Fatalf("pruned %d ready-q suspensions", n)
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	st, _, _ = s.Load()
	for _, ent := range st.Entries {
		if ent.Ready != nil {
			t.Errorf("pruned entry still stored: %+v", ent.Ready)
		}
	}
	if len(st.Entries) != 6 {
		t.Errorf("%d entries stored after prune, want 6", len(st.Entries))
	}
	s.Close()
}

// Counters are not written per batch but by the periodic flush of Run,
// which also flushes when it stops.
func TestCountersFlushed(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	e := newEngine(t)
	if _, err := s.Restore(e, at); err != nil {
		t.Fatal(err)
	}
	populate(t, e)
	st, _, _ := s.Load()
	if len(st.Counters) != 0 || len(st.Entries) != 7 {
		t.Fatalf("after the batch: %d counters, %d entries stored; want 0 and 7", len(st.Counters), len(st.Entries))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, e, RunOptions{FlushEvery: 10 * time.Millisecond}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, _ = s.Load()
		if len(st.Counters) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Run never flushed the threshold counter")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// One more event for the counter, then stop: the final flush has it.
	r, _ := newRecord(at, "counted", "foo.example")
	e.Process(context.Background(), at.Add(time.Second), []*logrecord.Record{r})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st, _, _ = s.Load()
	if len(st.Counters) != 1 || len(st.Counters[0].Times) != 2 {
		t.Fatalf("counters after stop: %+v", st.Counters)
	}
}

// ":memory:" writes nothing anywhere and restores nothing.
func TestMemory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	s, err := Open(Memory, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.InMemory() || s.Path() != "" {
		t.Fatalf("InMemory %v, Path %q", s.InMemory(), s.Path())
	}
	e := newEngine(t)
	if _, err := s.Restore(e, at); err != nil {
		t.Fatal(err)
	}
	populate(t, e)
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, e, RunOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	left, _ := os.ReadDir(dir)
	for _, f := range left {
		if f.Name() != "shaping.toml" {
			t.Errorf("memory mode left %s in the working directory", f.Name())
		}
	}
	s2, _ := Open(Memory, Options{})
	fresh := automation.New(nil, nil)
	if rep, err := s2.Restore(fresh, at); err != nil || rep.Entries != 0 {
		t.Fatalf("memory restore: %+v %v", rep, err)
	}
	if n := len(fresh.Export().Entries); n != 0 {
		t.Fatalf("memory mode restored %d entries", n)
	}
}

// A record that does not decode is skipped with a warning naming the file,
// bucket and key; the others are restored.
func TestCorruptRecord(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	e := newEngine(t)
	s.Restore(e, at)
	populate(t, e)
	e.Flush()
	s.Close()

	db, err := bbolt.Open(filepath.Join(dir, FileName), 0o640, nil)
	if err != nil {
		t.Fatal(err)
	}
	var victim string
	db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketEntries)
		k, _ := b.Cursor().First()
		victim = string(k)
		b.Put(k, []byte("{not json"))
		b.Put([]byte(`["ready","nothex","x"]`), []byte(`{"kind":"ready","rule_hash":"nothex","site":"x","reason":"r","expires":"2999-01-01T00:00:00Z","rule":{}}`))
		b.Put([]byte(`["elsewhere"]`), []byte(`{"kind":"bounce","rule_hash":"x-0000000000000000000000000000000000000000000000000000000000000000","domain":"d","reason":"r","expires":"2999-01-01T00:00:00Z","rule":{}}`))
		tx.Bucket(bucketCounters).Put([]byte("junk"), []byte(`{"times":[3,1]}`))
		return nil
	})
	db.Close()

	var logged []string
	s, err = Open(dir, Options{Logf: func(f string, a ...any) { logged = append(logged, f) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fresh := automation.New(nil, nil)
	rep, err := s.Restore(fresh, at.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 6 || rep.Counters != 1 || len(rep.Warnings) != 4 || len(logged) != 4 {
		t.Fatalf("restore: %+v, %d logged", rep, len(logged))
	}
	path := filepath.Join(dir, FileName)
	for _, want := range []string{victim, `["ready","nothex","x"]`, `["elsewhere"]`, "junk"} {
		found := false
		for _, w := range rep.Warnings {
			if strings.Contains(w.Error(), path) && strings.Contains(w.Error(), fmt.Sprintf("key %q", want)) && strings.HasSuffix(w.Error(), "record skipped") {
				found = true
			}
		}
		if !found {
			t.Errorf("no warning naming %s and key %q: %v", path, want, rep.Warnings)
		}
	}
}

// An unreadable database is an error naming the file, never a panic or a
// silent fresh start.
func TestUnreadable(t *testing.T) {
	t.Run("garbage file", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, FileName)
		os.WriteFile(path, []byte(strings.Repeat("this is not a bbolt database\n", 1000)), 0o640)
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("error %v, want one naming %s", err, path)
		}
	})
	t.Run("db path is a file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tsa.db")
		os.WriteFile(path, nil, 0o640)
		_, err := Open(path, Options{})
		if err == nil || !strings.Contains(err.Error(), path+" is not a directory") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("newer format", func(t *testing.T) {
		dir := t.TempDir()
		open(t, dir).Close()
		db, _ := bbolt.Open(filepath.Join(dir, FileName), 0o640, nil)
		db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte("99")) })
		db.Close()
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), `format "99"`) || !strings.Contains(err.Error(), FileName) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("locked", func(t *testing.T) {
		dir := t.TempDir()
		s := open(t, dir)
		defer s.Close()
		_, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "locked by another process") {
			t.Fatalf("error %v", err)
		}
	})
}

// Override values keep their types through the codec.
func TestValueCodec(t *testing.T) {
	m := plain.NewMap(3)
	m.Set("z", int64(1))
	m.Set("a", []any{"x", 2.5, true, nil})
	m.Set("m", plain.NewMap(0))
	for _, v := range []any{int64(math.MinInt64), int64(math.MaxInt64), 1.0, 0.1, math.Inf(-1), "s\x00\u2028", true, []any{}, m} {
		w, err := encodeValue(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeValue(w)
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Errorf("%#v -> %#v, %v", v, got, err)
		}
	}
	w, _ := encodeValue(math.NaN())
	if got, _ := decodeValue(w); !math.IsNaN(got.(float64)) {
		t.Errorf("NaN -> %v", got)
	}
	if _, err := encodeValue(struct{}{}); err == nil {
		t.Error("a struct was encoded")
	}
	if _, err := decodeValue(wireValue{}); err == nil {
		t.Error("an empty value decoded")
	}
}

// A commit error surfaces from Process as a PersistError; the changes are
// written by the next commit that succeeds.
func TestCommitFailureRetried(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	e := newEngine(t)
	s.Restore(e, at)
	s.db.Close() // every write now fails
	r, _ := newRecord(at, "tenant-me", "t1@foo.example")
	_, errs := e.Process(context.Background(), at.Add(time.Second), []*logrecord.Record{r})
	var pe *automation.PersistError
	if len(errs) != 1 || !errors.As(errs[0], &pe) || !strings.Contains(errs[0].Error(), FileName) {
		t.Fatalf("errors %v", errs)
	}
	s2 := open(t, dir)
	defer s2.Close()
	e.SetJournal(s2)
	// SetJournal keeps what is pending; the next flush writes it.
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	st, _, _ := s2.Load()
	if len(st.Entries) != 1 || st.Entries[0].Sched == nil || st.Entries[0].Sched.Tenant != "t1" {
		t.Fatalf("stored %+v", st.Entries)
	}
}
