// Package admin is the registry behind kumo.api.admin.* and the admin
// HTTP routes, free of Lua: ready-queue suspensions, scheduled-queue
// suspensions and admin bounces, each an expiring table of entries.
//
// A policy host has no queues, so the registry only keeps the entries:
// a Go program embedding kumopolicy (the mail engine) lists them, or
// watches them change with Watch, and acts on them.
//
// Semantics, as KumoMTA's: every create returns a new UUID, also when it
// replaces an entry with the same key (the name of a ready-queue
// suspension; campaign, tenant and domain of a suspension or bounce);
// expires (RFC 3339) wins over duration, which defaults to 5 minutes; an
// expires in the past still inserts (and replaces) but the entry is
// inactive at once and absent from the lists; expired entries are removed
// lazily, when the registry is next used. Suspend requests ignore unknown
// fields; bounce requests refuse them.
package admin

import (
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// DefaultDuration is how long an entry lasts when neither duration nor
// expires is given.
const DefaultDuration = 300 * time.Second

// Kind names one of the registry's tables.
type Kind string

const (
	ReadyQ  Kind = "suspend-ready-q"
	Suspend Kind = "suspend"
	Bounce  Kind = "bounce"
)

// ReadyQSuspension suspends one ready queue (kumo.api.admin.suspend_ready_q).
type ReadyQSuspension struct {
	ID      string
	Name    string // the full ready-queue name, e.g. "unspecified->localhost@smtp_client"
	Reason  string
	Expires time.Time
}

// Suspension suspends scheduled queues matching its criteria
// (kumo.api.admin.suspend). A nil criterion matches anything.
type Suspension struct {
	ID                       string
	Campaign, Tenant, Domain *string
	Reason                   string
	QueueNames               []string
	Expires                  time.Time
}

// AdminBounce bounces messages matching its criteria
// (kumo.api.admin.bounce). A nil criterion matches anything.
type AdminBounce struct {
	ID                                      string
	Campaign, Tenant, Domain, RoutingDomain *string
	Reason                                  string
	SuppressLogging                         bool
	QueueNames                              []string
	Expires                                 time.Time
}

// Op is what happened to an entry.
type Op string

const (
	// Added: a new entry (it may have replaced one, reported as Removed
	// just before).
	Added Op = "added"
	// Removed: deleted, or replaced by an entry with the same key.
	// Entries reaching their expiry are not reported: their Expires says
	// when.
	Removed Op = "removed"
)

// Change is one change of the registry. Entry is a ReadyQSuspension,
// Suspension or AdminBounce (a copy).
type Change struct {
	Kind  Kind
	Op    Op
	ID    string
	Entry any
}

// Option configures a Registry.
type Option func(*Registry)

// WithClock sets the registry's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// Registry holds the entries. Safe for concurrent use.
type Registry struct {
	now func() time.Time

	mu       sync.Mutex
	readyQ   []*ReadyQSuspension
	suspends []*Suspension
	bounces  []*AdminBounce

	// Changes are numbered under mu (ticket) and their watchers called
	// in that order (serving), outside mu.
	ticket   uint64
	nmu      sync.Mutex
	turn     *sync.Cond
	serving  uint64
	wmu      sync.Mutex
	watchers map[int]func(Change)
	nextW    int
}

// New returns an empty registry.
func New(opts ...Option) *Registry {
	r := &Registry{now: time.Now, watchers: map[int]func(Change){}}
	r.turn = sync.NewCond(&r.nmu)
	for _, o := range opts {
		o(r)
	}
	return r
}

// Watch calls fn with every later change, in the order the changes were
// made, on the goroutine that made the change, after the registry's lock
// is released: fn may read the registry (list it) but must not change it.
// It returns a function that stops the calls.
func (r *Registry) Watch(fn func(Change)) (cancel func()) {
	r.wmu.Lock()
	id := r.nextW
	r.nextW++
	r.watchers[id] = fn
	r.wmu.Unlock()
	return func() {
		r.wmu.Lock()
		delete(r.watchers, id)
		r.wmu.Unlock()
	}
}

// notify calls the watchers with changes after those of every earlier
// change. The caller holds r.mu; notify releases it.
func (r *Registry) notify(changes []Change) {
	if len(changes) == 0 {
		r.mu.Unlock()
		return
	}
	t := r.ticket
	r.ticket++
	r.mu.Unlock()
	r.nmu.Lock()
	for r.serving != t {
		r.turn.Wait()
	}
	r.nmu.Unlock()
	defer func() {
		r.nmu.Lock()
		r.serving++
		r.turn.Broadcast()
		r.nmu.Unlock()
	}()
	r.wmu.Lock()
	fns := make([]func(Change), 0, len(r.watchers))
	ids := make([]int, 0, len(r.watchers))
	for id := range r.watchers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		fns = append(fns, r.watchers[id])
	}
	r.wmu.Unlock()
	for _, c := range changes {
		for _, fn := range fns {
			fn(c)
		}
	}
}

// newID returns a random (version 4) UUID.
func newID() string { return uuid.NewString() }

// expiry computes an entry's expiry: expires wins over duration.
func (r *Registry) expiry(duration *time.Duration, expires *time.Time) time.Time {
	if expires != nil {
		return *expires
	}
	d := DefaultDuration
	if duration != nil {
		d = *duration
	}
	return r.now().Add(d)
}

// entryPtr is a pointer to one of the registry's entry types: what the
// list helpers below need of it.
type entryPtr[T any] interface {
	*T
	entryID() string
	expiresAt() time.Time
}

func (e *ReadyQSuspension) entryID() string      { return e.ID }
func (e *ReadyQSuspension) expiresAt() time.Time { return e.Expires }
func (e *Suspension) entryID() string            { return e.ID }
func (e *Suspension) expiresAt() time.Time       { return e.Expires }
func (e *AdminBounce) entryID() string           { return e.ID }
func (e *AdminBounce) expiresAt() time.Time      { return e.Expires }

// prune drops expired entries (r.mu held).
func prune[T any, P entryPtr[T]](list []P, now time.Time) []P {
	return slices.DeleteFunc(list, func(e P) bool { return !now.Before(e.expiresAt()) })
}

func (r *Registry) pruneAll(now time.Time) {
	r.readyQ = prune(r.readyQ, now)
	r.suspends = prune(r.suspends, now)
	r.bounces = prune(r.bounces, now)
}

// replace appends e to list after removing the entries same matches
// (KumoMTA's replace-on-same-key), and returns the changes in order:
// the removals, then the addition.
func replace[T any, P entryPtr[T]](list []P, e P, kind Kind, same func(P) bool) ([]P, []Change) {
	var changes []Change
	list = slices.DeleteFunc(list, func(o P) bool {
		if same(o) {
			changes = append(changes, Change{Kind: kind, Op: Removed, ID: o.entryID(), Entry: *o})
			return true
		}
		return false
	})
	return append(list, e), append(changes, Change{Kind: kind, Op: Added, ID: e.entryID(), Entry: *e})
}

// removeID removes the entry id from list; the change is nil when there
// was none.
func removeID[T any, P entryPtr[T]](list []P, kind Kind, id string) ([]P, *Change) {
	var ch *Change
	list = slices.DeleteFunc(list, func(o P) bool {
		if o.entryID() == id {
			ch = &Change{Kind: kind, Op: Removed, ID: id, Entry: *o}
			return true
		}
		return false
	})
	return list, ch
}

// values copies the entries out of list.
func values[T any, P entryPtr[T]](list []P) []T {
	out := make([]T, len(list))
	for i, e := range list {
		out[i] = *e
	}
	return out
}

// SuspendReadyQ adds a ready-queue suspension, replacing the entry with
// the same name, and returns its new ID.
func (r *Registry) SuspendReadyQ(req ReadyQRequest) string {
	e := &ReadyQSuspension{ID: newID(), Name: req.Name, Reason: req.Reason, Expires: r.expiry(req.Duration, req.Expires)}
	r.mu.Lock()
	r.pruneAll(r.now())
	var changes []Change
	r.readyQ, changes = replace(r.readyQ, e, ReadyQ, func(o *ReadyQSuspension) bool { return o.Name == e.Name })
	r.notify(changes)
	return e.ID
}

func sameOpt(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Suspend adds a scheduled-queue suspension, replacing the entry with the
// same campaign, tenant and domain, and returns its new ID.
func (r *Registry) Suspend(req SuspendRequest) string {
	e := &Suspension{ID: newID(), Campaign: req.Campaign, Tenant: req.Tenant, Domain: req.Domain,
		Reason: req.Reason, QueueNames: slices.Clone(req.QueueNames), Expires: r.expiry(req.Duration, req.Expires)}
	r.mu.Lock()
	r.pruneAll(r.now())
	var changes []Change
	r.suspends, changes = replace(r.suspends, e, Suspend, func(o *Suspension) bool {
		return sameOpt(o.Campaign, e.Campaign) && sameOpt(o.Tenant, e.Tenant) && sameOpt(o.Domain, e.Domain)
	})
	r.notify(changes)
	return e.ID
}

// Bounce adds an admin bounce, replacing the entry with the same
// campaign, tenant and domain, and returns its new ID.
func (r *Registry) Bounce(req BounceRequest) string {
	e := &AdminBounce{ID: newID(), Campaign: req.Campaign, Tenant: req.Tenant, Domain: req.Domain,
		RoutingDomain: req.RoutingDomain, Reason: req.Reason, SuppressLogging: req.SuppressLogging,
		QueueNames: slices.Clone(req.QueueNames), Expires: r.expiry(req.Duration, req.Expires)}
	r.mu.Lock()
	r.pruneAll(r.now())
	var changes []Change
	r.bounces, changes = replace(r.bounces, e, Bounce, func(o *AdminBounce) bool {
		return sameOpt(o.Campaign, e.Campaign) && sameOpt(o.Tenant, e.Tenant) && sameOpt(o.Domain, e.Domain)
	})
	r.notify(changes)
	return e.ID
}

// ReadyQSuspensions returns the active ready-queue suspensions, oldest
// first, and the time they were taken at.
func (r *Registry) ReadyQSuspensions() ([]ReadyQSuspension, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.pruneAll(now)
	return values(r.readyQ), now
}

// Suspensions returns the active scheduled-queue suspensions, oldest
// first, and the time they were taken at.
func (r *Registry) Suspensions() ([]Suspension, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.pruneAll(now)
	return values(r.suspends), now
}

// Bounces returns the active admin bounces, oldest first, and the time
// they were taken at.
func (r *Registry) Bounces() ([]AdminBounce, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.pruneAll(now)
	return values(r.bounces), now
}

// Delete removes the active entry id of kind and reports whether there
// was one.
func (r *Registry) Delete(kind Kind, id string) bool {
	r.mu.Lock()
	r.pruneAll(r.now())
	var ch *Change
	switch kind {
	case ReadyQ:
		r.readyQ, ch = removeID(r.readyQ, kind, id)
	case Suspend:
		r.suspends, ch = removeID(r.suspends, kind, id)
	case Bounce:
		r.bounces, ch = removeID(r.bounces, kind, id)
	}
	if ch == nil {
		r.notify(nil)
		return false
	}
	r.notify([]Change{*ch})
	return true
}

// Remaining is the humantime text of the time left until expires, as the
// lists show it, as humantime writes it ("4m 59s").
func Remaining(expires, now time.Time) string {
	d := expires.Sub(now)
	if d < 0 {
		d = 0
	}
	return plain.FormatDuration(d)
}
