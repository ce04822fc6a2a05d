package dns

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	mdns "github.com/miekg/dns"
)

// PTR, TXT and DNSBL lookups (kumo.dns.lookup_ptr, lookup_txt and
// rbl_lookup). They are not cached: each one queries the resolver's name
// servers, or its zones.

// ReverseName returns the reverse-DNS name of ip: `4.3.2.1.in-addr.arpa.`
// for IPv4, nibbles under `ip6.arpa.` for IPv6.
func ReverseName(ip netip.Addr) string {
	return ReverseLabels(ip) + arpaSuffix(ip)
}

func arpaSuffix(ip netip.Addr) string {
	if ip.Is4() {
		return ".in-addr.arpa."
	}
	return ".ip6.arpa."
}

// ReverseLabels renders ip in reverse-DNS order without a suffix: octets
// for IPv4, nibbles for IPv6.
func ReverseLabels(ip netip.Addr) string {
	ip = ip.Unmap()
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

// LookupPTR returns the PTR targets of ip, fully qualified (`host.`). A
// name without PTR records (NXDOMAIN or NODATA) gives an empty list;
// failures are errors.
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	a, err := r.query(ctx, ReverseName(ip), mdns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(a.records))
	for _, rr := range a.records {
		out = append(out, displayName(rr.(*mdns.PTR).Ptr))
	}
	return out, nil
}

// LookupTXT returns the TXT records of name, each one's strings joined. A
// name that does not exist is an error (`NXDOMAIN`); one without TXT
// records gives an empty list.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	fq, err := fullyQualify(name)
	if err != nil || name == "" {
		if err == nil {
			err = fmt.Errorf("empty name")
		}
		return nil, fmt.Errorf("invalid DNS name `%s`: %v", name, err)
	}
	a, err := r.query(ctx, fq, mdns.TypeTXT)
	if err != nil {
		return nil, err
	}
	if a.nxdomain() {
		return nil, fmt.Errorf("TXT lookup for %s: NXDOMAIN", name)
	}
	return txtStrings(a), nil
}

func txtStrings(a *answer) []string {
	out := make([]string, 0, len(a.records))
	for _, rr := range a.records {
		out = append(out, strings.Join(rr.(*mdns.TXT).Txt, ""))
	}
	return out
}

// ParseRBLAddress parses the address given to rbl_lookup: an IP address, or
// a socket address with a port (`192.0.2.1:25`, `[2001:db8::1]:25`).
func ParseRBLAddress(s string) (netip.Addr, error) {
	if ip, err := parseIP(s); err == nil {
		return ip, nil
	}
	if host, port, err := net.SplitHostPort(s); err == nil {
		if _, err := parseU16(port); err == nil {
			if ip, err := parseIP(host); err == nil {
				return ip, nil
			}
		}
	}
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if ip, err := parseIP(s[1 : len(s)-1]); err == nil {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("invalid IP address `%s`", s)
}

// RBLLookup looks ip up in the DNS blocklist at base: the A records of
// the reversed address under base. When there is one, it returns the
// first address and the first TXT record of that name (the reason; empty
// and hasReason false when there is none). A name without A records is
// not listed: listed is false.
func (r *Resolver) RBLLookup(ctx context.Context, ip netip.Addr, base string) (addr string, reason string, listed, hasReason bool, err error) {
	baseFQ, err := fullyQualify(base)
	if err != nil || base == "" {
		if err == nil {
			err = fmt.Errorf("empty name")
		}
		return "", "", false, false, fmt.Errorf("invalid DNS name `%s`: %v", base, err)
	}
	name := ReverseLabels(ip) + "." + baseFQ
	a, err := r.query(ctx, name, mdns.TypeA)
	if err != nil {
		return "", "", false, false, err
	}
	if len(a.records) == 0 {
		return "", "", false, false, nil
	}
	addr = a.records[0].(*mdns.A).A.String()
	t, err := r.query(ctx, name, mdns.TypeTXT)
	if err != nil {
		return "", "", false, false, err
	}
	if txt := txtStrings(t); len(txt) > 0 {
		return addr, txt[0], true, true, nil
	}
	return addr, "", true, false, nil
}
