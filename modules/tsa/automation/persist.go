package automation

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Persistence: the engine itself does no I/O. It exports its state as
// plain values (Export), restores it (Import), and, once a Journal is
// attached (SetJournal), remembers which entries each mutation touched so
// the journal can make exactly those durable:
//
//   - Process commits the entries a batch changed (and any deletions still
//     pending) to the journal while it still holds the engine's lock, so
//     no reader (Snapshot, the renderers, the subscriber snapshot) sees an
//     entry, and Process returns no event for it, before the journal has
//     acknowledged it. Threshold counters are not committed per batch.
//   - Flush commits everything pending, threshold counters and the
//     deletions made by Prune included; the store calls it periodically.
//
// A failed commit keeps the changes pending, so the next commit retries
// them; Process reports it as a *PersistError among its errors and the
// batch's effects stay in memory (the daemon keeps serving them).
//
// Any new mutation of the state maps must mark what it touched (the
// mark* helpers) or a restart will not see it.

// Entry kinds of a StateEntry.
const (
	KindReady    = "ready"
	KindSched    = "sched"
	KindBounce   = "bounce"
	KindOverride = "override"
)

// StateEntry is one state entry in plain form with the rule that produced
// it: exactly one of the four pointers is set. Entries keep their own
// rule information, so they survive a change of the rules.
type StateEntry struct {
	Ready    *ReadyQSuspension
	Sched    *SchedQSuspension
	Bounce   *SchedQBounce
	Override *ConfigOverride
	Rule     RuleInfo
}

// Kind names the map the entry belongs to (KindReady, ...), "" when no
// pointer is set.
func (s StateEntry) Kind() string {
	switch {
	case s.Ready != nil:
		return KindReady
	case s.Sched != nil:
		return KindSched
	case s.Bounce != nil:
		return KindBounce
	case s.Override != nil:
		return KindOverride
	}
	return ""
}

// Expires is the entry's expiry (zero when no pointer is set).
func (s StateEntry) Expires() time.Time {
	switch {
	case s.Ready != nil:
		return s.Ready.Expires
	case s.Sched != nil:
		return s.Sched.Expires
	case s.Bounce != nil:
		return s.Bounce.Expires
	case s.Override != nil:
		return s.Override.Expires
	}
	return time.Time{}
}

// Key is the entry's identity: two entries with the same key replace each
// other in the engine. It is printable and stable across versions.
func (s StateEntry) Key() (string, error) {
	switch {
	case s.Ready != nil:
		k, err := readyKeyOf(s.Ready)
		return readyKeyString(k), err
	case s.Sched != nil:
		k, err := schedKeyOf(s.Sched)
		return schedKeyString(KindSched, k), err
	case s.Bounce != nil:
		k, err := bounceKeyOf(s.Bounce)
		return schedKeyString(KindBounce, k), err
	case s.Override != nil:
		k, err := overrideKeyOf(s.Override)
		return siteKeyString(KindOverride, k), err
	}
	return "", fmt.Errorf("state entry has no ready, sched, bounce or override part")
}

// CounterState is one threshold counter: the event times (unix seconds,
// sorted) of a rule at a site.
type CounterState struct {
	RuleHash     string // the rule hash, 64 hex
	Site         string
	DurationSecs int64
	Times        []int64
}

// Key is the counter's identity.
func (c CounterState) Key() (string, error) {
	h, err := parseHash(c.RuleHash)
	return siteKeyString("counter", siteKey{h, c.Site}), err
}

// State is everything the engine keeps, in plain form.
type State struct {
	Entries  []StateEntry
	Counters []CounterState
}

// Changes is what a Journal must make durable: entries and counters to
// write (replacing any with the same key) and keys to delete.
type Changes struct {
	Put            []StateEntry
	Delete         []string // StateEntry keys
	Counters       []CounterState
	DeleteCounters []string // CounterState keys
}

// Empty reports whether there is nothing to write.
func (c *Changes) Empty() bool {
	return len(c.Put) == 0 && len(c.Delete) == 0 && len(c.Counters) == 0 && len(c.DeleteCounters) == 0
}

// Journal makes state changes durable. Commit is called with the engine's
// lock held: it must not call back into the engine, and it must return
// only once the changes would survive a crash.
type Journal interface {
	Commit(Changes) error
}

// PersistError is a failed journal commit; the changes stay pending.
type PersistError struct{ Err error }

func (e *PersistError) Error() string { return "persisting automation state: " + e.Err.Error() }
func (e *PersistError) Unwrap() error { return e.Err }

type dirtySet struct {
	ready, config, counters map[siteKey]struct{}
	sched, bounces          map[schedKey]struct{}
}

func newDirty() *dirtySet {
	return &dirtySet{
		ready: map[siteKey]struct{}{}, config: map[siteKey]struct{}{}, counters: map[siteKey]struct{}{},
		sched: map[schedKey]struct{}{}, bounces: map[schedKey]struct{}{},
	}
}

func (d *dirtySet) entries() int { return len(d.ready) + len(d.config) + len(d.sched) + len(d.bounces) }

// SetJournal attaches j (nil detaches): from now on every change is
// committed to it as described in the package's persistence notes. Attach
// it after Import, before the first Process.
func (e *Engine) SetJournal(j Journal) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.journal = j
	if j == nil {
		e.dirty = nil
	} else if e.dirty == nil {
		e.dirty = newDirty()
	}
}

func (e *Engine) markReady(k siteKey) {
	if e.dirty != nil {
		e.dirty.ready[k] = struct{}{}
	}
}
func (e *Engine) markConfig(k siteKey) {
	if e.dirty != nil {
		e.dirty.config[k] = struct{}{}
	}
}
func (e *Engine) markCounter(k siteKey) {
	if e.dirty != nil {
		e.dirty.counters[k] = struct{}{}
	}
}
func (e *Engine) markSched(k schedKey) {
	if e.dirty != nil {
		e.dirty.sched[k] = struct{}{}
	}
}
func (e *Engine) markBounce(k schedKey) {
	if e.dirty != nil {
		e.dirty.bounces[k] = struct{}{}
	}
}

// commitLocked sends the pending changes (counters too when withCounters)
// to the journal and forgets them once it acknowledged. e.mu is held.
func (e *Engine) commitLocked(withCounters bool) error {
	d := e.dirty
	if e.journal == nil || d == nil {
		return nil
	}
	if d.entries() == 0 && (!withCounters || len(d.counters) == 0) {
		return nil
	}
	var ch Changes
	for k := range d.ready {
		if v := e.ready[k]; v != nil {
			r := v.ReadyQSuspension
			ch.Put = append(ch.Put, StateEntry{Ready: &r, Rule: *v.rule})
		} else {
			ch.Delete = append(ch.Delete, readyKeyString(k))
		}
	}
	for k := range d.sched {
		if v := e.sched[k]; v != nil {
			r := v.SchedQSuspension
			ch.Put = append(ch.Put, StateEntry{Sched: &r, Rule: *v.rule})
		} else {
			ch.Delete = append(ch.Delete, schedKeyString(KindSched, k))
		}
	}
	for k := range d.bounces {
		if v := e.bounces[k]; v != nil {
			r := v.SchedQBounce
			ch.Put = append(ch.Put, StateEntry{Bounce: &r, Rule: *v.rule})
		} else {
			ch.Delete = append(ch.Delete, schedKeyString(KindBounce, k))
		}
	}
	for k := range d.config {
		if v := e.config[k]; v != nil {
			r := v.ConfigOverride
			ch.Put = append(ch.Put, StateEntry{Override: &r, Rule: *v.rule})
		} else {
			ch.Delete = append(ch.Delete, siteKeyString(KindOverride, k))
		}
	}
	if withCounters {
		for k := range d.counters {
			if c := e.counters[k]; c != nil {
				ch.Counters = append(ch.Counters, counterState(k, c))
			} else {
				ch.DeleteCounters = append(ch.DeleteCounters, siteKeyString("counter", k))
			}
		}
	}
	if err := e.journal.Commit(ch); err != nil {
		return &PersistError{err}
	}
	clear(d.ready)
	clear(d.sched)
	clear(d.bounces)
	clear(d.config)
	if withCounters {
		clear(d.counters)
	}
	return nil
}

// Flush commits every pending change, threshold counters and deletions
// included, to the journal (nothing to do without one).
func (e *Engine) Flush() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.commitLocked(true)
}

func counterState(k siteKey, c *counter) CounterState {
	return CounterState{RuleHash: hex.EncodeToString(k.hash[:]), Site: k.site, DurationSecs: c.durationSecs, Times: append([]int64(nil), c.times...)}
}

// Export copies the whole state, expired entries included (the caller
// decides; Import drops them).
func (e *Engine) Export() State {
	var s State
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.ready {
		r := v.ReadyQSuspension
		s.Entries = append(s.Entries, StateEntry{Ready: &r, Rule: *v.rule})
	}
	for _, v := range e.sched {
		r := v.SchedQSuspension
		s.Entries = append(s.Entries, StateEntry{Sched: &r, Rule: *v.rule})
	}
	for _, v := range e.bounces {
		r := v.SchedQBounce
		s.Entries = append(s.Entries, StateEntry{Bounce: &r, Rule: *v.rule})
	}
	for _, v := range e.config {
		r := v.ConfigOverride
		s.Entries = append(s.Entries, StateEntry{Override: &r, Rule: *v.rule})
	}
	for k, c := range e.counters {
		s.Counters = append(s.Counters, counterState(k, c))
	}
	return s
}

// ImportStats counts what Import restored and skipped.
type ImportStats struct {
	Entries, Counters int
	// Expired counts entries with expires <= now and counters older than
	// their window plus 300 s: skipped, as the pruner would remove them.
	Expired int
}

// Import adds s to the engine's state at now, replacing entries with the
// same key; expired entries and stale counters are skipped. An entry that
// cannot be keyed (a malformed rule hash) is skipped and reported; the
// others are still imported. Imported entries are not sent to the journal
// (they came from it).
func (e *Engine) Import(s State, now time.Time) (ImportStats, []error) {
	var st ImportStats
	var errs []error
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ent := range s.Entries {
		if ent.Kind() == "" {
			errs = append(errs, fmt.Errorf("state entry has no ready, sched, bounce or override part"))
			continue
		}
		if !ent.Expires().After(now) {
			st.Expired++
			continue
		}
		rule := ent.Rule
		rule.Regex = append([]string(nil), rule.Regex...)
		rule.Actions = append([]string(nil), rule.Actions...)
		var err error
		switch {
		case ent.Ready != nil:
			var k siteKey
			if k, err = readyKeyOf(ent.Ready); err == nil {
				e.ready[k] = &readyEntry{*ent.Ready, &rule}
			}
		case ent.Sched != nil:
			var k schedKey
			if k, err = schedKeyOf(ent.Sched); err == nil {
				v := *ent.Sched
				v.Campaign = clonePtr(v.Campaign)
				e.sched[k] = &schedEntry{v, &rule}
			}
		case ent.Bounce != nil:
			var k schedKey
			if k, err = bounceKeyOf(ent.Bounce); err == nil {
				v := *ent.Bounce
				v.Tenant, v.Campaign = clonePtr(v.Tenant), clonePtr(v.Campaign)
				e.bounces[k] = &bounceEntry{v, &rule}
			}
		case ent.Override != nil:
			var k siteKey
			if k, err = overrideKeyOf(ent.Override); err == nil {
				e.config[k] = &configEntry{*ent.Override, &rule}
			}
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		st.Entries++
	}
	for _, c := range s.Counters {
		h, err := parseHash(c.RuleHash)
		if err != nil {
			errs = append(errs, fmt.Errorf("threshold counter for site %q: %w", c.Site, err))
			continue
		}
		if len(c.Times) == 0 || c.Times[len(c.Times)-1] < now.Unix()-c.DurationSecs-thresholdSlack {
			st.Expired++
			continue
		}
		e.counters[siteKey{h, c.Site}] = &counter{durationSecs: c.DurationSecs, times: append([]int64(nil), c.Times...)}
		st.Counters++
	}
	return st, errs
}

func clonePtr(p *string) *string {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// Keys. The engine's map keys are recovered from the entries themselves:
// ready-q suspensions carry the bare hex hash and their site; the others
// carry "<site>-<hex>" (the hex part is always 64 characters, so the site
// is what precedes it, dashes and all).

func parseHash(s string) ([32]byte, error) {
	var h [32]byte
	if len(s) != 64 {
		return h, fmt.Errorf("rule hash %q is not 64 hex digits", s)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("rule hash %q is not 64 hex digits", s)
	}
	return h, nil
}

func splitSiteHash(s string) (string, [32]byte, error) {
	if len(s) < 65 || s[len(s)-65] != '-' {
		return "", [32]byte{}, fmt.Errorf("rule hash %q is not <site>-<64 hex digits>", s)
	}
	h, err := parseHash(s[len(s)-64:])
	return s[:len(s)-65], h, err
}

func readyKeyOf(r *ReadyQSuspension) (siteKey, error) {
	h, err := parseHash(r.RuleHash)
	return siteKey{h, r.SiteName}, err
}

func overrideKeyOf(o *ConfigOverride) (siteKey, error) {
	site, h, err := splitSiteHash(o.RuleHash)
	if err == nil && site != o.Site {
		err = fmt.Errorf("rule hash %q does not name the override's site %q", o.RuleHash, o.Site)
	}
	return siteKey{h, o.Site}, err
}

func schedKeyOf(s *SchedQSuspension) (schedKey, error) {
	site, h, err := splitSiteHash(s.RuleHash)
	k := schedKey{hash: h, site: site, domain: s.Domain, tenant: s.Tenant, hasTenant: true}
	if s.Campaign != nil {
		k.campaign, k.hasCampaign = *s.Campaign, true
	}
	return k, err
}

func bounceKeyOf(b *SchedQBounce) (schedKey, error) {
	site, h, err := splitSiteHash(b.RuleHash)
	k := schedKey{hash: h, site: site, domain: b.Domain}
	if b.Tenant != nil {
		k.tenant, k.hasTenant = *b.Tenant, true
	}
	if b.Campaign != nil {
		k.campaign, k.hasCampaign = *b.Campaign, true
	}
	return k, err
}

// Key strings are JSON arrays: printable (error messages name them) and
// unambiguous whatever the strings hold.
func keyString(parts ...any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "->" of site names readable
	_ = enc.Encode(parts)    // strings and nil only: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

func readyKeyString(k siteKey) string { return siteKeyString(KindReady, k) }

func siteKeyString(kind string, k siteKey) string {
	return keyString(kind, hex.EncodeToString(k.hash[:]), k.site)
}

func schedKeyString(kind string, k schedKey) string {
	var tenant, campaign any
	if k.hasTenant {
		tenant = k.tenant
	}
	if k.hasCampaign {
		campaign = k.campaign
	}
	return keyString(kind, hex.EncodeToString(k.hash[:]), k.site, k.domain, tenant, campaign)
}
