package kumo

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
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
		L.ArgError(n, fmt.Sprintf("invalid type: %s, expected a resolver name", luart.Describe(v)))
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
