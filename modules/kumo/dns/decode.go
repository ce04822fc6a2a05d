package dns

import (
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Decoding of KumoMTA's resolver configuration (the argument of
// kumo.dns.configure_resolver) from plain data. Errors are *plain.Error
// values carrying the path of the offending value, for example
//
//	name_servers[2].protocol: unknown variant `quic`, expected one of `udp`, `tcp`, `udp_then_tcp`
//	options.timeout: invalid value: string "later", expected a duration

// ResolverVariants are the forms of KumoMTA's resolver configuration.
// All but Unbound are supported.
var ResolverVariants = []string{"Hickory", "HickorySystemConfig", "Unbound", "Test", "Aggregate"}

// DecodeResolverConfig decodes a resolver configuration: the
// DnsResolverConfig table ({name_servers=..., domain=..., search=...,
// options=...}), the same wrapped as {Hickory = {...}}, the string
// "HickorySystemConfig", which is the zero Config (the servers of
// /etc/resolv.conf), {Test = {zones = {...}, servfail = {...}}} (in-memory
// zones, see DecodeTestConfig) or {Aggregate = {CONFIG, ...}} (see
// Config.Aggregate). The Unbound form is taken in its forwarding mode
// only (see DecodeUnbound).
func DecodeResolverConfig(v any) (Config, error) {
	switch x := v.(type) {
	case string:
		switch x {
		case "HickorySystemConfig":
			return Config{}, nil
		case "Hickory", "Unbound", "Test", "Aggregate":
			return Config{}, plain.Custom("invalid type: unit variant, expected the `%s` variant's configuration table", x)
		}
		return Config{}, plain.UnknownVariant(x, ResolverVariants)
	case map[string]any:
		if len(x) == 1 {
			for variant, inner := range x {
				switch variant {
				case "Hickory":
					cfg, err := decodeHickory(inner, "a table")
					return cfg, plain.AtField(err, variant)
				case "HickorySystemConfig":
					return Config{}, plain.Custom("invalid type: map, expected the string 'HickorySystemConfig'")
				case "Test":
					cfg, err := DecodeTestConfig(inner)
					return cfg, plain.AtField(err, variant)
				case "Aggregate":
					cfg, err := decodeAggregate(inner)
					return cfg, plain.AtField(err, variant)
				case "Unbound":
					cfg, err := DecodeUnbound(inner)
					return cfg, plain.AtField(err, variant)
				}
			}
		}
	}
	return decodeHickory(v, "a resolver configuration table")
}

// unboundOptions are the options KumoMTA's Unbound backend honours; any
// other option is an error there, and here.
var unboundOptions = []string{"validate", "trust_anchor_file", "use_hosts_file"}

// DecodeUnbound decodes an Unbound resolver configuration (the
// DnsResolverConfig table, as for kumo.dns.configure_unbound_resolver).
// kumopolicy has no Unbound: it takes the configuration in Unbound's
// forwarding mode, where queries go to the listed name_servers, and
// answers with its own resolver querying those servers. What needs
// Unbound itself is refused, naming the reason: recursion from the root
// servers (no name_servers), DNSSEC validation (options.validate = true)
// and trust anchors. options.use_hosts_file may be 'Never' only.
func DecodeUnbound(v any) (Config, error) {
	m, err := plain.AsMap(v, "an Unbound resolver configuration table")
	if err != nil {
		return Config{}, err
	}
	if ns, ok := m["name_servers"]; !ok || ns == nil {
		return Config{}, plain.AtField(plain.Custom("kumopolicy runs Unbound's forwarding mode only: give the name servers to forward to (recursion from the root servers is not supported)"), "name_servers")
	}
	inner := make(map[string]any, len(m))
	for k, v := range m {
		inner[k] = v
	}
	if opts, ok := m["options"].(map[string]any); ok {
		for _, k := range plain.SortedKeys(opts) {
			switch k {
			case "validate":
				if b, _ := opts[k].(bool); b {
					return Config{}, plain.AtField(plain.Custom("DNSSEC validation is not supported by kumopolicy"), "options.validate")
				}
			case "trust_anchor_file":
				return Config{}, plain.AtField(plain.Custom("trust anchors (DNSSEC) are not supported by kumopolicy"), "options.trust_anchor_file")
			case "use_hosts_file":
			default:
				return Config{}, plain.AtField(plain.Custom("the Unbound resolver does not take this option (it takes %s); hickory options belong in kumo.dns.configure_resolver", "`"+strings.Join(unboundOptions, "`, `")+"`"), "options."+k)
			}
		}
		rest := map[string]any{}
		if v, ok := opts["use_hosts_file"]; ok {
			rest["use_hosts_file"] = v
		}
		inner["options"] = rest
	}
	return decodeHickory(inner, "an Unbound resolver configuration table")
}

var testFields = []string{"zones", "servfail"}

// DecodeTestConfig decodes a Test resolver's configuration:
// {zones = {ZONE, ...}, servfail = {NAME, ...}}, where each ZONE is a zone
// text (master file format) or {zone = TEXT, secure = BOOL}. A bare list
// of zones is accepted too (kumo.dns.configure_test_resolver's argument).
func DecodeTestConfig(v any) (Config, error) {
	var zones []ZoneText
	var servfail []string
	decodeZones := func(v any) error {
		items, err := plain.AsSequence(v)
		if err != nil {
			return err
		}
		for i, item := range items {
			zt, err := decodeZoneText(item)
			if err != nil {
				return plain.AtIndex(err, i+1)
			}
			zones = append(zones, zt)
		}
		return nil
	}
	if m, ok := v.(map[string]any); ok {
		o := plain.NewObject(m)
		if err := o.Unknown(testFields); err != nil {
			return Config{}, err
		}
		if err := o.Required("zones", decodeZones); err != nil {
			return Config{}, err
		}
		if err := o.Optional("servfail", func(v any) (err error) {
			servfail, err = plain.DecodeStringList(v)
			return err
		}); err != nil {
			return Config{}, err
		}
	} else if _, err := plain.AsSequence(v); err == nil {
		if err := decodeZones(v); err != nil {
			return Config{}, err
		}
	} else {
		return Config{}, plain.InvalidType(v, "a Test resolver table {zones = {...}} or a list of zones")
	}
	z, err := ParseZones(zones, servfail)
	if err != nil {
		return Config{}, plain.Custom("%v", err)
	}
	return Config{Test: z}, nil
}

var zoneFields = []string{"zone", "secure"}

func decodeZoneText(v any) (ZoneText, error) {
	if s, ok := v.(string); ok {
		return ZoneText{Text: s}, nil
	}
	m, err := plain.AsMap(v, "a zone text or {zone = TEXT, secure = BOOL}")
	if err != nil {
		return ZoneText{}, err
	}
	var zt ZoneText
	o := plain.NewObject(m)
	if err := o.Unknown(zoneFields); err != nil {
		return zt, err
	}
	if err := o.Required("zone", func(v any) (err error) {
		zt.Text, err = plain.DecodeString(v)
		return err
	}); err != nil {
		return zt, err
	}
	err = o.Optional("secure", func(v any) (err error) {
		zt.Secure, err = plain.DecodeBool(v)
		return err
	})
	return zt, err
}

// decodeAggregate decodes the list of an Aggregate resolver. The list is
// asked in order. A table mixing list entries with variant keys (the
// docs' `{Test = {...}, 'HickorySystemConfig'}`) is accepted: the keyed
// variants come first, in the order Hickory, Test, Aggregate, then the
// list entries.
func decodeAggregate(v any) (Config, error) {
	var entries []any
	var paths []func(error) error
	switch x := v.(type) {
	case []any:
		for i, e := range x {
			entries = append(entries, e)
			paths = append(paths, func(err error) error { return plain.AtIndex(err, i+1) })
		}
	case map[string]any:
		for _, variant := range []string{"Hickory", "Test", "Aggregate", "Unbound", "HickorySystemConfig"} {
			if inner, ok := x[variant]; ok {
				entries = append(entries, map[string]any{variant: inner})
				paths = append(paths, func(err error) error { return err })
			}
		}
		for i := 1; ; i++ {
			e, ok := x[strconv.Itoa(i)]
			if !ok {
				break
			}
			entries = append(entries, e)
			paths = append(paths, func(err error) error { return plain.AtIndex(err, i) })
		}
		if len(entries) != len(x) {
			return Config{}, plain.InvalidType(v, "a list of resolver configurations")
		}
	default:
		return Config{}, plain.InvalidType(v, "a list of resolver configurations")
	}
	if len(entries) == 0 {
		return Config{}, plain.Custom("an Aggregate resolver needs at least one resolver")
	}
	var cfg Config
	for i, e := range entries {
		c, err := DecodeResolverConfig(e)
		if err != nil {
			return Config{}, paths[i](err)
		}
		cfg.Aggregate = append(cfg.Aggregate, c)
	}
	return cfg, nil
}

var hickoryFields = []string{"domain", "search", "name_servers", "options"}

// decodeHickory decodes KumoMTA's DnsResolverConfig strictly. domain and
// search only matter for names that are not fully qualified; every lookup
// here is, so they are checked and ignored (they are irrelevant to MX
// resolution in KumoMTA too).
func decodeHickory(v any, expected string) (Config, error) {
	var cfg Config
	m, err := plain.AsMap(v, expected)
	if err != nil {
		return cfg, err
	}
	o := plain.NewObject(m)
	if err := o.Unknown(hickoryFields); err != nil {
		return cfg, err
	}
	if err := o.Optional("domain", func(v any) error {
		s, err := plain.DecodeString(v)
		if err != nil {
			return err
		}
		return checkConfigName(s)
	}); err != nil {
		return cfg, err
	}
	if err := o.Optional("search", func(v any) error {
		list, err := plain.DecodeStringList(v)
		if err != nil {
			return err
		}
		for i, s := range list {
			if err := checkConfigName(s); err != nil {
				return plain.AtIndex(err, i+1)
			}
		}
		return nil
	}); err != nil {
		return cfg, err
	}
	if err := o.Optional("name_servers", func(v any) error {
		items, err := plain.AsSequence(v)
		if err != nil {
			return err
		}
		for i, item := range items {
			ns, err := decodeNameServer(item)
			if err != nil {
				return plain.AtIndex(err, i+1)
			}
			cfg.NameServers = append(cfg.NameServers, ns)
		}
		return nil
	}); err != nil {
		return cfg, err
	}
	if len(cfg.NameServers) == 0 {
		return cfg, plain.AtField(plain.Custom("at least one name server is required (use 'HickorySystemConfig' for the servers of /etc/resolv.conf)"), "name_servers")
	}
	err = o.Optional("options", func(v any) (err error) {
		cfg.Options, err = decodeOptions(v)
		return err
	})
	return cfg, err
}

func checkConfigName(s string) error {
	if err := CheckName(s); err != nil {
		return plain.Custom("'%s': %v", s, err)
	}
	return nil
}

var nameServerFields = []string{"socket_addr", "protocol", "trust_negative_responses", "bind_addr"}

// decodeNameServer reads 'IP:PORT' or {socket_addr=..., protocol=...,
// trust_negative_responses=..., bind_addr=...}.
func decodeNameServer(v any) (NameServer, error) {
	switch x := v.(type) {
	case string:
		return ParseNameServer(x)
	case map[string]any:
		var ns NameServer
		o := plain.NewObject(x)
		if err := o.Unknown(nameServerFields); err != nil {
			return ns, err
		}
		if err := o.Required("socket_addr", func(v any) error {
			s, err := plain.DecodeString(v)
			if err != nil {
				return err
			}
			addr, err := ParseNameServer(s)
			ns.Addr = addr.Addr
			return err
		}); err != nil {
			return ns, err
		}
		if err := o.Optional("protocol", func(v any) error {
			s, err := plain.DecodeString(v)
			if err != nil {
				return err
			}
			ns.Protocol, err = ParseProtocol(s)
			return err
		}); err != nil {
			return ns, err
		}
		if err := o.Optional("trust_negative_responses", func(v any) error {
			trust, err := plain.DecodeBool(v)
			ns.DistrustNegative = !trust
			return err
		}); err != nil {
			return ns, err
		}
		err := o.Optional("bind_addr", func(v any) error {
			s, err := plain.DecodeString(v)
			if err != nil {
				return err
			}
			if ns.BindAddr, err = ParseSocketAddr(s); err != nil {
				return plain.Custom("'%s': %v", s, err)
			}
			return nil
		})
		return ns, err
	}
	return NameServer{}, plain.InvalidType(v, "'IP:PORT' or a name server table")
}

// Resolver option enumerations: checked, without an effect here.
var (
	ipStrategyEnum = plain.Enum{Name: "LookupIpStrategy", Variants: []string{"Ipv4Only", "Ipv6Only", "Ipv4AndIpv6", "Ipv6AndIpv4", "Ipv6thenIpv4", "Ipv4thenIpv6"}}
	orderingEnum   = plain.Enum{Name: "ServerOrderingStrategy", Variants: []string{"QueryStatistics", "RoundRobin", "UserProvidedOrder"}}
	hostsFileEnum  = plain.Enum{Name: "ResolveHosts", Variants: []string{"Always", "Auto", "Never"}}
)

// resolverOptions is what decodeOptions reads: the Options it applies and
// the requests kumopolicy refuses.
type resolverOptions struct {
	Options
	recursion      bool
	validate       bool
	hostsFile      string
	caseRandom     bool
	attempts       uint64
	ignoredUint    uint64
	ignoredBool    bool
	ignoredEnum    string
	hasTrustAnchor bool
}

func ignoredUint(name string) plain.Field[resolverOptions] {
	return plain.UintField(name, 64, func(o *resolverOptions) *uint64 { return &o.ignoredUint })
}

func durationOption(name string, get func(*Options) *time.Duration) plain.Field[resolverOptions] {
	return plain.DurationField(name, func(o *resolverOptions) *time.Duration { return get(&o.Options) })
}

func boolOption(name string, get func(*resolverOptions) *bool) plain.Field[resolverOptions] {
	return plain.BoolField(name, get)
}

// optionsSchema is KumoMTA's resolver options, in its field order.
// Options that change what kumopolicy's resolver does are applied;
// options without an effect here (ndots, cache_size, ip_strategy,
// num_concurrent_reqs, preserve_intermediates, server_ordering_strategy)
// are checked and ignored; options asking for something kumopolicy cannot
// do are refused.
var optionsSchema = plain.NewSchema("ResolverOpts", true,
	ignoredUint("ndots"),
	durationOption("timeout", func(o *Options) *time.Duration { return &o.Timeout }),
	plain.UintField("attempts", 64, func(o *resolverOptions) *uint64 { return &o.attempts }),
	boolOption("edns0", func(o *resolverOptions) *bool { return &o.EDNS0 }),
	boolOption("validate", func(o *resolverOptions) *bool { return &o.validate }),
	plain.EnumField("ip_strategy", ipStrategyEnum, func(o *resolverOptions) *string { return &o.ignoredEnum }),
	ignoredUint("cache_size"),
	plain.EnumField("use_hosts_file", hostsFileEnum, func(o *resolverOptions) *string { return &o.hostsFile }),
	durationOption("positive_min_ttl", func(o *Options) *time.Duration { return &o.PositiveMinTTL }),
	durationOption("negative_min_ttl", func(o *Options) *time.Duration { return &o.NegativeMinTTL }),
	durationOption("positive_max_ttl", func(o *Options) *time.Duration { return &o.PositiveMaxTTL }),
	durationOption("negative_max_ttl", func(o *Options) *time.Duration { return &o.NegativeMaxTTL }),
	ignoredUint("num_concurrent_reqs"),
	boolOption("preserve_intermediates", func(o *resolverOptions) *bool { return &o.ignoredBool }),
	boolOption("try_tcp_on_error", func(o *resolverOptions) *bool { return &o.TryTCPOnError }),
	plain.EnumField("server_ordering_strategy", orderingEnum, func(o *resolverOptions) *string { return &o.ignoredEnum }),
	boolOption("recursion_desired", func(o *resolverOptions) *bool { return &o.recursion }),
	boolOption("case_randomization", func(o *resolverOptions) *bool { return &o.caseRandom }),
	plain.Field[resolverOptions]{Name: "trust_anchor_file", Decode: func(o *resolverOptions, _ any) error {
		o.hasTrustAnchor = true
		return nil
	}},
)

// decodeOptions decodes KumoMTA's resolver options (see optionsSchema).
func decodeOptions(v any) (Options, error) {
	ro := resolverOptions{recursion: true}
	if _, err := plain.AsMap(v, "a table"); err != nil {
		return Options{}, err
	}
	if err := optionsSchema.Decode(&ro, v); err != nil {
		return Options{}, err
	}
	o := ro.Options
	o.Attempts = int(min(ro.attempts, 100))
	o.NoRecursion = !ro.recursion
	switch {
	case ro.hostsFile == "Always" || ro.hostsFile == "Auto":
		return o, plain.Custom("use_hosts_file = '%s' is not supported by kumopolicy: the hosts file is never consulted (remove the option or use 'Never')", ro.hostsFile)
	case ro.validate:
		return o, plain.Custom("validate = true is not supported by kumopolicy: DNSSEC is not validated")
	case ro.hasTrustAnchor:
		return o, plain.Custom("trust_anchor_file is not supported by kumopolicy: DNSSEC is not validated")
	case ro.caseRandom:
		return o, plain.Custom("case_randomization = true is not supported by kumopolicy")
	}
	return o, nil
}
