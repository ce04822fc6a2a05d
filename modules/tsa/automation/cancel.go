package automation

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Cancelling: an operator removes one active entry before it expires.
//
// The entry is named by its state key (StateEntry.Key, the "key" of the
// admin listing): a JSON array whose first element is the kind,
//
//	["ready","<64 hex>","<site>"]
//	["override","<64 hex>","<site>"]
//	["sched","<64 hex>","<site>","<domain>","<tenant>",<campaign or null>]
//	["bounce","<64 hex>","<site>","<domain>",<tenant or null>,<campaign or null>]
//
// kumod has no removal event, but its admin suspend, suspend_ready_q and
// bounce calls replace an entry with the same key (ready-q: the queue
// name; scheduled: campaign, tenant and domain), and an entry whose
// expiry has passed is inactive. So a cancelled suspension or bounce is
// announced as the same event with expires set to the time of the
// cancel: kumod replaces its live entry with an expired one. Because
// kumod keys more coarsely than the daemon (one kumod entry per queue
// name, whatever rule produced it), the events then re-assert the
// longest-lived entry still active under the same kumod key, if any.
// Overrides have no event (KumoMTA sends none for SetConfig either):
// kumod drops them when it next polls shaping.toml.

// CancelReasonPrefix starts the reason of a cancellation event.
const CancelReasonPrefix = "cancelled by operator: "

// ErrNoSuchEntry is the error of a Cancel whose key names no active entry.
var ErrNoSuchEntry = errors.New("no active entry with this key")

// KeyError is a cancel key that cannot name an entry.
type KeyError struct {
	Key string
	Msg string
}

func (e *KeyError) Error() string { return fmt.Sprintf("bad entry key %s: %s", e.Key, e.Msg) }

// Cancelled is what Cancel removed, and the events that tell subscribers.
type Cancelled struct {
	Entry  StateEntry
	Events []Event
}

// Cancel removes the active entry named by key (see above) at now. With a
// journal attached, the removal is committed before Cancel returns and
// before the lock is released; when that commit fails the entry is put
// back and the *PersistError returned, so memory and disk agree. A key
// that does not parse gives a *KeyError; one that names no entry active
// at now gives an error wrapping ErrNoSuchEntry.
func (e *Engine) Cancel(key string, now time.Time) (Cancelled, error) {
	ks, err := parseEntryKey(key)
	if err != nil {
		return Cancelled{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var c Cancelled
	var restore func()
	switch ks.kind {
	case KindReady:
		k := siteKey{ks.hash, ks.site}
		v := e.ready[k]
		if v == nil || !v.Expires.After(now) {
			break
		}
		delete(e.ready, k)
		e.markReady(k)
		restore = func() { e.ready[k] = v }
		r := v.ReadyQSuspension
		c.Entry = StateEntry{Ready: &r, Rule: *v.rule}
		ev := r
		ev.RuleHash = r.SiteName + "-" + r.RuleHash // live events carry the site
		ev.Reason, ev.Expires = CancelReasonPrefix+r.Reason, now
		c.Events = append(c.Events, Event{Kind: ReadyQEvent, ReadyQ: &ev})
		var best *readyEntry
		for _, o := range e.ready {
			if o.SiteName == r.SiteName && o.Expires.After(now) && (best == nil || o.Expires.After(best.Expires)) {
				best = o
			}
		}
		if best != nil {
			ev := best.ReadyQSuspension
			ev.RuleHash = ev.SiteName + "-" + ev.RuleHash
			c.Events = append(c.Events, Event{Kind: ReadyQEvent, ReadyQ: &ev})
		}
	case KindOverride:
		k := siteKey{ks.hash, ks.site}
		v := e.config[k]
		if v == nil || !v.Expires.After(now) {
			break
		}
		delete(e.config, k)
		e.markConfig(k)
		restore = func() { e.config[k] = v }
		r := v.ConfigOverride
		c.Entry = StateEntry{Override: &r, Rule: *v.rule}
	case KindSched:
		k := ks.sched
		v := e.sched[k]
		if v == nil || !v.Expires.After(now) {
			break
		}
		delete(e.sched, k)
		e.markSched(k)
		restore = func() { e.sched[k] = v }
		r := v.SchedQSuspension
		c.Entry = StateEntry{Sched: &r, Rule: *v.rule}
		ev := r
		ev.Reason, ev.Expires = CancelReasonPrefix+r.Reason, now
		c.Events = append(c.Events, Event{Kind: SchedQEvent, SchedQ: &ev})
		var best *schedEntry
		for _, o := range e.sched {
			if o.Tenant == r.Tenant && o.Domain == r.Domain && cmpOpt(o.Campaign, r.Campaign) == 0 &&
				o.Expires.After(now) && (best == nil || o.Expires.After(best.Expires)) {
				best = o
			}
		}
		if best != nil {
			ev := best.SchedQSuspension
			c.Events = append(c.Events, Event{Kind: SchedQEvent, SchedQ: &ev})
		}
	case KindBounce:
		k := ks.sched
		v := e.bounces[k]
		if v == nil || !v.Expires.After(now) {
			break
		}
		delete(e.bounces, k)
		e.markBounce(k)
		restore = func() { e.bounces[k] = v }
		r := v.SchedQBounce
		c.Entry = StateEntry{Bounce: &r, Rule: *v.rule}
		ev := r
		ev.Reason, ev.Expires = CancelReasonPrefix+r.Reason, now
		c.Events = append(c.Events, Event{Kind: BounceEvent, Bounce: &ev})
		var best *bounceEntry
		for _, o := range e.bounces {
			if cmpOpt(o.Tenant, r.Tenant) == 0 && o.Domain == r.Domain && cmpOpt(o.Campaign, r.Campaign) == 0 &&
				o.Expires.After(now) && (best == nil || o.Expires.After(best.Expires)) {
				best = o
			}
		}
		if best != nil {
			ev := best.SchedQBounce
			c.Events = append(c.Events, Event{Kind: BounceEvent, Bounce: &ev})
		}
	}
	if restore == nil {
		return Cancelled{}, fmt.Errorf("%s: %w", key, ErrNoSuchEntry)
	}
	if err := e.commitLocked(false); err != nil {
		restore() // still marked: the next commit writes it again, unchanged
		return Cancelled{}, err
	}
	return c, nil
}

type parsedKey struct {
	kind  string
	hash  [32]byte
	site  string
	sched schedKey
}

// parseEntryKey reads a key in the form StateEntry.Key writes.
func parseEntryKey(key string) (parsedKey, error) {
	var parts []*string
	bad := func(format string, a ...any) (parsedKey, error) {
		return parsedKey{}, &KeyError{Key: key, Msg: fmt.Sprintf(format, a...)}
	}
	if err := json.Unmarshal([]byte(key), &parts); err != nil {
		return bad(`not a JSON array of strings and nulls such as ["ready","<rule hash>","<site>"]`)
	}
	if len(parts) == 0 || parts[0] == nil {
		return bad("the first element must be the kind (ready, sched, bounce or override)")
	}
	var k parsedKey
	k.kind = *parts[0]
	want := 0
	switch k.kind {
	case KindReady, KindOverride:
		want = 3
	case KindSched, KindBounce:
		want = 6
	default:
		return bad("unknown kind %q (want ready, sched, bounce or override)", k.kind)
	}
	if len(parts) != want {
		return bad("a %s key has %d elements, not %d", k.kind, want, len(parts))
	}
	for i := 1; i < 4 && i < want; i++ {
		if parts[i] == nil {
			return bad("element %d must be a string", i)
		}
	}
	h, err := parseHash(*parts[1])
	if err != nil {
		return bad("%v", err)
	}
	k.hash, k.site = h, *parts[2]
	if want == 6 {
		k.sched = schedKey{hash: h, site: k.site, domain: *parts[3]}
		if parts[4] != nil {
			k.sched.tenant, k.sched.hasTenant = *parts[4], true
		} else if k.kind == KindSched {
			return bad("a sched key needs a tenant")
		}
		if parts[5] != nil {
			k.sched.campaign, k.sched.hasCampaign = *parts[5], true
		}
	}
	if got := hex.EncodeToString(h[:]); got != *parts[1] {
		return bad("the rule hash must be lowercase hex")
	}
	return k, nil
}
