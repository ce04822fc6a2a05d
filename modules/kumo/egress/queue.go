package egress

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// QueueConfig is KumoMTA's scheduled-queue configuration
// (kumo.make_queue_config, the get_queue_config event).
type QueueConfig struct {
	RetryInterval          time.Duration  // default 20m
	MaxRetryInterval       *time.Duration // cap on the exponential backoff
	MaxAge                 time.Duration  // default 7 days
	EgressPool             *string
	MaxMessageRate         *ThrottleSpec
	Protocol               DeliveryProtocol // default smtp
	ReapInterval           time.Duration    // default 10m
	RefreshInterval        time.Duration    // default 1m
	TimerwheelTickInterval *time.Duration
	Strategy               string // QueueStrategyEnum, default SingletonTimerWheel
	RefreshStrategy        string // RefreshStrategyEnum, default Ttl
	ProviderName           *string
	ShrinkPolicy           []QueueShrinkPolicy
}

// QueueShrinkPolicy is one entry of shrink_policy: after Interval idle, apply
// Policy (a MemoryReductionPolicyEnum variant).
type QueueShrinkPolicy struct {
	Interval time.Duration
	Policy   string
}

// ProtocolKind says which delivery protocol a queue uses.
type ProtocolKind int

// The delivery protocols a queue config can name.
const (
	ProtocolSMTP    ProtocolKind = iota // {smtp = {mx_list = {...}, treat_mx_list_as_secure = false}}
	ProtocolMaildir                     // {maildir_path = "...", dir_mode = N, file_mode = N}
	ProtocolLua                         // {custom_lua = {constructor = "...", ...}}
	ProtocolXfer                        // {xfer = {target = "http://..."}}
)

// DeliveryProtocol is a queue's protocol: one of the forms of
// ProtocolKind, told apart by their keys (an untagged enum in KumoMTA,
// tried in the order smtp, maildir, custom_lua, xfer; keys that belong to
// none of the matching form's fields are ignored).
type DeliveryProtocol struct {
	Kind ProtocolKind

	// ProtocolSMTP
	MXList              []MXListEntry
	TreatMXListAsSecure bool

	// ProtocolMaildir
	MaildirPath string
	DirMode     *uint32
	FileMode    *uint32

	// ProtocolLua
	CustomLua LuaDeliveryProtocol

	// ProtocolXfer: the target URL, normalized.
	XferTarget string
}

// MXListEntry is one entry of an smtp protocol's mx_list: a name to
// resolve (or an IP literal such as "[10.0.0.1]"), or a pre-resolved
// {name, addr} pair.
type MXListEntry struct {
	Name     string
	Addr     string // set for a pre-resolved entry
	IsSecure bool
}

// LuaDeliveryProtocol is the custom_lua protocol: deliveries go through the
// connection object the Constructor event returns.
type LuaDeliveryProtocol struct {
	Constructor     string
	BatchSize       uint64        // default 1
	MinBatchSize    uint64        // default 1
	MaxBatchLatency time.Duration // default 0s
}

// DefaultQueueConfig returns the configuration every field of which has
// its default.
func DefaultQueueConfig() *QueueConfig {
	return &QueueConfig{
		RetryInterval:   20 * time.Minute,
		MaxAge:          7 * 24 * time.Hour,
		ReapInterval:    10 * time.Minute,
		RefreshInterval: time.Minute,
		Strategy:        DefaultQueueStrategy,
		RefreshStrategy: "Ttl",
	}
}

// DecodeQueueConfig decodes plain data into a QueueConfig, starting from
// the defaults; unknown fields are errors that list the valid ones.
func DecodeQueueConfig(v any) (*QueueConfig, error) {
	c := DefaultQueueConfig()
	if err := queueSchema.Decode(c, v); err != nil {
		return nil, err
	}
	return c, nil
}

// Serialize returns the serialized form, fields in declaration order.
func (c *QueueConfig) Serialize() *plain.Map { return queueSchema.Encode(c) }

type qc = QueueConfig

var shrinkSchema = plain.NewSchema("QueueShrinkPolicy", true,
	plain.DurationField("interval", func(p *QueueShrinkPolicy) *time.Duration { return &p.Interval }).Req(),
	plain.EnumField("policy", MemoryReductionPolicyEnum, func(p *QueueShrinkPolicy) *string { return &p.Policy }).Req(),
)

var queueSchema = plain.NewSchema("QueueConfig", true,
	plain.DurationField("retry_interval", func(c *qc) *time.Duration { return &c.RetryInterval }),
	plain.OptDurationField("max_retry_interval", func(c *qc) **time.Duration { return &c.MaxRetryInterval }),
	plain.DurationField("max_age", func(c *qc) *time.Duration { return &c.MaxAge }),
	plain.OptStringField("egress_pool", func(c *qc) **string { return &c.EgressPool }),
	OptThrottleField("max_message_rate", func(c *qc) **ThrottleSpec { return &c.MaxMessageRate }),
	plain.Field[qc]{Name: "protocol",
		Decode: func(c *qc, v any) (err error) { c.Protocol, err = DecodeDeliveryProtocol(v); return },
		Encode: func(c *qc) any { return c.Protocol.Serialize() }},
	plain.DurationField("reap_interval", func(c *qc) *time.Duration { return &c.ReapInterval }),
	plain.DurationField("refresh_interval", func(c *qc) *time.Duration { return &c.RefreshInterval }),
	plain.OptDurationField("timerwheel_tick_interval", func(c *qc) **time.Duration { return &c.TimerwheelTickInterval }),
	plain.EnumField("strategy", QueueStrategyEnum, func(c *qc) *string { return &c.Strategy }),
	plain.EnumField("refresh_strategy", RefreshStrategyEnum, func(c *qc) *string { return &c.RefreshStrategy }),
	plain.OptStringField("provider_name", func(c *qc) **string { return &c.ProviderName }),
	plain.Field[qc]{Name: "shrink_policy",
		Decode: func(c *qc, v any) error {
			items, err := plain.AsSequence(v)
			if err != nil {
				return err
			}
			c.ShrinkPolicy = make([]QueueShrinkPolicy, 0, len(items))
			for i, item := range items {
				var p QueueShrinkPolicy
				if err := shrinkSchema.Decode(&p, item); err != nil {
					return plain.AtIndex(err, i+1)
				}
				c.ShrinkPolicy = append(c.ShrinkPolicy, p)
			}
			return nil
		},
		Encode: func(c *qc) any {
			out := make([]any, len(c.ShrinkPolicy))
			for i := range c.ShrinkPolicy {
				out[i] = shrinkSchema.Encode(&c.ShrinkPolicy[i])
			}
			return out
		}},
)

// protocolForms describes the accepted protocol forms in error messages.
const protocolForms = "expected {smtp={...}}, {maildir_path=...}, {custom_lua={constructor=...}} or {xfer={target=...}}"

// DecodeDeliveryProtocol converts plain data to a DeliveryProtocol. When no
// form matches, the error is KumoMTA's ("data did not match any variant of
// untagged enum DeliveryProto") with, when the keys show which form was
// meant, the reason that form failed.
func DecodeDeliveryProtocol(v any) (DeliveryProtocol, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return DeliveryProtocol{}, plain.UntaggedMismatch("DeliveryProto", protocolForms)
	}
	var firstErr error
	note := func(key string, err error) {
		if _, has := m[key]; has && firstErr == nil {
			firstErr = err
		}
	}
	// smtp
	if raw, has := m["smtp"]; has {
		p, err := decodeSMTPProtocol(raw)
		if err == nil {
			return p, nil
		}
		note("smtp", plain.AtField(err, "smtp"))
	}
	// maildir
	if p, err := decodeMaildir(m); err == nil {
		return p, nil
	} else {
		note("maildir_path", err)
	}
	// custom_lua
	if raw, has := m["custom_lua"]; has {
		p := DeliveryProtocol{Kind: ProtocolLua, CustomLua: LuaDeliveryProtocol{BatchSize: 1, MinBatchSize: 1}}
		err := luaProtocolSchema.Decode(&p.CustomLua, raw)
		if err == nil {
			return p, nil
		}
		note("custom_lua", plain.AtField(err, "custom_lua"))
	}
	// xfer
	if raw, has := m["xfer"]; has {
		target, err := decodeXfer(raw)
		if err == nil {
			return DeliveryProtocol{Kind: ProtocolXfer, XferTarget: target}, nil
		}
		note("xfer", plain.AtField(err, "xfer"))
	}
	if firstErr != nil {
		return DeliveryProtocol{}, plain.UntaggedMismatch("DeliveryProto", firstErr.Error())
	}
	return DeliveryProtocol{}, plain.UntaggedMismatch("DeliveryProto", protocolForms)
}

func decodeSMTPProtocol(v any) (DeliveryProtocol, error) {
	m, err := plain.AsMap(v, "struct SmtpProtocol")
	if err != nil {
		return DeliveryProtocol{}, err
	}
	p := DeliveryProtocol{Kind: ProtocolSMTP}
	obj := plain.NewObject(m)
	if err := obj.Optional("mx_list", func(v any) error {
		items, err := plain.AsSequence(v)
		if err != nil {
			return err
		}
		p.MXList = make([]MXListEntry, 0, len(items))
		for i, item := range items {
			e, err := decodeMXListEntry(item)
			if err != nil {
				return plain.AtIndex(err, i+1)
			}
			p.MXList = append(p.MXList, e)
		}
		return nil
	}); err != nil {
		return DeliveryProtocol{}, err
	}
	if err := obj.Optional("treat_mx_list_as_secure", func(v any) (err error) {
		p.TreatMXListAsSecure, err = plain.DecodeBool(v)
		return
	}); err != nil {
		return DeliveryProtocol{}, err
	}
	return p, nil
}

func decodeMXListEntry(v any) (MXListEntry, error) {
	switch x := v.(type) {
	case string:
		return MXListEntry{Name: x}, nil
	case map[string]any:
		var e MXListEntry
		obj := plain.NewObject(x)
		err := obj.Required("name", func(v any) (err error) { e.Name, err = plain.DecodeString(v); return })
		if err == nil {
			err = obj.Required("addr", func(v any) error {
				s, err := plain.DecodeString(v)
				if err != nil {
					return err
				}
				e.Addr, err = ParseHostOrSocketAddress(s)
				if err != nil {
					return &plain.Error{Msg: err.Error()}
				}
				return nil
			})
		}
		if err == nil {
			err = obj.Optional("is_secure", func(v any) (err error) { e.IsSecure, err = plain.DecodeBool(v); return })
		}
		if err != nil {
			return MXListEntry{}, plain.UntaggedMismatch("MxListEntry", err.Error())
		}
		return e, nil
	}
	return MXListEntry{}, plain.UntaggedMismatch("MxListEntry", "expected a host name string or {name=..., addr=...}")
}

func decodeMaildir(m map[string]any) (DeliveryProtocol, error) {
	p := DeliveryProtocol{Kind: ProtocolMaildir}
	obj := plain.NewObject(m)
	if err := obj.Required("maildir_path", func(v any) (err error) { p.MaildirPath, err = plain.DecodeString(v); return }); err != nil {
		return DeliveryProtocol{}, err
	}
	for _, f := range []struct {
		name string
		dst  **uint32
	}{{"dir_mode", &p.DirMode}, {"file_mode", &p.FileMode}} {
		if err := obj.Optional(f.name, func(v any) error {
			n, err := plain.DecodeUint(v, 32)
			mode := uint32(n)
			*f.dst = &mode
			return err
		}); err != nil {
			return DeliveryProtocol{}, err
		}
	}
	return p, nil
}

type ldp = LuaDeliveryProtocol

var luaProtocolSchema = plain.NewSchema("LuaDeliveryProtocol", true,
	plain.StringField("constructor", func(l *ldp) *string { return &l.Constructor }).Req(),
	plain.UintField("batch_size", 64, func(l *ldp) *uint64 { return &l.BatchSize }),
	plain.UintField("min_batch_size", 64, func(l *ldp) *uint64 { return &l.MinBatchSize }),
	plain.DurationField("max_batch_latency", func(l *ldp) *time.Duration { return &l.MaxBatchLatency }),
)

func decodeXfer(v any) (string, error) {
	m, err := plain.AsMap(v, "struct XferProtocol")
	if err != nil {
		return "", err
	}
	var target string
	err = plain.NewObject(m).Required("target", func(v any) error {
		s, err := plain.DecodeString(v)
		if err != nil {
			return err
		}
		target, err = normalizeURL(s)
		if err != nil {
			return plain.InvalidValue(s, err.Error())
		}
		return nil
	})
	return target, err
}

// normalizeURL checks that s is an absolute URL and renders it as the URL
// standard does for the common schemes (an empty path becomes "/").
func normalizeURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("a URL (%v)", err)
	}
	if !u.IsAbs() {
		return "", fmt.Errorf("an absolute URL such as http://host:8000 (relative URL without a base)")
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss", "ftp":
		if u.Host == "" {
			return "", fmt.Errorf("an absolute URL such as http://host:8000 (empty host)")
		}
		if u.Path == "" && u.RawPath == "" && u.Opaque == "" {
			u.Path = "/"
		}
		u.Scheme = strings.ToLower(u.Scheme)
		u.Host = strings.ToLower(u.Host)
	}
	return u.String(), nil
}

// Serialize returns the protocol in the form KumoMTA serializes it:
// {smtp = {...}}, {maildir_path, dir_mode, file_mode},
// {custom_lua = {...}} or {xfer = {target}}.
func (p DeliveryProtocol) Serialize() *plain.Map {
	switch p.Kind {
	case ProtocolMaildir:
		m := plain.NewMap(3)
		m.Set("maildir_path", p.MaildirPath)
		m.Set("dir_mode", optUint32(p.DirMode))
		m.Set("file_mode", optUint32(p.FileMode))
		return m
	case ProtocolLua:
		m := plain.NewMap(1)
		m.Set("custom_lua", luaProtocolSchema.Encode(&p.CustomLua))
		return m
	case ProtocolXfer:
		inner := plain.NewMap(1)
		inner.Set("target", p.XferTarget)
		m := plain.NewMap(1)
		m.Set("xfer", inner)
		return m
	}
	mx := make([]any, len(p.MXList))
	for i, e := range p.MXList {
		if e.Addr == "" {
			mx[i] = e.Name
			continue
		}
		r := plain.NewMap(3)
		r.Set("name", e.Name)
		r.Set("addr", e.Addr)
		if e.IsSecure {
			r.Set("is_secure", true)
		}
		mx[i] = r
	}
	inner := plain.NewMap(2)
	inner.Set("mx_list", mx)
	inner.Set("treat_mx_list_as_secure", p.TreatMXListAsSecure)
	m := plain.NewMap(1)
	m.Set("smtp", inner)
	return m
}

func optUint32(p *uint32) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}
