package memoize

import (
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// paramsSchema is KumoMTA's MemoizeParams, its fields in KumoMTA's order
// (which the "expected one of" list of an unknown field follows).
var paramsSchema = plain.NewSchema("MemoizeParams", true,
	plain.DurationField("ttl", func(p *Params) *time.Duration { return &p.TTL }).Req(),
	plain.UintField("capacity", 64, func(p *Params) *uint64 { return &p.Capacity }).Req(),
	plain.StringField("name", func(p *Params) *string { return &p.Name }).Req(),
	plain.BoolField("invalidate_with_epoch", func(p *Params) *bool { return &p.InvalidateWithEpoch }),
	plain.BoolField("retry_on_populate_timeout", func(p *Params) *bool { return &p.RetryOnPopulateTimeout }),
	plain.Field[Params]{Name: "populate_timeout", Decode: func(p *Params, v any) (err error) {
		p.PopulateTimeout, err = plain.DecodeDuration(v)
		p.PopulateTimeoutSet = err == nil
		return err
	}},
	plain.BoolField("allow_stale_reads", func(p *Params) *bool { return &p.AllowStaleReads }),
)

// DecodeParams decodes kumo.memoize's parameter table from plain data
// strictly: unknown fields are refused, ttl, capacity and name are
// required, durations are humantime strings or numbers of seconds. Errors
// are *plain.Error values carrying the field's path ("ttl: invalid value:
// string \"soon\", expected a duration"). The name is not checked against
// the built-in caches here; Registry.Define does that.
func DecodeParams(v any) (Params, error) {
	var p Params
	if _, err := plain.AsMap(v, "a table of parameters"); err != nil {
		return p, err
	}
	err := paramsSchema.Decode(&p, v)
	return p, err
}
