package automation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

// snapshotKeys lists the keys of every active entry, by kind.
func snapshotKeys(t *testing.T, s Snapshot) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	add := func(se StateEntry) {
		k, err := se.Key()
		if err != nil {
			t.Fatal(err)
		}
		out[se.Kind()] = append(out[se.Kind()], k)
	}
	for _, a := range s.Ready {
		add(StateEntry{Ready: &a.Entry})
	}
	for _, a := range s.Sched {
		add(StateEntry{Sched: &a.Entry})
	}
	for _, a := range s.Bounces {
		add(StateEntry{Bounce: &a.Entry})
	}
	for _, a := range s.Overrides {
		add(StateEntry{Override: &a.Entry})
	}
	return out
}

// Cancelling each kind removes it from the snapshot and every rendered
// output, commits the deletion, and (except overrides) gives the same
// event with expires = now.
func TestCancelEachKind(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	j := &recJournal{}
	e.SetJournal(j)
	populate(t, e)
	now := at.Add(5 * time.Second)
	before := snapshotKeys(t, e.Snapshot(now))
	for _, kind := range []string{KindReady, KindSched, KindBounce, KindOverride} {
		if len(before[kind]) == 0 {
			t.Fatalf("populate made no %s entry: %v", kind, before)
		}
	}
	for _, kind := range []string{KindReady, KindSched, KindBounce, KindOverride} {
		key := before[kind][0]
		commits := len(j.commits)
		c, err := e.Cancel(key, now)
		if err != nil {
			t.Fatalf("cancel %s: %v", key, err)
		}
		if got, _ := c.Entry.Key(); got != key || c.Entry.Kind() != kind || c.Entry.Rule.Hash == "" {
			t.Errorf("cancel %s returned entry %s (%s), rule %+v", key, got, c.Entry.Kind(), c.Entry.Rule)
		}
		if len(j.commits) != commits+1 || len(j.commits[commits].Delete) != 1 || j.commits[commits].Delete[0] != key {
			t.Errorf("cancel %s: commits %+v", key, j.commits[commits:])
		}
		for _, k := range snapshotKeys(t, e.Snapshot(now))[kind] {
			if k == key {
				t.Errorf("%s still in the snapshot", key)
			}
		}
		if kind == KindOverride {
			if len(c.Events) != 0 {
				t.Errorf("override cancel gave events %v", c.Events)
			}
			if toml := e.ShapingTOML(now); strings.Contains(toml, "connection_limit") {
				t.Errorf("shaping.toml still has the override:\n%s", toml)
			}
			continue
		}
		if len(c.Events) != 1 {
			t.Fatalf("cancel %s: %d events, want 1", key, len(c.Events))
		}
		frame := string(c.Events[0].JSON())
		if !strings.Contains(frame, `"reason":"`+CancelReasonPrefix) || !strings.Contains(frame, `"expires":"`+FormatJSONTime(now)+`"`) {
			t.Errorf("cancel event %s", frame)
		}
	}
	if s := string(e.SuspendedJSON(now)); strings.Contains(s, "short-lived") || strings.Count(s, "rule_hash") != 1 {
		t.Errorf("suspended.json after cancelling one ready and one sched entry: %s", s)
	}
	if b := string(e.BouncedJSON(now)); strings.Count(b, "rule_hash") != 1 {
		t.Errorf("bounced.json after cancelling one of two bounces: %s", b)
	}
	// Cancelled once: a second cancel finds nothing.
	if _, err := e.Cancel(before[KindReady][0], now); !errors.Is(err, ErrNoSuchEntry) {
		t.Errorf("second cancel: %v", err)
	}
}

func TestCancelBadKeys(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	populate(t, e)
	now := at.Add(5 * time.Second)
	hash := strings.Repeat("ab", 32)
	for _, key := range []string{
		``, `ready`, `[]`, `[null]`, `["nope","` + hash + `","s"]`, `["ready","` + hash + `"]`,
		`["ready","xyz","s"]`, `["ready","` + strings.ToUpper(hash) + `","s"]`,
		`["sched","` + hash + `","s","d",null,null]`, `["bounce","` + hash + `","s",null,null,null]`,
	} {
		var ke *KeyError
		if _, err := e.Cancel(key, now); !errors.As(err, &ke) {
			t.Errorf("key %q: %v, want a KeyError", key, err)
		}
	}
	// Well formed, but nothing has it; and an entry that expired by now.
	for _, key := range []string{`["ready","` + hash + `","s"]`, `["bounce","` + hash + `","s","d",null,null]`} {
		if _, err := e.Cancel(key, now); !errors.Is(err, ErrNoSuchEntry) {
			t.Errorf("key %q: %v, want ErrNoSuchEntry", key, err)
		}
	}
	ready := snapshotKeys(t, e.Snapshot(now))[KindReady][0]
	if _, err := e.Cancel(ready, at.Add(3*time.Minute)); !errors.Is(err, ErrNoSuchEntry) {
		t.Errorf("expired entry: %v, want ErrNoSuchEntry", err)
	}
}

// A failed commit puts the entry back: memory never shows what disk does
// not have.
func TestCancelCommitFails(t *testing.T) {
	e := newEngine(t, loadShaping(t, persistTOML))
	j := &recJournal{}
	e.SetJournal(j)
	populate(t, e)
	now := at.Add(5 * time.Second)
	key := snapshotKeys(t, e.Snapshot(now))[KindBounce][0]
	j.fail = errors.New("disk full")
	var pe *PersistError
	if _, err := e.Cancel(key, now); !errors.As(err, &pe) {
		t.Fatalf("cancel with a failing journal: %v", err)
	}
	found := false
	for _, k := range snapshotKeys(t, e.Snapshot(now))[KindBounce] {
		found = found || k == key
	}
	if !found {
		t.Fatal("entry gone after a failed commit")
	}
	j.fail = nil
	if _, err := e.Cancel(key, now); err != nil {
		t.Fatal(err)
	}
}

// kumod keeps one ready-q suspension per queue name: cancelling one of
// two rules' suspensions of the same site re-asserts the other.
func TestCancelReassertsSameKumodKey(t *testing.T) {
	e := newEngine(t, loadShaping(t, `
[[default.automation]]
regex = "you said"
action = "Suspend"
duration = "1 hour"

[[default.automation]]
regex = "go-away"
action = "Suspend"
duration = "2 hours"
`))
	if _, errs := e.Process(context.Background(), at.Add(time.Second), []*logrecord.Record{
		record(t, map[string]any{"event_time": eventTime(at)}),
	}); len(errs) != 0 {
		t.Fatal(errs)
	}
	now := at.Add(5 * time.Second)
	s := e.Snapshot(now)
	if len(s.Ready) != 2 {
		t.Fatalf("%d ready-q suspensions, want 2", len(s.Ready))
	}
	short := StateEntry{Ready: &s.Ready[0].Entry} // earlier expiry first
	key, _ := short.Key()
	c, err := e.Cancel(key, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 2 {
		t.Fatalf("%d events, want the cancellation and the re-assertion", len(c.Events))
	}
	if got := c.Events[0].ReadyQ; !got.Expires.Equal(now) || got.RuleHash != got.SiteName+"-"+s.Ready[0].Entry.RuleHash {
		t.Errorf("cancellation %s", c.Events[0].JSON())
	}
	if got := c.Events[1].ReadyQ; !got.Expires.Equal(s.Ready[1].Entry.Expires) || strings.HasPrefix(got.Reason, CancelReasonPrefix) {
		t.Errorf("re-assertion %s", c.Events[1].JSON())
	}
}
