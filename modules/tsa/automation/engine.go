package automation

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// thresholdSlack is how long threshold times are kept beyond the window.
const thresholdSlack = 300

// ReadyQSuspension suspends a ready queue (an egress path).
type ReadyQSuspension struct {
	// RuleHash is the bare action hash (64 hex); events carry
	// "<site>-<hex>" instead (see Event).
	RuleHash string
	SiteName string // the record's site, verbatim
	Reason   string
	Source   string
	Expires  time.Time
}

// SchedQSuspension suspends scheduled queues of a tenant (and campaign).
type SchedQSuspension struct {
	RuleHash string // "<site>-<hex>"
	Tenant   string
	Domain   string
	Campaign *string
	Reason   string
	Expires  time.Time
}

// SchedQBounce bounces messages of scheduled queues.
type SchedQBounce struct {
	RuleHash string // "<site>-<hex>"
	Domain   string
	Tenant   *string
	Campaign *string
	Reason   string
	Expires  time.Time
}

// ConfigOverride is a SetConfig/SetDomainConfig result: an egress path
// option for (domain, source), served in the generated shaping.toml.
type ConfigOverride struct {
	RuleHash string // "<site>-<hex>"
	Site     string // the record's site (part of the key)
	Domain   string // the recipient domain
	MxRollup bool
	Source   string
	Name     string
	Value    any
	Reason   string
	Expires  time.Time
}

// EventKind tells which entry an Event carries.
type EventKind int

const (
	ReadyQEvent EventKind = iota
	SchedQEvent
	BounceEvent
)

// Event is what a subscriber receives: exactly one of the pointers is set.
type Event struct {
	Kind   EventKind
	ReadyQ *ReadyQSuspension
	SchedQ *SchedQSuspension
	Bounce *SchedQBounce
}

type siteKey struct {
	hash [32]byte
	site string
}

type schedKey struct {
	hash                   [32]byte
	site, domain           string
	tenant, campaign       string
	hasTenant, hasCampaign bool
}

type counter struct {
	durationSecs int64
	times        []int64 // sorted unix seconds
}

type readyEntry struct {
	ReadyQSuspension
	rule *RuleInfo
}
type schedEntry struct {
	SchedQSuspension
	rule *RuleInfo
}
type bounceEntry struct {
	SchedQBounce
	rule *RuleInfo
}
type configEntry struct {
	ConfigOverride
	rule *RuleInfo
}

// Engine evaluates log records against the current rule set and keeps
// the automation state. See the package documentation for concurrency.
type Engine struct {
	rules atomic.Pointer[Rules]
	mx    shaping.MXLookup

	mu       sync.Mutex
	ready    map[siteKey]*readyEntry
	sched    map[schedKey]*schedEntry
	bounces  map[schedKey]*bounceEntry
	config   map[siteKey]*configEntry
	counters map[siteKey]*counter

	journal Journal   // nil: nothing persisted
	dirty   *dirtySet // what changed since the last commit; nil without a journal

	stats ruleStats // per-rule matches and actions fired (stats.go)
}

// New returns an engine using rules (nil: no rules yet) and mx for
// providers matched by MX hosts (nil: such providers never match).
func New(rules *Rules, mx shaping.MXLookup) *Engine {
	e := &Engine{
		mx:       mx,
		ready:    map[siteKey]*readyEntry{},
		sched:    map[schedKey]*schedEntry{},
		bounces:  map[schedKey]*bounceEntry{},
		config:   map[siteKey]*configEntry{},
		counters: map[siteKey]*counter{},
	}
	if rules == nil {
		rules = &Rules{}
	}
	e.rules.Store(rules)
	return e
}

// SetRules installs a new rule set; batches already running finish with
// the one they started with.
func (e *Engine) SetRules(r *Rules) {
	if r == nil {
		r = &Rules{}
	}
	e.rules.Store(r)
}

// Rules returns the current rule set.
func (e *Engine) Rules() *Rules { return e.rules.Load() }

// RecordError is a record that could not be processed (a bad recipient);
// the daemon logs it as "error processing record: ...".
type RecordError struct {
	ID  string
	Err error
}

func (e *RecordError) Error() string { return fmt.Sprintf("record %s: %v", e.ID, e.Err) }
func (e *RecordError) Unwrap() error { return e.Err }

// matched is one record's work: its matching rules and the domains of its
// recipients.
type matched struct {
	rec     *logrecord.Record
	t       time.Time
	source  string
	rules   []*rule
	domains []string
}

// Process evaluates a batch of records at time now: for each recipient
// (Postmaster skipped) and each matching rule that is not stale, the
// trigger is counted and, when it fires, every action is applied. It
// returns the subscriber events of the batch, in order, and the problems
// met (bad recipients, tenant actions on queues without a tenant); a
// problem with one record never stops the others. With a journal
// attached (SetJournal), the batch's entries are committed to it before
// the lock is released; a failed commit is a *PersistError among the
// errors.
func (e *Engine) Process(ctx context.Context, now time.Time, recs []*logrecord.Record) ([]Event, []error) {
	rules := e.rules.Load()
	var errs []error
	work := make([]matched, 0, len(recs))
	for _, rec := range recs {
		m, err := e.match(ctx, rules, rec)
		if err != nil {
			errs = append(errs, &RecordError{rec.ID, err})
		}
		if len(m.rules) > 0 && len(m.domains) > 0 {
			work = append(work, m)
		}
	}
	if len(work) == 0 {
		return nil, errs
	}
	var events []Event
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, m := range work {
		for _, dom := range m.domains {
			for _, r := range m.rules {
				expires := m.t.Add(r.r.Duration)
				if !expires.After(now) {
					continue // stale: not counted, no action
				}
				if r.limit > 0 && e.count(r, m, now) < r.limit {
					continue
				}
				for i, a := range r.r.Actions {
					ev, err := e.apply(r, i, a, m, dom, expires)
					if err != nil {
						errs = append(errs, &RecordError{m.rec.ID, err})
					} else {
						e.stats.fired(r, i)
					}
					if ev != nil {
						events = append(events, *ev)
					}
				}
			}
		}
	}
	if err := e.commitLocked(false); err != nil {
		errs = append(errs, err)
	}
	return events, errs
}

// match finds a record's candidate rules (from its first recipient) that
// match its response, and the domains of the recipients to apply them to.
// A bad recipient ends the list there (the earlier ones still apply).
func (e *Engine) match(ctx context.Context, rules *Rules, rec *logrecord.Record) (matched, error) {
	m := matched{rec: rec, t: rec.Time(), source: sourceOf(rec)}
	if len(rec.Recipients) == 0 {
		return m, nil
	}
	first, err := recipientDomain(rec.Recipients[0])
	if err != nil {
		return m, err
	}
	if first == "" { // Postmaster first: no rule applies to the record
		return m, nil
	}
	line, internal := matchText(rec), isInternal(rec)
	for _, r := range rules.candidates(ctx, first, shaping.SiteFromQueue(rec.Site, m.source), e.mx) {
		if r.r.Applies(line, internal) {
			e.stats.matched(r)
			m.rules = append(m.rules, r)
		}
	}
	if len(m.rules) == 0 {
		return m, nil
	}
	for _, rcpt := range rec.Recipients {
		d, err := recipientDomain(rcpt)
		if err != nil {
			return m, err
		}
		if d != "" {
			m.domains = append(m.domains, d)
		}
	}
	return m, nil
}

// count records the event for (rule, site) and returns how many events
// fall in the window [now - duration, ...]. The window is the rule's
// duration, not the Threshold period; times are whole seconds and are
// kept 300 s beyond the window.
func (e *Engine) count(r *rule, m matched, now time.Time) uint64 {
	k := siteKey{r.hash, m.rec.Site}
	c := e.counters[k]
	dur := int64(r.r.Duration / time.Second)
	if c == nil {
		c = &counter{}
		e.counters[k] = c
	}
	e.markCounter(k)
	c.durationSecs = dur
	t := m.t.Unix()
	i := sort.Search(len(c.times), func(i int) bool { return c.times[i] > t })
	c.times = append(c.times, 0)
	copy(c.times[i+1:], c.times[i:])
	c.times[i] = t
	thresh := now.Unix() - dur
	drop := sort.Search(len(c.times), func(i int) bool { return c.times[i] > thresh-thresholdSlack })
	c.times = c.times[drop:]
	// Only "are there limit times in the window" matters, and the window
	// only moves forward: the limit most recent times decide it exactly
	// as all of them would. Keeping no more bounds a counter's memory under
	// sustained matching (a busy rule with a long duration would otherwise
	// keep one time per matching record).
	if limit := int(r.limit); limit > 0 && len(c.times) > limit {
		n := copy(c.times, c.times[len(c.times)-limit:])
		c.times = c.times[:n]
	}
	from := sort.Search(len(c.times), func(i int) bool { return c.times[i] >= thresh })
	return uint64(len(c.times) - from)
}

func (e *Engine) apply(r *rule, i int, a shaping.Action, m matched, dom string, expires time.Time) (*Event, error) {
	hash := r.actions[i]
	hexHash := hex.EncodeToString(hash[:])
	site := m.rec.Site
	siteHash := site + "-" + hexHash
	reason := "automation rule: " + r.regexes
	switch a.Kind {
	case shaping.Suspend:
		ent := &readyEntry{ReadyQSuspension{RuleHash: hexHash, SiteName: site, Reason: reason, Source: m.source, Expires: expires}, r.info}
		e.ready[siteKey{hash, site}] = ent
		e.markReady(siteKey{hash, site})
		ev := ent.ReadyQSuspension
		ev.RuleHash = siteHash
		return &Event{Kind: ReadyQEvent, ReadyQ: &ev}, nil
	case shaping.SetConfig, shaping.SetDomainConfig:
		e.config[siteKey{hash, site}] = &configEntry{ConfigOverride{
			RuleHash: siteHash, Site: site, Domain: dom, MxRollup: a.Kind == shaping.SetConfig && r.rollup,
			Source: m.source, Name: a.Name, Value: a.Value, Reason: reason, Expires: expires,
		}, r.info}
		e.markConfig(siteKey{hash, site})
		return nil, nil
	}
	q := parseQueue(m.rec.Queue)
	needTenant := a.Kind != shaping.Bounce
	if needTenant && !q.hasTenant {
		return nil, fmt.Errorf("Cannot create tenant based %s action because the incoming record queue %s has no tenant component", a.Kind, m.rec.Queue)
	}
	k := schedKey{hash: hash, site: site, domain: q.domain, tenant: q.tenant, hasTenant: q.hasTenant}
	var campaign *string
	if (a.Kind == shaping.SuspendCampaign || a.Kind == shaping.BounceCampaign) && q.hasCampaign {
		c := q.campaign
		campaign = &c
		k.campaign, k.hasCampaign = c, true
	}
	switch a.Kind {
	case shaping.SuspendTenant, shaping.SuspendCampaign:
		reason += " tenant=" + q.tenant + " domain=" + q.domain
		if campaign != nil {
			reason += " campaign=" + *campaign
		}
		ent := &schedEntry{SchedQSuspension{RuleHash: siteHash, Tenant: q.tenant, Domain: q.domain, Campaign: campaign, Reason: reason, Expires: expires}, r.info}
		e.sched[k] = ent
		e.markSched(k)
		ev := ent.SchedQSuspension
		return &Event{Kind: SchedQEvent, SchedQ: &ev}, nil
	case shaping.Bounce, shaping.BounceTenant, shaping.BounceCampaign:
		reason += " domain=" + q.domain
		var tenant *string
		if q.hasTenant {
			t := q.tenant
			tenant = &t
			reason += " tenant=" + t
		}
		if campaign != nil {
			reason += " campaign=" + *campaign
		}
		ent := &bounceEntry{SchedQBounce{RuleHash: siteHash, Domain: q.domain, Tenant: tenant, Campaign: campaign, Reason: reason, Expires: expires}, r.info}
		e.bounces[k] = ent
		e.markBounce(k)
		ev := ent.SchedQBounce
		return &Event{Kind: BounceEvent, Bounce: &ev}, nil
	}
	return nil, fmt.Errorf("unknown action %q", a.Kind)
}

// PruneStats counts what Prune removed.
type PruneStats struct {
	Ready, Sched, Bounces, Config, Counters int
}

// Prune removes entries with expires <= now and threshold counters whose
// newest time is older than now - duration - 300 s.
func (e *Engine) Prune(now time.Time) PruneStats {
	var st PruneStats
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range e.ready {
		if !v.Expires.After(now) {
			delete(e.ready, k)
			e.markReady(k)
			st.Ready++
		}
	}
	for k, v := range e.sched {
		if !v.Expires.After(now) {
			delete(e.sched, k)
			e.markSched(k)
			st.Sched++
		}
	}
	for k, v := range e.bounces {
		if !v.Expires.After(now) {
			delete(e.bounces, k)
			e.markBounce(k)
			st.Bounces++
		}
	}
	for k, v := range e.config {
		if !v.Expires.After(now) {
			delete(e.config, k)
			e.markConfig(k)
			st.Config++
		}
	}
	for k, c := range e.counters {
		if len(c.times) == 0 || c.times[len(c.times)-1] < now.Unix()-c.durationSecs-thresholdSlack {
			delete(e.counters, k)
			e.markCounter(k)
			st.Counters++
		}
	}
	return st
}
