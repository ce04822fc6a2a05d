package httpapi

import (
	"fmt"
	"net/netip"
	"strings"
)

// DefaultTrustedHosts is tsa.start_http_listener's default trusted_hosts.
var DefaultTrustedHosts = []string{"127.0.0.1", "::1"}

// TrustedHosts is a parsed trusted_hosts list: addresses and networks
// whose peers may use the protected routes.
type TrustedHosts struct {
	prefixes []netip.Prefix
}

// ParseTrustedHosts parses trusted_hosts entries, each an IP address
// ("10.0.0.1", "::1") or a CIDR network ("10.0.0.0/8", "fd00::/8"). An
// error names the first bad entry by its index and text. A network with
// host bits set ("10.1.2.3/8") is refused rather than silently widened.
func ParseTrustedHosts(entries []string) (*TrustedHosts, error) {
	t := &TrustedHosts{prefixes: make([]netip.Prefix, 0, len(entries))}
	for i, e := range entries {
		p, err := parseTrustedEntry(e)
		if err != nil {
			return nil, fmt.Errorf("trusted_hosts[%d] %q: %v", i+1, e, err)
		}
		t.prefixes = append(t.prefixes, p)
	}
	return t, nil
}

func parseTrustedEntry(e string) (netip.Prefix, error) {
	if strings.Contains(e, "/") {
		p, err := netip.ParsePrefix(e)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR network (expected address/bits, e.g. 10.0.0.0/8)")
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("host bits are set after /%d (the network is %s)", p.Bits(), p.Masked())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(e)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR network")
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("an IPv6 zone is not allowed")
	}
	a = a.Unmap() // peers are compared unmapped, see Contains
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Contains reports whether the peer address ip is trusted. An IPv4 peer
// seen on a dual-stack socket as ::ffff:a.b.c.d is compared as a.b.c.d:
// Go's net package reports such peers as IPv4 anyway, so this is the only
// consistent choice. (KumoMTA compares the mapped form, so there a peer
// 127.0.0.1 reaching a [::] listener is not matched by "127.0.0.1"; here
// it is.)
func (t *TrustedHosts) Contains(ip netip.Addr) bool {
	if t == nil {
		return false
	}
	ip = ip.Unmap().WithZone("")
	for _, p := range t.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// String lists the entries in canonical form.
func (t *TrustedHosts) String() string {
	var b strings.Builder
	for i, p := range t.prefixes {
		if i > 0 {
			b.WriteString(",")
		}
		if p.IsSingleIP() {
			b.WriteString(p.Addr().String())
		} else {
			b.WriteString(p.String())
		}
	}
	return b.String()
}
