package kumo

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// kumo.dns: MX and address lookups through the runtime's dns.Resolver
// (process-wide for a kumopolicy process), resolver configuration and the
// MX tunables. See the dns package for the resolution rules.
//
// Not provided (they raise "not supported"): define_resolver and named
// resolvers, configure_unbound_resolver, the Unbound, Test and Aggregate
// resolver forms, lookup_ptr, lookup_txt, rbl_lookup, load_resolv_conf and
// MTA-STS (set_mta_sts_enabled(true)).

// openDNS installs the dns functions. They use svc.Resolver, which
// kumo.dns.configure_resolver changes in place for every state.
func (svc *Services) openDNS(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "dns")
	resolver := func() *dns.Resolver { return svc.Resolver }
	L.SetFuncs(t, map[string]lua.LGFunction{
		"lookup_mx":                 func(L *lua.LState) int { return dnsLookupMX(L, resolver()) },
		"lookup_addr":               func(L *lua.LState) int { return dnsLookupAddr(L, resolver()) },
		"configure_resolver":        func(L *lua.LState) int { return dnsConfigureResolver(L, resolver()) },
		"set_mx_timeout":            func(L *lua.LState) int { return dnsSetMXTimeout(L, resolver()) },
		"set_mx_concurrency_limit":  func(L *lua.LState) int { return dnsSetMXConcurrencyLimit(L, resolver()) },
		"set_mx_negative_cache_ttl": func(L *lua.LState) int { return dnsSetMXNegativeCacheTTL(L, resolver()) },
		"set_mta_sts_enabled":       dnsSetMTASTSEnabled,
		"ptr_host":                  dnsPtrHost,
		"reverse_ip":                dnsReverseIP,
	})
}

// checkResolverName rejects the optional resolver name argument: named
// resolvers (kumo.dns.define_resolver) are not supported, so no name is
// defined.
func checkResolverName(L *lua.LState, n int) {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
	case lua.LString:
		L.RaiseError("resolver %s is not defined", string(v))
	default:
		L.ArgError(n, fmt.Sprintf("invalid type: %s, expected a resolver name", describe(v)))
	}
}

// kumo.dns.lookup_mx(DOMAIN [, RESOLVER_NAME])
func dnsLookupMX(L *lua.LState, r *dns.Resolver) int {
	domain := L.CheckString(1)
	checkResolverName(L, 2)
	mx, err := r.LookupMX(contextOf(L), domain)
	if err != nil {
		raise(L, err)
	}
	L.Push(mailExchangerTable(L, mx))
	return 1
}

// mailExchangerTable builds kumo.dns.lookup_mx's table: domain_name, hosts,
// site_name, by_pref (preference => hosts), is_domain_literal, is_secure,
// is_mx and mta_sts.
func mailExchangerTable(L *lua.LState, mx *dns.MailExchanger) *lua.LTable {
	t := L.CreateTable(0, 8)
	t.RawSetString("domain_name", lua.LString(mx.DomainName))
	t.RawSetString("hosts", luart.ToLua(L, mx.Hosts))
	t.RawSetString("site_name", lua.LString(mx.SiteName))
	byPref := L.NewTable()
	for _, p := range mx.ByPref {
		byPref.RawSetInt(int(p.Pref), luart.ToLua(L, p.Hosts))
	}
	t.RawSetString("by_pref", byPref)
	t.RawSetString("is_domain_literal", lua.LBool(mx.IsDomainLiteral))
	t.RawSetString("is_secure", lua.LBool(mx.IsSecure))
	t.RawSetString("is_mx", lua.LBool(mx.IsMX))
	t.RawSetString("mta_sts", lua.LString(mx.MTASTS))
	return t
}

// kumo.dns.lookup_addr(NAME [, RESOLVER_NAME [, STRATEGY]])
func dnsLookupAddr(L *lua.LState, r *dns.Resolver) int {
	name := L.CheckString(1)
	checkResolverName(L, 2)
	strategy := dns.IPv4AndIPv6
	if v := L.Get(3); v != lua.LNil {
		s, ok := v.(lua.LString)
		if !ok {
			L.ArgError(3, fmt.Sprintf("invalid type: %s, expected an ip lookup strategy", describe(v)))
		}
		st, err := dns.ParseIPStrategy(string(s))
		if err != nil {
			raise(L, err)
		}
		strategy = st
	}
	addrs, err := r.LookupAddr(contextOf(L), name, strategy)
	if err != nil {
		raise(L, err)
	}
	L.Push(luart.ToLua(L, addrs))
	return 1
}

// dnsDuration reads a duration argument: seconds or a humantime string.
func dnsDuration(L *lua.LState, fn string) time.Duration {
	d, err := memoizeDuration(L.Get(1))
	if err != nil {
		raise(L, fmt.Errorf("%s: %v", fn, err))
	}
	return d
}

func dnsSetMXTimeout(L *lua.LState, r *dns.Resolver) int {
	if err := r.SetMXTimeout(dnsDuration(L, "set_mx_timeout")); err != nil {
		raise(L, err)
	}
	return 0
}

func dnsSetMXNegativeCacheTTL(L *lua.LState, r *dns.Resolver) int {
	if err := r.SetMXNegativeCacheTTL(dnsDuration(L, "set_mx_negative_cache_ttl")); err != nil {
		raise(L, err)
	}
	return 0
}

func dnsSetMXConcurrencyLimit(L *lua.LState, r *dns.Resolver) int {
	v := L.Get(1)
	n, ok := v.(lua.LNumber)
	i, isInt := luart.NumberToGo(float64(n)).(int64)
	if !ok || !isInt || i < 0 {
		raise(L, fmt.Errorf("set_mx_concurrency_limit: invalid value: %s, expected a non-negative integer", describe(v)))
	}
	if err := r.SetMXConcurrencyLimit(int(min(i, 1<<31))); err != nil {
		raise(L, err)
	}
	return 0
}

func dnsSetMTASTSEnabled(L *lua.LState) int {
	if L.CheckBool(1) {
		L.RaiseError("kumo.dns.set_mta_sts_enabled(true): MTA-STS is not supported by kumopolicy; MX resolution never consults MTA-STS policies (call it with false, or not at all)")
	}
	return 0
}

func dnsPtrHost(L *lua.LState) int {
	ip := dnsCheckIP(L)
	suffix := ".in-addr.arpa"
	if ip.Is6() {
		suffix = ".ip6.arpa"
	}
	L.Push(lua.LString(reverseIP(ip) + suffix))
	return 1
}

func dnsReverseIP(L *lua.LState) int {
	L.Push(lua.LString(reverseIP(dnsCheckIP(L))))
	return 1
}

func dnsCheckIP(L *lua.LState) netip.Addr {
	s := L.CheckString(1)
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" {
		L.RaiseError("invalid IP address syntax")
	}
	return ip
}

// reverseIP renders ip in reverse-DNS order: octets for IPv4, nibbles for
// IPv6, without the arpa suffix.
func reverseIP(ip netip.Addr) string {
	b := ip.AsSlice()
	parts := make([]string, 0, 2*len(b))
	for i := len(b) - 1; i >= 0; i-- {
		if ip.Is4() {
			parts = append(parts, strconv.Itoa(int(b[i])))
		} else {
			parts = append(parts, strconv.FormatUint(uint64(b[i]&0xf), 16), strconv.FormatUint(uint64(b[i]>>4), 16))
		}
	}
	return strings.Join(parts, ".")
}

// kumo.dns.configure_resolver(CONFIG)
//
// Accepted: the DnsResolverConfig table ({name_servers=..., domain=...,
// search=..., options=...}), the same wrapped as {Hickory = {...}}, and the
// string 'HickorySystemConfig' (back to /etc/resolv.conf). The resolver's
// caches are kept, as in KumoMTA.
func dnsConfigureResolver(L *lua.LState, r *dns.Resolver) int {
	cfg, err := parseResolverConfig(L, L.Get(1))
	if err != nil {
		raise(L, fmt.Errorf("kumo.dns.configure_resolver: %v", err))
	}
	r.Configure(cfg)
	return 0
}

var resolverVariants = []string{"Hickory", "HickorySystemConfig", "Unbound", "Test", "Aggregate"}

func unsupportedResolver(variant string) error {
	return fmt.Errorf("the `%s` resolver is not supported by kumopolicy; configure name_servers = {'IP:PORT', ...} instead (in tests, the address of a local test DNS server)", variant)
}

func parseResolverConfig(L *lua.LState, v lua.LValue) (dns.Config, error) {
	switch x := v.(type) {
	case lua.LString:
		switch s := string(x); s {
		case "HickorySystemConfig":
			return dns.Config{}, nil
		case "Hickory", "Unbound", "Test", "Aggregate":
			return dns.Config{}, fmt.Errorf("invalid type: unit variant, expected the `%s` variant's configuration table", s)
		default:
			return dns.Config{}, fmt.Errorf("unknown variant `%s`, expected one of %s", s, expectedList(resolverVariants))
		}
	case *lua.LTable:
		if variant, inner, ok := singleVariant(x); ok {
			switch variant {
			case "Hickory":
				t, ok := inner.(*lua.LTable)
				if !ok {
					return dns.Config{}, fmt.Errorf("Hickory: invalid type: %s, expected a table", describe(inner))
				}
				return parseDNSResolverConfig(L, t)
			case "HickorySystemConfig":
				return dns.Config{}, errors.New("invalid type: map, expected the string 'HickorySystemConfig'")
			default:
				return dns.Config{}, unsupportedResolver(variant)
			}
		}
		return parseDNSResolverConfig(L, x)
	default:
		return dns.Config{}, fmt.Errorf("invalid type: %s, expected a resolver configuration table", describe(v))
	}
}

// singleVariant reports whether t is {Variant = VALUE} for one of the
// structured resolver forms.
func singleVariant(t *lua.LTable) (string, lua.LValue, bool) {
	var name string
	var value lua.LValue
	n := 0
	t.ForEach(func(k, v lua.LValue) {
		n++
		if s, ok := k.(lua.LString); ok {
			name, value = string(s), v
		}
	})
	if n != 1 {
		return "", nil, false
	}
	for _, variant := range resolverVariants {
		if name == variant {
			return name, value, true
		}
	}
	return "", nil, false
}

// parseDNSResolverConfig decodes KumoMTA's DnsResolverConfig strictly.
func parseDNSResolverConfig(L *lua.LState, t *lua.LTable) (dns.Config, error) {
	p := &params{L: L, t: t}
	domain := p.Value("domain", false)
	search := p.Value("search", false)
	servers := p.Value("name_servers", false)
	options := p.Value("options", false)
	if err := p.Err(); err != nil {
		return dns.Config{}, err
	}
	var cfg dns.Config
	// domain and search only matter for names that are not fully
	// qualified; every lookup here is, so they are checked and ignored
	// (as they are irrelevant to MX resolution in KumoMTA too).
	if domain != lua.LNil {
		s, ok := domain.(lua.LString)
		if !ok {
			return cfg, fmt.Errorf("domain: invalid type: %s, expected a string", describe(domain))
		}
		if err := dns.CheckName(string(s)); err != nil {
			return cfg, fmt.Errorf("domain: '%s': %v", s, err)
		}
	}
	if search != lua.LNil {
		list, err := luaArray(search, "search")
		if err != nil {
			return cfg, err
		}
		for i, v := range list {
			s, ok := v.(lua.LString)
			if !ok {
				return cfg, fmt.Errorf("search[%d]: invalid type: %s, expected a string", i+1, describe(v))
			}
			if err := dns.CheckName(string(s)); err != nil {
				return cfg, fmt.Errorf("search: '%s': %v", s, err)
			}
		}
	}
	list, err := luaArray(servers, "name_servers")
	if err != nil {
		return cfg, err
	}
	for i, v := range list {
		ns, err := parseNameServerEntry(L, v)
		if err != nil {
			return cfg, fmt.Errorf("name_servers[%d]: %v", i+1, err)
		}
		cfg.NameServers = append(cfg.NameServers, ns)
	}
	if len(cfg.NameServers) == 0 {
		return cfg, errors.New("name_servers: at least one name server is required (use 'HickorySystemConfig' for the servers of /etc/resolv.conf)")
	}
	if options != lua.LNil {
		ot, ok := options.(*lua.LTable)
		if !ok {
			return cfg, fmt.Errorf("options: invalid type: %s, expected a table", describe(options))
		}
		if cfg.Options, err = parseResolverOptions(L, ot); err != nil {
			return cfg, fmt.Errorf("options: %v", err)
		}
	}
	return cfg, nil
}

// luaArray returns the elements of a sequence table (nil is empty).
func luaArray(v lua.LValue, field string) ([]lua.LValue, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case *lua.LTable:
		var out []lua.LValue
		n := x.Len()
		count := 0
		x.ForEach(func(lua.LValue, lua.LValue) { count++ })
		if count != n {
			return nil, fmt.Errorf("%s: invalid type: map, expected a sequence", field)
		}
		for i := 1; i <= n; i++ {
			out = append(out, x.RawGetInt(i))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%s: invalid type: %s, expected a sequence", field, describe(v))
	}
}

// parseNameServerEntry reads 'IP:PORT' or {socket_addr=..., protocol=...,
// trust_negative_responses=..., bind_addr=...}.
func parseNameServerEntry(L *lua.LState, v lua.LValue) (dns.NameServer, error) {
	switch x := v.(type) {
	case lua.LString:
		return dns.ParseNameServer(string(x))
	case *lua.LTable:
		p := &params{L: L, t: x}
		addr := p.String("socket_addr", true, "")
		proto := p.String("protocol", false, "udp_then_tcp")
		trust := p.Bool("trust_negative_responses", false, true)
		bind := p.String("bind_addr", false, "")
		if err := p.Err(); err != nil {
			return dns.NameServer{}, err
		}
		ns, err := dns.ParseNameServer(addr)
		if err != nil {
			return ns, err
		}
		if ns.Protocol, err = dns.ParseProtocol(proto); err != nil {
			return ns, fmt.Errorf("protocol: %v", err)
		}
		ns.DistrustNegative = !trust
		if bind != "" {
			if ns.BindAddr, err = dns.ParseSocketAddr(bind); err != nil {
				return ns, fmt.Errorf("name server '%s' bind_addr: '%s': %v", addr, bind, err)
			}
		}
		return ns, nil
	default:
		return dns.NameServer{}, fmt.Errorf("invalid type: %s, expected 'IP:PORT' or a name server table", describe(v))
	}
}

// parseResolverOptions decodes KumoMTA's resolver options. Options that
// change what kumopolicy's resolver does are applied; options without an
// effect here (ndots, cache_size, ip_strategy, num_concurrent_reqs,
// preserve_intermediates, server_ordering_strategy) are checked and
// ignored; options asking for something kumopolicy cannot do raise.
func parseResolverOptions(L *lua.LState, t *lua.LTable) (dns.Options, error) {
	var o dns.Options
	p := &params{L: L, t: t}
	p.Uint("ndots", false, 0)
	timeout := p.Value("timeout", false)
	o.Attempts = int(min(p.Uint("attempts", false, 0), 100))
	o.EDNS0 = p.Bool("edns0", false, false)
	validate := p.Bool("validate", false, false)
	ipStrategy := p.String("ip_strategy", false, "")
	p.Uint("cache_size", false, 0)
	hosts := p.String("use_hosts_file", false, "")
	posMin := p.Value("positive_min_ttl", false)
	negMin := p.Value("negative_min_ttl", false)
	posMax := p.Value("positive_max_ttl", false)
	negMax := p.Value("negative_max_ttl", false)
	p.Uint("num_concurrent_reqs", false, 0)
	p.Bool("preserve_intermediates", false, false)
	o.TryTCPOnError = p.Bool("try_tcp_on_error", false, false)
	ordering := p.String("server_ordering_strategy", false, "")
	o.NoRecursion = !p.Bool("recursion_desired", false, true)
	caseRandom := p.Bool("case_randomization", false, false)
	trustAnchor := p.Value("trust_anchor_file", false)
	if err := p.Err(); err != nil {
		return o, err
	}
	durations := []struct {
		name string
		v    lua.LValue
		dst  *time.Duration
	}{
		{"timeout", timeout, &o.Timeout},
		{"positive_min_ttl", posMin, &o.PositiveMinTTL},
		{"negative_min_ttl", negMin, &o.NegativeMinTTL},
		{"positive_max_ttl", posMax, &o.PositiveMaxTTL},
		{"negative_max_ttl", negMax, &o.NegativeMaxTTL},
	}
	for _, d := range durations {
		if d.v == lua.LNil {
			continue
		}
		v, err := memoizeDuration(d.v)
		if err != nil {
			return o, fmt.Errorf("%s: %v", d.name, err)
		}
		*d.dst = v
	}
	if ipStrategy != "" {
		switch ipStrategy {
		case "Ipv4Only", "Ipv6Only", "Ipv4AndIpv6", "Ipv6AndIpv4", "Ipv6thenIpv4", "Ipv4thenIpv6":
		default:
			return o, fmt.Errorf("ip_strategy: unknown variant `%s`, expected one of `Ipv4Only`, `Ipv6Only`, `Ipv4AndIpv6`, `Ipv6AndIpv4`, `Ipv6thenIpv4`, `Ipv4thenIpv6`", ipStrategy)
		}
	}
	if ordering != "" {
		switch ordering {
		case "QueryStatistics", "RoundRobin", "UserProvidedOrder":
		default:
			return o, fmt.Errorf("server_ordering_strategy: unknown variant `%s`, expected one of `QueryStatistics`, `RoundRobin`, `UserProvidedOrder`", ordering)
		}
	}
	switch hosts {
	case "", "Never":
	case "Always", "Auto":
		return o, fmt.Errorf("use_hosts_file = '%s' is not supported by kumopolicy: the hosts file is never consulted (remove the option or use 'Never')", hosts)
	default:
		return o, fmt.Errorf("use_hosts_file: unknown variant `%s`, expected one of `Always`, `Auto`, `Never`", hosts)
	}
	if validate {
		return o, errors.New("validate = true is not supported by kumopolicy: DNSSEC is not validated")
	}
	if trustAnchor != lua.LNil {
		return o, errors.New("trust_anchor_file is not supported by kumopolicy: DNSSEC is not validated")
	}
	if caseRandom {
		return o, errors.New("case_randomization = true is not supported by kumopolicy")
	}
	return o, nil
}
