package automation

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

const persistTOML = actionsTOML + `
[[default.automation]]
regex = "counted"
action = ["Suspend", {SetConfig={name="max_message_rate", value="3/m"}}]
trigger = {Threshold="5/h"}
duration = "1 hour"

[[default.automation]]
regex = "short-lived"
action = "Suspend"
duration = "2 minutes"
`

// populate fills e with one entry of every kind, a threshold counter that
// has not fired, and a ready-q suspension expiring at at+2m.
func populate(t *testing.T, e *Engine) []Event {
	t.Helper()
	var recs []*logrecord.Record
	for _, c := range []struct{ content, queue string }{
		{"tenant-me", "mycamp:mytenant@foo.example!localhost"},
		{"campaign-me", "mycamp:mytenant@foo.example"},
		{"bounce-me", "foo.example"},
		{"bounce-campaign", "mycamp:mytenant@foo.example"},
		{"domain-config", "foo.example"},
		{"counted", "foo.example"},
		{"short-lived", "foo.example"},
	} {
		recs = append(recs, record(t, map[string]any{"event_time": eventTime(at), "queue": c.queue,
			"response": map[string]any{"code": 450, "content": c.content}}))
	}
	events, errs := e.Process(context.Background(), at.Add(time.Second), recs)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	return events
}

func sortedCounters(s State) []CounterState {
	c := append([]CounterState(nil), s.Counters...)
	sort.Slice(c, func(i, j int) bool { return c[i].RuleHash+c[i].Site < c[j].RuleHash+c[j].Site })
	return c
}

// Export then Import into an engine with no rules at all gives the same
// snapshot and counters: entries keep their own rule information.
func TestExportImportRoundTrip(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	populate(t, e)
	now := at.Add(time.Minute)
	want := e.Snapshot(now)
	if len(want.Ready) != 1 || len(want.Sched) != 2 || len(want.Bounces) != 2 || len(want.Overrides) != 1 || want.Counters != 1 {
		t.Fatalf("populate gave %d ready, %d sched, %d bounces, %d overrides, %d counters",
			len(want.Ready), len(want.Sched), len(want.Bounces), len(want.Overrides), want.Counters)
	}
	exported := e.Export()
	fresh := New(nil, nil)
	st, errs := fresh.Import(exported, now)
	if len(errs) != 0 || st.Entries != 6 || st.Counters != 1 || st.Expired != 0 {
		t.Fatalf("import: %+v %v", st, errs)
	}
	if got := fresh.Snapshot(now); !reflect.DeepEqual(got, want) {
		t.Fatalf("snapshot after import:\n%+v\nwant\n%+v", got, want)
	}
	if got := fresh.Export(); !reflect.DeepEqual(sortedCounters(got), sortedCounters(exported)) {
		t.Fatalf("counters %+v, want %+v", got.Counters, exported.Counters)
	}
	// The imported counter goes on counting: 4 more events reach 5/h.
	for i := 0; i < 4; i++ {
		rec := record(t, map[string]any{"event_time": eventTime(at), "response": map[string]any{"code": 450, "content": "counted"}})
		fresh.SetRules(e.Rules())
		fresh.Process(context.Background(), now, []*logrecord.Record{rec})
	}
	if got := fresh.Snapshot(now); len(got.Overrides) != 2 {
		t.Errorf("threshold after import: %d overrides, want 2", len(got.Overrides))
	}
}

// Import skips what has expired at its now, and stale counters.
func TestImportSkipsExpired(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	populate(t, e)
	fresh := New(nil, nil)
	// at+2m: the short-lived suspension expires exactly then (expires <= now).
	st, errs := fresh.Import(e.Export(), at.Add(2*time.Minute))
	if len(errs) != 0 || st.Entries != 5 || st.Expired != 1 || st.Counters != 1 {
		t.Fatalf("import at +2m: %+v %v", st, errs)
	}
	if n := len(fresh.Snapshot(at.Add(2 * time.Minute)).Ready); n != 0 {
		t.Errorf("%d ready-q suspensions, want 0", n)
	}
	// Well past the hour and the counter's 300 s slack: nothing left.
	fresh = New(nil, nil)
	st, errs = fresh.Import(e.Export(), at.Add(time.Hour+301*time.Second))
	if len(errs) != 0 || st.Entries != 0 || st.Counters != 0 || st.Expired != 7 {
		t.Fatalf("import at +1h5m: %+v %v", st, errs)
	}
}

// A malformed entry is reported and skipped; the others are imported.
func TestImportBadKey(t *testing.T) {
	bad := State{Entries: []StateEntry{
		{Ready: &ReadyQSuspension{RuleHash: "zz", SiteName: "s", Expires: at.Add(time.Hour)}},
		{Sched: &SchedQSuspension{RuleHash: "nohash", Tenant: "t", Expires: at.Add(time.Hour)}},
		{},
		{Ready: &ReadyQSuspension{RuleHash: "0123456789012345678901234567890123456789012345678901234567890123", SiteName: "s", Expires: at.Add(time.Hour)}},
	}}
	e := New(nil, nil)
	st, errs := e.Import(bad, at)
	if st.Entries != 1 || len(errs) != 3 {
		t.Fatalf("import: %+v %v", st, errs)
	}
}

type recJournal struct {
	commits []Changes
	fail    error
	seen    func() // called inside Commit
}

func (j *recJournal) Commit(c Changes) error {
	if j.seen != nil {
		j.seen()
	}
	if j.fail != nil {
		return j.fail
	}
	j.commits = append(j.commits, c)
	return nil
}

// Process commits the batch's entries (not counters) before it returns;
// Flush sends counters and pruned deletions; a failed commit is retried.
func TestJournal(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	j := &recJournal{fail: errors.New("disk full")}
	e.SetJournal(j)
	_, errs := e.Process(context.Background(), at.Add(time.Second), []*logrecord.Record{
		record(t, map[string]any{"event_time": eventTime(at), "response": map[string]any{"code": 450, "content": "short-lived"}}),
	})
	var pe *PersistError
	if len(errs) != 1 || !errors.As(errs[0], &pe) {
		t.Fatalf("errors %v, want one PersistError", errs)
	}
	j.fail = nil
	events := populate(t, e)
	if len(j.commits) != 1 {
		t.Fatalf("%d commits, want 1", len(j.commits))
	}
	c := j.commits[0]
	if len(c.Put) != 6 || len(c.Delete) != 0 || len(c.Counters) != 0 {
		t.Fatalf("batch commit: %d puts, %d deletes, %d counters", len(c.Put), len(c.Delete), len(c.Counters))
	}
	if len(events) != 5 {
		t.Errorf("%d events", len(events))
	}
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(j.commits) != 2 || len(j.commits[1].Counters) != 1 || len(j.commits[1].Put) != 0 {
		t.Fatalf("flush commit: %+v", j.commits[1:])
	}
	// Nothing pending: Flush commits nothing.
	_ = e.Flush()
	if len(j.commits) != 2 {
		t.Fatalf("empty flush committed: %+v", j.commits[2:])
	}
	// Prune at +2m removes the short-lived suspension; Flush deletes it.
	if st := e.Prune(at.Add(2 * time.Minute)); st.Ready != 1 {
		t.Fatalf("prune: %+v", st)
	}
	_ = e.Flush()
	if len(j.commits) != 3 || len(j.commits[2].Delete) != 1 {
		t.Fatalf("prune commit: %+v", j.commits[2:])
	}
}

// Readers never see a batch before the journal acknowledged it: Commit
// runs with the engine's lock held.
func TestJournalBeforeVisible(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	j := &recJournal{}
	j.seen = func() {
		if e.mu.TryLock() {
			e.mu.Unlock()
			t.Error("journal committed without the engine lock held")
		}
	}
	e.SetJournal(j)
	populate(t, e)
	if len(j.commits) != 1 {
		t.Fatalf("%d commits", len(j.commits))
	}
}
