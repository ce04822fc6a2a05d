package kumo

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.dns: MX, address, PTR, TXT and DNSBL lookups through the
// runtime's dns.Resolver (process-wide for a kumopolicy process) or a
// resolver named with define_resolver, resolver configuration (name
// servers, in-memory Test zones, Aggregate lists) and the MX tunables. See
// the dns package for the resolution rules.
//
// The Unbound forms (configure_unbound_resolver, {Unbound = ...}) run in
// Unbound's forwarding mode on kumopolicy's own resolver: recursion and
// DNSSEC validation raise "not supported". MTA-STS is not supported
// (set_mta_sts_enabled(true) raises).
// configure_test_mta_sts, which KumoMTA's tests use to mock policies,
// checks each policy's text and records it; nothing applies it.

// openDNS installs the dns functions. They use svc.Resolver, which
// kumo.dns.configure_resolver and configure_test_resolver change in place
// for every state, or the svc.NamedResolvers a lookup names.
func (svc *Services) openDNS(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "dns")
	resolver := func() *dns.Resolver { return svc.Resolver }
	named := func(L *lua.LState, n int) *dns.Resolver { return svc.resolverArg(L, n) }
	L.SetFuncs(t, map[string]lua.LGFunction{
		"lookup_mx":                  func(L *lua.LState) int { return dnsLookupMX(L, named(L, 2)) },
		"lookup_addr":                func(L *lua.LState) int { return dnsLookupAddr(L, named(L, 2)) },
		"lookup_ptr":                 func(L *lua.LState) int { return dnsLookupPTR(L, named(L, 2)) },
		"lookup_txt":                 func(L *lua.LState) int { return dnsLookupTXT(L, named(L, 2)) },
		"rbl_lookup":                 func(L *lua.LState) int { return dnsRBLLookup(L, named(L, 3)) },
		"configure_resolver":         func(L *lua.LState) int { return dnsConfigureResolver(L, resolver()) },
		"configure_test_resolver":    func(L *lua.LState) int { return dnsConfigureTestResolver(L, resolver()) },
		"configure_unbound_resolver": func(L *lua.LState) int { return dnsConfigureUnboundResolver(L, resolver()) },
		"define_resolver":            func(L *lua.LState) int { return dnsDefineResolver(L, svc.NamedResolvers) },
		"load_resolv_conf":           dnsLoadResolvConf,
		"set_mx_timeout":             func(L *lua.LState) int { return dnsSetMXTimeout(L, resolver()) },
		"set_mx_concurrency_limit":   func(L *lua.LState) int { return dnsSetMXConcurrencyLimit(L, resolver()) },
		"set_mx_negative_cache_ttl":  func(L *lua.LState) int { return dnsSetMXNegativeCacheTTL(L, resolver()) },
		"set_mta_sts_enabled":        dnsSetMTASTSEnabled,
		"configure_test_mta_sts":     func(L *lua.LState) int { return dnsConfigureTestMTASTS(L, svc.Recorder) },
		"ptr_host":                   dnsPtrHost,
		"reverse_ip":                 dnsReverseIP,
	})
}

// resolverArg reads the optional resolver name argument n: the default
// resolver when it is nil, else the resolver define_resolver gave that
// name.
func (svc *Services) resolverArg(L *lua.LState, n int) *dns.Resolver {
	switch v := L.Get(n).(type) {
	case *lua.LNilType:
		return svc.Resolver
	case lua.LString:
		if r, ok := svc.NamedResolvers.Get(string(v)); ok {
			return r
		}
		L.RaiseError("resolver %s is not defined", string(v))
	default:
		L.ArgError(n, fmt.Sprintf("invalid type: %s, expected a resolver name", luart.Describe(v)))
	}
	return nil
}

// kumo.dns.lookup_mx(DOMAIN [, RESOLVER_NAME])
func dnsLookupMX(L *lua.LState, r *dns.Resolver) int {
	domain := L.CheckString(1)
	mx, err := r.LookupMX(contextOf(L), domain)
	if err != nil {
		raise(L, err)
	}
	L.Push(mailExchangerTable(L, mx))
	return 1
}

// kumo.dns.lookup_ptr(IP [, RESOLVER_NAME]): the PTR names, fully
// qualified; an empty list when there are none.
func dnsLookupPTR(L *lua.LState, r *dns.Resolver) int {
	ip := dnsCheckIP(L)
	names, err := r.LookupPTR(contextOf(L), ip)
	if err != nil {
		raise(L, err)
	}
	L.Push(luart.ToLua(L, names))
	return 1
}

// kumo.dns.lookup_txt(DOMAIN [, RESOLVER_NAME]): the TXT records, each
// one's strings joined. A name that does not exist is an error.
func dnsLookupTXT(L *lua.LState, r *dns.Resolver) int {
	name := L.CheckString(1)
	txt, err := r.LookupTXT(contextOf(L), name)
	if err != nil {
		raise(L, err)
	}
	L.Push(luart.ToLua(L, txt))
	return 1
}

// kumo.dns.rbl_lookup(IP, BASE_DOMAIN [, RESOLVER_NAME]): the listed
// address and its TXT reason, or nil, nil when IP is not listed.
func dnsRBLLookup(L *lua.LState, r *dns.Resolver) int {
	ip, err := dns.ParseRBLAddress(L.CheckString(1))
	if err != nil {
		raise(L, fmt.Errorf("kumo.dns.rbl_lookup: %v", err))
	}
	base := L.CheckString(2)
	addr, reason, listed, hasReason, err := r.RBLLookup(contextOf(L), ip, base)
	if err != nil {
		raise(L, err)
	}
	if !listed {
		L.Push(lua.LNil)
		L.Push(lua.LNil)
		return 2
	}
	L.Push(lua.LString(addr))
	if hasReason {
		L.Push(lua.LString(reason))
	} else {
		L.Push(lua.LNil)
	}
	return 2
}

// kumo.dns.configure_test_resolver(ZONES): the default resolver answers
// from in-memory zones from now on (dns.DecodeTestConfig: a list of zones,
// or {zones = ..., servfail = ...}). The MX and address caches are emptied.
func dnsConfigureTestResolver(L *lua.LState, r *dns.Resolver) int {
	g, err := luart.ToGo(L.Get(1))
	if err == nil {
		var cfg dns.Config
		if cfg, err = dns.DecodeTestConfig(g); err == nil {
			r.Configure(cfg)
			return 0
		}
	}
	raise(L, fmt.Errorf("kumo.dns.configure_test_resolver: %v", err))
	return 0
}

// kumo.dns.define_resolver(NAME, CONFIG): CONFIG is decoded as
// configure_resolver's; the named resolver has caches of its own.
func dnsDefineResolver(L *lua.LState, reg *dns.Registry) int {
	name := L.CheckString(1)
	g, err := luart.ToGo(L.Get(2))
	if err == nil {
		var cfg dns.Config
		if cfg, err = dns.DecodeResolverConfig(g); err == nil {
			reg.Define(name, cfg)
			return 0
		}
	}
	raise(L, fmt.Errorf("kumo.dns.define_resolver: %v", err))
	return 0
}

// kumo.dns.load_resolv_conf([PATH]): PATH (default /etc/resolv.conf) as a
// table configure_resolver accepts: name_servers, domain, search and
// options (ndots, timeout, attempts, edns0 when the file sets them).
func dnsLoadResolvConf(L *lua.LState) int {
	path := L.OptString(1, dns.DefaultResolvConf)
	rc, err := dns.ReadResolvConf(path)
	if err != nil {
		raise(L, fmt.Errorf("kumo.dns.load_resolv_conf: %v", err))
	}
	t := L.NewTable()
	t.RawSetString("name_servers", luart.ToLua(L, orEmpty(rc.NameServers)))
	if rc.Domain != "" {
		t.RawSetString("domain", lua.LString(rc.Domain))
	}
	if rc.Search != nil {
		t.RawSetString("search", luart.ToLua(L, rc.Search))
	}
	opts := L.NewTable()
	if rc.HasNdots {
		opts.RawSetString("ndots", lua.LNumber(rc.Ndots))
	}
	if rc.HasTimeout {
		opts.RawSetString("timeout", lua.LString(fmt.Sprintf("%ds", rc.TimeoutSeconds)))
	}
	if rc.HasAttempts {
		opts.RawSetString("attempts", lua.LNumber(rc.Attempts))
	}
	if rc.EDNS0 {
		opts.RawSetString("edns0", lua.LTrue)
	}
	t.RawSetString("options", opts)
	L.Push(t)
	return 1
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// kumo.dns.lookup_addr(NAME [, RESOLVER_NAME [, STRATEGY]])
func dnsLookupAddr(L *lua.LState, r *dns.Resolver) int {
	name := L.CheckString(1)
	strategy := dns.IPv4AndIPv6
	if v := L.Get(3); v != lua.LNil {
		s, ok := v.(lua.LString)
		if !ok {
			L.ArgError(3, fmt.Sprintf("invalid type: %s, expected an ip lookup strategy", luart.Describe(v)))
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
	d, err := decodeLuaDuration(L.Get(1))
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
	g, err := luart.ToGo(L.Get(1))
	var n uint64
	if err == nil {
		n, err = plain.DecodeUint(g, 64)
	}
	if err != nil {
		raise(L, fmt.Errorf("set_mx_concurrency_limit: %v", err))
	}
	if err := r.SetMXConcurrencyLimit(int(min(n, 1<<31))); err != nil {
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
	L.Push(lua.LString(dns.ReverseLabels(ip) + suffix))
	return 1
}

func dnsReverseIP(L *lua.LState) int {
	L.Push(lua.LString(dns.ReverseLabels(dnsCheckIP(L))))
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

// kumo.dns.configure_resolver(CONFIG)
//
// CONFIG is decoded by dns.DecodeResolverConfig. The resolver's caches are
// kept, as in KumoMTA.
func dnsConfigureResolver(L *lua.LState, r *dns.Resolver) int {
	g, err := luart.ToGo(L.Get(1))
	if err == nil {
		var cfg dns.Config
		if cfg, err = dns.DecodeResolverConfig(g); err == nil {
			r.Configure(cfg)
			return 0
		}
	}
	raise(L, fmt.Errorf("kumo.dns.configure_resolver: %v", err))
	return 0
}

// dnsConfigureUnboundResolver is kumo.dns.configure_unbound_resolver: the
// Unbound configuration in its forwarding mode (dns.DecodeUnbound).
func dnsConfigureUnboundResolver(L *lua.LState, r *dns.Resolver) int {
	g, err := luart.ToGo(L.Get(1))
	if err == nil {
		var cfg dns.Config
		if cfg, err = dns.DecodeUnbound(g); err == nil {
			r.Configure(cfg)
			return 0
		}
	}
	raise(L, fmt.Errorf("kumo.dns.configure_unbound_resolver: %v", err))
	return 0
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

// testSTSPolicies is what kumo.dns.configure_test_mta_sts recorded: the
// checked policies by domain.
type testSTSPolicies map[string]*dns.STSPolicy

func (t testSTSPolicies) Data() map[string]any {
	out := make(map[string]any, len(t))
	for domain, p := range t {
		mx := make([]any, len(p.MX))
		for i, m := range p.MX {
			mx[i] = m
		}
		out[domain] = map[string]any{"mode": p.Mode, "mx": mx, "max_age": int64(p.MaxAge)}
	}
	return out
}

// dnsConfigureTestMTASTS is kumo.dns.configure_test_mta_sts{DOMAIN = POLICY_TEXT, ...}:
// each policy is parsed as RFC 8461 defines it and recorded. kumopolicy's
// MX resolution never consults MTA-STS, so the policies only get checked.
func dnsConfigureTestMTASTS(L *lua.LState, rec *kumod.Recorder) int {
	const fn = "kumo.dns.configure_test_mta_sts"
	v, err := luart.ToGo(L.CheckTable(1))
	if err != nil {
		raise(L, fmt.Errorf("%s: %w", fn, err))
	}
	m, ok := v.(map[string]any)
	if !ok {
		raise(L, fmt.Errorf("%s: expected a table of domain = policy text, got %s", fn, plain.Describe(v)))
	}
	policies := testSTSPolicies{}
	for _, domain := range plain.SortedKeys(m) {
		text, ok := m[domain].(string)
		if !ok {
			raise(L, fmt.Errorf("%s: %s: expected the policy text, got %s", fn, domain, plain.Describe(m[domain])))
		}
		if err := dns.CheckName(domain); err != nil {
			raise(L, fmt.Errorf("%s: %q is not a domain name: %w", fn, domain, err))
		}
		p, err := dns.ParseSTSPolicy(text)
		if err != nil {
			raise(L, fmt.Errorf("%s: the policy for %s: %w", fn, domain, err))
		}
		policies[strings.ToLower(domain)] = p
	}
	record(L, rec, "dns.configure_test_mta_sts", policies)
	return 0
}
