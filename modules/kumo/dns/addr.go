package dns

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// IPStrategy chooses which address families an address lookup asks for
// (KumoMTA's ip_lookup_strategy).
type IPStrategy int

const (
	// IPv4AndIPv6 asks for A and AAAA concurrently and uses both (default).
	IPv4AndIPv6 IPStrategy = iota
	// IPv4Only asks for A records only.
	IPv4Only
	// IPv6Only asks for AAAA records only.
	IPv6Only
	// IPv6ThenIPv4 asks for AAAA, then for A when there are none or the
	// AAAA lookup failed.
	IPv6ThenIPv4
	// IPv4ThenIPv6 asks for A, then for AAAA when there are none or the A
	// lookup failed.
	IPv4ThenIPv6
)

var strategyNames = []string{"Ipv4AndIpv6", "Ipv4Only", "Ipv6Only", "Ipv6ThenIpv4", "Ipv4ThenIpv6"}

// String returns KumoMTA's name for s.
func (s IPStrategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("IPStrategy(%d)", int(s))
}

// ParseIPStrategy accepts KumoMTA's names: Ipv4AndIpv6, Ipv4Only, Ipv6Only,
// Ipv6ThenIpv4, Ipv4ThenIpv6.
func ParseIPStrategy(s string) (IPStrategy, error) {
	for i, n := range strategyNames {
		if n == s {
			return IPStrategy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown variant `%s`, expected one of `Ipv4Only`, `Ipv6Only`, `Ipv4AndIpv6`, `Ipv6ThenIpv4`, `Ipv4ThenIpv6`", s)
}

type addrKey struct {
	name  string
	qtype uint16
}

// addrResult is one family's answer; err is set (and the entry expires at
// once) when the lookup failed: failures are not cached.
type addrResult struct {
	addrs []netip.Addr
	err   error
}

// LookupAddr resolves name to its addresses as strings, like
// kumo.dns.lookup_addr: IPv4 addresses first, then IPv6. A domain literal
// (`[10.0.0.1]`, `[IPv6:::1]`), a bare IP address or an absolute unix
// socket path is returned as it is, without DNS. A name that does not
// exist, or has no address records, gives an empty list, not an error
// (KumoMTA's behaviour); timeouts and server failures are errors.
func (r *Resolver) LookupAddr(ctx context.Context, name string, strategy IPStrategy) ([]string, error) {
	if lit, ok, err := addrLiteral(name); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return []string{lit}, nil
	}
	ips, err := r.LookupIP(ctx, name, strategy)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out, nil
}

// addrLiteral recognises the inputs LookupAddr answers without DNS.
func addrLiteral(name string) (string, bool, error) {
	if strings.HasPrefix(name, "[") {
		if !strings.HasSuffix(name, "]") || len(name) < 2 {
			return "", false, fmt.Errorf("domain_name `%s` is a malformed literal domain with no trailing `]`", name)
		}
		literal := asciiLower(name[1 : len(name)-1])
		if v6, ok := strings.CutPrefix(literal, "ipv6:"); ok {
			a, err := parseIP(v6)
			if err != nil || !a.Is6() {
				return "", false, fmt.Errorf("invalid ipv6 address: `%s`: invalid IPv6 address syntax", v6)
			}
			return a.String(), true, nil
		}
		if s, ok := hostAddress(literal); ok {
			return s, true, nil
		}
		return "", false, fmt.Errorf("invalid address: `%s`: invalid IP address syntax", literal)
	}
	if s, ok := hostAddress(name); ok {
		return s, true, nil
	}
	return "", false, nil
}

// hostAddress parses an IP address (optionally in brackets) or an absolute
// unix socket path.
func hostAddress(s string) (string, bool) {
	if a, err := parseIP(s); err == nil {
		return a.String(), true
	}
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := parseIP(s[1 : len(s)-1]); err == nil {
			return a.String(), true
		}
	}
	if strings.HasPrefix(s, "/") && len(s) < 108 && strings.IndexByte(s, 0) < 0 {
		return s, true
	}
	return "", false
}

// LookupIP resolves the A and/or AAAA records of name (see LookupAddr) with
// the process-wide address cache: answers live for their TTL, NXDOMAIN and
// NODATA for their negative TTL; failures are not cached.
func (r *Resolver) LookupIP(ctx context.Context, name string, strategy IPStrategy) ([]netip.Addr, error) {
	fq, err := fullyQualify(name)
	if err != nil || name == "" {
		if err == nil {
			err = fmt.Errorf("empty name")
		}
		return nil, fmt.Errorf("invalid DNS name `%s`: %v", name, err)
	}
	type family struct {
		res addrResult
		ran bool
	}
	var v4, v6 family
	lookup := func(qtype uint16) family {
		res, err := r.addrs.getOrFill(ctx, addrKey{fq, qtype}, func() (addrResult, time.Time) {
			return r.lookupFamily(fq, qtype)
		})
		if err != nil {
			res = addrResult{err: fmt.Errorf("DNS: lookup of %s: %w", fq, err)}
		}
		return family{res: res, ran: true}
	}
	usable := func(f family) bool { return f.res.err == nil && len(f.res.addrs) > 0 }
	switch strategy {
	case IPv4Only:
		v4 = lookup(mdns.TypeA)
	case IPv6Only:
		v6 = lookup(mdns.TypeAAAA)
	case IPv6ThenIPv4:
		if v6 = lookup(mdns.TypeAAAA); !usable(v6) {
			v4 = lookup(mdns.TypeA)
		}
	case IPv4ThenIPv6:
		if v4 = lookup(mdns.TypeA); !usable(v4) {
			v6 = lookup(mdns.TypeAAAA)
		}
	default:
		done := make(chan struct{})
		go func() {
			defer close(done)
			v6 = lookup(mdns.TypeAAAA)
		}()
		v4 = lookup(mdns.TypeA)
		<-done
	}
	var addrs []netip.Addr
	var firstErr error
	for _, f := range []family{v4, v6} {
		if !f.ran {
			continue
		}
		if f.res.err != nil {
			if firstErr == nil {
				firstErr = f.res.err
			}
			continue
		}
		addrs = append(addrs, f.res.addrs...)
	}
	if len(addrs) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return addrs, nil
}

// lookupFamily queries one address family.
func (r *Resolver) lookupFamily(fq string, qtype uint16) (addrResult, time.Time) {
	a, err := r.query(context.Background(), fq, qtype)
	if err != nil {
		return addrResult{err: err}, r.now()
	}
	var out []netip.Addr
	for _, rr := range a.records {
		switch x := rr.(type) {
		case *mdns.A:
			if ip, ok := netip.AddrFromSlice(x.A.To4()); ok {
				out = append(out, ip)
			}
		case *mdns.AAAA:
			if ip, ok := netip.AddrFromSlice(x.AAAA.To16()); ok {
				out = append(out, ip)
			}
		}
	}
	return addrResult{addrs: out}, a.expires
}
