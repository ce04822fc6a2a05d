package tsaclient

import (
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
)

// AdminApplier applies what a Subscriber receives to the admin registry
// behind kumo.api.admin.* and the admin HTTP API, as KumoMTA's helper does
// through kumo.api.admin: a ReadyQSuspension becomes suspend_ready_q{name,
// reason, expires}, a SchedQSuspension suspend{campaign, tenant, domain,
// reason, expires}, a SchedQBounce bounce{campaign, tenant, domain,
// reason, expires}. The registry replaces an entry with the same key, so
// a replayed snapshot leaves no duplicates.
type AdminApplier struct{ Registry *admin.Registry }

func expiresOf(t time.Time) *time.Time { return &t }

// SuspendReadyQ implements Applier.
func (a AdminApplier) SuspendReadyQ(s ReadyQSuspension) error {
	a.Registry.SuspendReadyQ(admin.ReadyQRequest{Name: s.Name, Reason: s.Reason, Expires: expiresOf(s.Expires)})
	return nil
}

// Suspend implements Applier.
func (a AdminApplier) Suspend(s SchedQSuspension) error {
	domain := s.Domain
	a.Registry.Suspend(admin.SuspendRequest{Campaign: s.Campaign, Tenant: s.Tenant, Domain: &domain,
		Reason: s.Reason, Expires: expiresOf(s.Expires)})
	return nil
}

// Bounce implements Applier.
func (a AdminApplier) Bounce(b SchedQBounce) error {
	domain := b.Domain
	a.Registry.Bounce(admin.BounceRequest{Campaign: b.Campaign, Tenant: b.Tenant, Domain: &domain,
		Reason: b.Reason, Expires: expiresOf(b.Expires)})
	return nil
}
