package admin

import (
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// ReadyQRequest is kumo.api.admin.suspend_ready_q.suspend's parameter
// (KumoMTA's SuspendReadyQueueV1Request).
type ReadyQRequest struct {
	Name, Reason string
	Duration     *time.Duration
	Expires      *time.Time
}

// SuspendRequest is kumo.api.admin.suspend.suspend's parameter
// (KumoMTA's SuspendV1Request).
type SuspendRequest struct {
	Campaign, Tenant, Domain *string
	Reason                   string
	Duration                 *time.Duration
	Expires                  *time.Time
	QueueNames               []string
}

// BounceRequest is kumo.api.admin.bounce.bounce's parameter (KumoMTA's
// BounceV1Request).
type BounceRequest struct {
	Campaign, Tenant, Domain, RoutingDomain *string
	Reason                                  string
	Duration                                *time.Duration
	Expires                                 *time.Time
	SuppressLogging                         bool
	QueueNames                              []string
}

// Field lists, in KumoMTA's declaration order.
var (
	readyQFields  = []string{"name", "reason", "duration", "expires"}
	suspendFields = []string{"campaign", "tenant", "domain", "reason", "duration", "expires", "queue_names"}
	bounceFields  = []string{"campaign", "tenant", "domain", "routing_domain", "reason", "duration", "expires", "suppress_logging", "queue_names"}
)

func object(v any, what string) (*plain.Object, error) {
	if m, ok := v.(*plain.Map); ok {
		v = m.Plain(false)
	}
	m, err := plain.AsMap(v, "struct "+what)
	if err != nil {
		return nil, err
	}
	return plain.NewObject(m), nil
}

func setString(dst *string) func(any) error {
	return func(v any) (err error) { *dst, err = plain.DecodeString(v); return }
}

func setOptString(dst **string) func(any) error {
	return func(v any) error {
		s, err := plain.DecodeString(v)
		if err == nil {
			*dst = &s
		}
		return err
	}
}

func setDuration(dst **time.Duration) func(any) error {
	return func(v any) error {
		d, err := plain.DecodeDuration(v)
		if err == nil {
			*dst = &d
		}
		return err
	}
}

// setExpires accepts an RFC 3339 timestamp.
func setExpires(dst **time.Time) func(any) error {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return plain.InvalidType(v, "an RFC 3339 formatted date and time string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return plain.InvalidValue(v, "an RFC 3339 formatted date and time string")
		}
		*dst = &t
		return nil
	}
}

func setStrings(dst *[]string) func(any) error {
	return func(v any) (err error) { *dst, err = plain.DecodeStringList(v); return }
}

// DecodeReadyQRequest decodes a ready-queue suspension request; unknown
// fields are ignored.
func DecodeReadyQRequest(v any) (ReadyQRequest, error) {
	var r ReadyQRequest
	o, err := object(v, "SuspendReadyQueueV1Request")
	if err != nil {
		return r, err
	}
	for _, step := range []error{
		o.Required("name", setString(&r.Name)),
		o.Required("reason", setString(&r.Reason)),
		o.Optional("duration", setDuration(&r.Duration)),
		o.Optional("expires", setExpires(&r.Expires)),
	} {
		if step != nil {
			return r, step
		}
	}
	return r, nil
}

// DecodeSuspendRequest decodes a scheduled-queue suspension request;
// unknown fields are ignored.
func DecodeSuspendRequest(v any) (SuspendRequest, error) {
	var r SuspendRequest
	o, err := object(v, "SuspendV1Request")
	if err != nil {
		return r, err
	}
	for _, step := range []error{
		o.Optional("campaign", setOptString(&r.Campaign)),
		o.Optional("tenant", setOptString(&r.Tenant)),
		o.Optional("domain", setOptString(&r.Domain)),
		o.Required("reason", setString(&r.Reason)),
		o.Optional("duration", setDuration(&r.Duration)),
		o.Optional("expires", setExpires(&r.Expires)),
		o.Optional("queue_names", setStrings(&r.QueueNames)),
	} {
		if step != nil {
			return r, step
		}
	}
	return r, nil
}

// DecodeBounceRequest decodes an admin bounce request; an unknown field
// is an error.
func DecodeBounceRequest(v any) (BounceRequest, error) {
	var r BounceRequest
	o, err := object(v, "BounceV1Request")
	if err != nil {
		return r, err
	}
	if err := o.Unknown(bounceFields); err != nil {
		return r, err
	}
	for _, step := range []error{
		o.Optional("campaign", setOptString(&r.Campaign)),
		o.Optional("tenant", setOptString(&r.Tenant)),
		o.Optional("domain", setOptString(&r.Domain)),
		o.Optional("routing_domain", setOptString(&r.RoutingDomain)),
		o.Required("reason", setString(&r.Reason)),
		o.Optional("duration", setDuration(&r.Duration)),
		o.Optional("expires", setExpires(&r.Expires)),
		o.Optional("suppress_logging", func(v any) (err error) { r.SuppressLogging, err = plain.DecodeBool(v); return }),
		o.Optional("queue_names", setStrings(&r.QueueNames)),
	} {
		if step != nil {
			return r, step
		}
	}
	return r, nil
}

// DecodeID decodes a delete request's body ({"id": "..."}).
func DecodeID(v any) (string, error) {
	o, err := object(v, "CancelRequest")
	if err != nil {
		return "", err
	}
	var id string
	return id, o.Required("id", setString(&id))
}

// ReadyQListEntry is one entry of the ready-queue suspension list, in the
// shape kumod's GET /api/admin/suspend-ready-q/v1 gives.
type ReadyQListEntry struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Reason   string `json:"reason"`
	Duration string `json:"duration"`
	Expires  string `json:"expires"`
}

// SuspendListEntry is one entry of GET /api/admin/suspend/v1.
type SuspendListEntry struct {
	ID       string  `json:"id"`
	Campaign *string `json:"campaign"`
	Tenant   *string `json:"tenant"`
	Domain   *string `json:"domain"`
	Reason   string  `json:"reason"`
	Duration string  `json:"duration"`
}

// BounceListEntry is one entry of GET /api/admin/bounce/v1. Nothing is
// bounced by a policy host: Bounced is empty and TotalBounced 0.
type BounceListEntry struct {
	ID            string         `json:"id"`
	Campaign      *string        `json:"campaign"`
	Tenant        *string        `json:"tenant"`
	Domain        *string        `json:"domain"`
	RoutingDomain *string        `json:"routing_domain"`
	Reason        string         `json:"reason"`
	Duration      string         `json:"duration"`
	Bounced       map[string]int `json:"bounced"`
	TotalBounced  int            `json:"total_bounced"`
}

// ListReadyQ is the active ready-queue suspensions as list entries.
func (r *Registry) ListReadyQ() []ReadyQListEntry {
	es, now := r.ReadyQSuspensions()
	out := make([]ReadyQListEntry, len(es))
	for i, e := range es {
		out[i] = ReadyQListEntry{ID: e.ID, Name: e.Name, Reason: e.Reason, Duration: Remaining(e.Expires, now),
			Expires: e.Expires.UTC().Format(time.RFC3339Nano)}
	}
	return out
}

// ListSuspend is the active suspensions as list entries.
func (r *Registry) ListSuspend() []SuspendListEntry {
	es, now := r.Suspensions()
	out := make([]SuspendListEntry, len(es))
	for i, e := range es {
		out[i] = SuspendListEntry{ID: e.ID, Campaign: e.Campaign, Tenant: e.Tenant, Domain: e.Domain, Reason: e.Reason,
			Duration: Remaining(e.Expires, now)}
	}
	return out
}

// ListBounce is the active admin bounces as list entries.
func (r *Registry) ListBounce() []BounceListEntry {
	es, now := r.Bounces()
	out := make([]BounceListEntry, len(es))
	for i, e := range es {
		out[i] = BounceListEntry{ID: e.ID, Campaign: e.Campaign, Tenant: e.Tenant, Domain: e.Domain,
			RoutingDomain: e.RoutingDomain, Reason: e.Reason, Duration: Remaining(e.Expires, now),
			Bounced: map[string]int{}}
	}
	return out
}
