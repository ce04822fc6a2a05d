package egress

import (
	"net/netip"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// EgressSource is KumoMTA's egress source (kumo.make_egress_source): a
// named way of sending, with an optional local address, EHLO name and
// proxy.
type EgressSource struct {
	Name                      string
	EHLODomain                *string
	SourceAddress             *netip.Addr
	RemotePort                *uint16
	HAProxyServer             *SocketAddr
	HAProxySourceAddress      *netip.Addr
	Socks5ProxyServer         *SocketAddr
	Socks5ProxySourceAddress  *netip.Addr
	Socks5ProxyUsername       *string
	Socks5ProxyPassword       *KeySource
	SuspendWhenUnplumbed      *SuspendOnFailure
	SuspendWhenProxyUnhealthy *SuspendOnFailure
	TTL                       time.Duration // default 60s
}

// SuspendOnFailure is an egress source's auto-suspension rule: when
// Trigger fires, the source is left out of pool selection for Duration.
type SuspendOnFailure struct {
	Trigger  Trigger
	Duration time.Duration
}

// Trigger is when an automation fires: Immediate (Threshold nil) or once a
// Threshold rate of matching events is reached. It is written "Immediate"
// or {Threshold = "2/hr"}.
type Trigger struct {
	Threshold *ThrottleSpec
}

var triggerVariants = []string{"Immediate", "Threshold"}

// DecodeTrigger converts plain data to a Trigger.
func DecodeTrigger(v any) (Trigger, error) {
	switch x := v.(type) {
	case string:
		switch x {
		case "Immediate":
			return Trigger{}, nil
		case "Threshold":
			return Trigger{}, plain.Custom("invalid type: unit variant, expected newtype variant")
		}
		return Trigger{}, plain.UnknownVariant(x, triggerVariants)
	case map[string]any:
		if len(x) != 1 {
			return Trigger{}, plain.InvalidValue(v, "map with a single key")
		}
		for k, val := range x {
			switch k {
			case "Threshold":
				t, err := DecodeThrottleSpec(val)
				if err != nil {
					return Trigger{}, plain.AtField(err, k)
				}
				return Trigger{Threshold: &t}, nil
			case "Immediate":
				return Trigger{}, plain.Custom("invalid type: newtype variant, expected unit variant")
			}
			return Trigger{}, plain.UnknownVariant(k, triggerVariants)
		}
	}
	return Trigger{}, plain.InvalidType(v, "enum Trigger")
}

// Serialize returns "Immediate" or {Threshold = "<rate>"}.
func (t Trigger) Serialize() any {
	if t.Threshold == nil {
		return "Immediate"
	}
	m := plain.NewMap(1)
	m.Set("Threshold", t.Threshold.String())
	return m
}

type sof = SuspendOnFailure

var suspendSchema = plain.NewSchema("SuspendOnFailure", true,
	plain.Field[sof]{Name: "trigger",
		Decode: func(s *sof, v any) (err error) { s.Trigger, err = DecodeTrigger(v); return },
		Encode: func(s *sof) any { return s.Trigger.Serialize() }},
	plain.Field[sof]{Name: "duration", Required: true,
		Decode: func(s *sof, v any) (err error) { s.Duration, err = plain.DecodeDuration(v); return },
		Encode: func(s *sof) any { return plain.FormatDuration(s.Duration) }},
)

func optSuspendField(name string, get func(*EgressSource) **SuspendOnFailure) plain.Field[EgressSource] {
	return plain.Field[EgressSource]{
		Name: name,
		Decode: func(src *EgressSource, v any) error {
			s := &SuspendOnFailure{}
			if err := suspendSchema.Decode(s, v); err != nil {
				return err
			}
			*get(src) = s
			return nil
		},
		Encode: func(src *EgressSource) any {
			if s := *get(src); s != nil {
				return suspendSchema.Encode(s)
			}
			return nil
		},
	}
}

func optIPField(name string, get func(*EgressSource) **netip.Addr) plain.Field[EgressSource] {
	return plain.Field[EgressSource]{
		Name: name,
		Decode: func(src *EgressSource, v any) error {
			a, err := DecodeIPAddr(v)
			*get(src) = &a
			return err
		},
		Encode: func(src *EgressSource) any {
			if a := *get(src); a != nil {
				return a.String()
			}
			return nil
		},
	}
}

func optProxyField(name string, get func(*EgressSource) **SocketAddr) plain.Field[EgressSource] {
	return plain.Field[EgressSource]{
		Name: name,
		Decode: func(src *EgressSource, v any) error {
			a, err := DecodeResolvableSocketAddr(v)
			*get(src) = &a
			return err
		},
		Encode: func(src *EgressSource) any {
			if a := *get(src); a != nil {
				return a.String()
			}
			return nil
		},
	}
}

type esrc = EgressSource

var egressSourceSchema = plain.NewSchema("EgressSource", true,
	plain.StringField("name", func(s *esrc) *string { return &s.Name }).Req(),
	plain.OptStringField("ehlo_domain", func(s *esrc) **string { return &s.EHLODomain }),
	optIPField("source_address", func(s *esrc) **netip.Addr { return &s.SourceAddress }),
	plain.OptUintField("remote_port", 16, func(s *esrc) **uint16 { return &s.RemotePort }),
	optProxyField("ha_proxy_server", func(s *esrc) **SocketAddr { return &s.HAProxyServer }),
	optIPField("ha_proxy_source_address", func(s *esrc) **netip.Addr { return &s.HAProxySourceAddress }),
	optProxyField("socks5_proxy_server", func(s *esrc) **SocketAddr { return &s.Socks5ProxyServer }),
	optIPField("socks5_proxy_source_address", func(s *esrc) **netip.Addr { return &s.Socks5ProxySourceAddress }),
	plain.OptStringField("socks5_proxy_username", func(s *esrc) **string { return &s.Socks5ProxyUsername }),
	OptKeySourceField("socks5_proxy_password", func(s *esrc) **KeySource { return &s.Socks5ProxyPassword }),
	optSuspendField("suspend_when_unplumbed", func(s *esrc) **SuspendOnFailure { return &s.SuspendWhenUnplumbed }),
	optSuspendField("suspend_when_proxy_unhealthy", func(s *esrc) **SuspendOnFailure { return &s.SuspendWhenProxyUnhealthy }),
	plain.DurationField("ttl", func(s *esrc) *time.Duration { return &s.TTL }),
)

// DecodeEgressSource decodes plain data into an EgressSource. `name` is
// required; unknown fields are errors that list the valid ones.
func DecodeEgressSource(v any) (*EgressSource, error) {
	s := &EgressSource{TTL: 60 * time.Second}
	if err := egressSourceSchema.Decode(s, v); err != nil {
		return nil, err
	}
	return s, nil
}

// Serialize returns the serialized form, fields in declaration order.
func (s *EgressSource) Serialize() *plain.Map { return egressSourceSchema.Encode(s) }

// EgressPool is KumoMTA's egress pool (kumo.make_egress_pool): a named,
// weighted set of egress sources.
type EgressPool struct {
	Name    string
	Entries []EgressPoolEntry
	TTL     time.Duration // default 60s
}

// EgressPoolEntry is one source of a pool. A weight of 0 disables it.
type EgressPoolEntry struct {
	Name   string
	Weight uint32 // default 1
}

type epe = EgressPoolEntry

var poolEntrySchema = plain.NewSchema("EgressPoolEntry", true,
	plain.StringField("name", func(e *epe) *string { return &e.Name }).Req(),
	plain.UintField("weight", 32, func(e *epe) *uint32 { return &e.Weight }),
)

type epool = EgressPool

var egressPoolSchema = plain.NewSchema("EgressPool", true,
	plain.StringField("name", func(p *epool) *string { return &p.Name }).Req(),
	plain.Field[epool]{Name: "entries",
		Decode: func(p *epool, v any) error {
			items, err := plain.AsSequence(v)
			if err != nil {
				return err
			}
			p.Entries = make([]EgressPoolEntry, 0, len(items))
			for i, item := range items {
				e := EgressPoolEntry{Weight: 1}
				if err := poolEntrySchema.Decode(&e, item); err != nil {
					return plain.AtIndex(err, i+1)
				}
				p.Entries = append(p.Entries, e)
			}
			return nil
		},
		Encode: func(p *epool) any {
			out := make([]any, len(p.Entries))
			for i := range p.Entries {
				out[i] = poolEntrySchema.Encode(&p.Entries[i])
			}
			return out
		}},
	plain.DurationField("ttl", func(p *epool) *time.Duration { return &p.TTL }),
)

// DecodeEgressPool decodes plain data into an EgressPool. `name` is
// required, and so is each entry's `name`; weight defaults to 1.
func DecodeEgressPool(v any) (*EgressPool, error) {
	p := &EgressPool{TTL: 60 * time.Second}
	if err := egressPoolSchema.Decode(p, v); err != nil {
		return nil, err
	}
	return p, nil
}

// Serialize returns the serialized form, fields in declaration order.
func (p *EgressPool) Serialize() *plain.Map { return egressPoolSchema.Encode(p) }
