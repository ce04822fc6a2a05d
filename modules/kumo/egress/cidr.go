package egress

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// CIDR is one entry of a CIDRSet: an IPv4 or IPv6 network, or Any (every
// address of both families, written "any").
type CIDR struct {
	Prefix netip.Prefix // masked; invalid when Any
	Any    bool
}

// String renders the network as KumoMTA does: a host network (/32, /128)
// as the bare address, others as address/length, Any as "any".
func (c CIDR) String() string {
	if c.Any {
		return "any"
	}
	if c.Prefix.Bits() == c.Prefix.Addr().BitLen() {
		return c.Prefix.Addr().String()
	}
	return c.Prefix.String()
}

// Contains reports whether ip is inside the network.
func (c CIDR) Contains(ip netip.Addr) bool {
	if c.Any {
		return ip.IsValid()
	}
	return c.Prefix.Contains(ip)
}

// parseRustIP parses an IP address as Rust's `IpAddr::from_str` does (no
// zones, no brackets); the error text is Rust's.
func parseRustIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("invalid IP address syntax")
	}
	return a, nil
}

// ParseCIDR parses one network strictly: "any", an address (a host
// network), or address/length with the host bits zero. Errors read as
// KumoMTA's, with a suggestion when only the host bits were wrong:
//
//	10.0.0.1/24 is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/24?
//	300.1.1.1 is not a valid CIDR: couldn't parse address in network: invalid IP address syntax
func ParseCIDR(s string) (CIDR, error) {
	c, loose, reason := parseCIDR(s)
	if reason == "" {
		return c, nil
	}
	if loose != nil {
		return CIDR{}, fmt.Errorf("%s is not a valid CIDR: %s. Did you mean %s?", s, reason, loose)
	}
	return CIDR{}, fmt.Errorf("%s is not a valid CIDR: %s", s, reason)
}

// parseCIDR returns the network, or a reason and (when only the host bits
// were set) the network the string probably meant.
func parseCIDR(s string) (CIDR, *CIDR, string) {
	if s == "any" {
		return CIDR{Any: true}, nil, ""
	}
	slash := strings.LastIndexByte(s, '/')
	if slash < 0 {
		a, err := parseRustIP(s)
		if err != nil {
			return CIDR{}, nil, "couldn't parse address in network: " + err.Error()
		}
		return CIDR{Prefix: netip.PrefixFrom(a, a.BitLen())}, nil, ""
	}
	a, err := parseRustIP(s[:slash])
	if err != nil {
		return CIDR{}, nil, "couldn't parse address in network: " + err.Error()
	}
	n, reason := parseRustUint(s[slash+1:], 8)
	if reason != "" {
		return CIDR{}, nil, "couldn't parse length in network: " + reason
	}
	if int(n) > a.BitLen() {
		family := "Ipv4"
		if a.Is6() {
			family = "Ipv6"
		}
		return CIDR{}, nil, fmt.Sprintf("invalid length for network: Network length %d is too long for %s (maximum: %d)", n, family, a.BitLen())
	}
	p := netip.PrefixFrom(a, int(n))
	masked := p.Masked()
	if masked.Addr() != a {
		return CIDR{}, &CIDR{Prefix: masked}, "host part of address was not zero"
	}
	return CIDR{Prefix: masked}, nil, ""
}

// CIDRSet is a set of networks, as used for prohibited_hosts and
// skip_hosts. Like KumoMTA's radix-tree set it is kept minimal: a network
// inside another is dropped, and two adjacent halves of a network merge
// into it. Entries are ordered IPv4 first, then by address.
type CIDRSet struct {
	entries []CIDR
}

// ParseCIDRSet parses a list of networks (see ParseCIDR). Every bad entry
// is reported, each as "<entry>: <error>", joined by ", ".
func ParseCIDRSet(entries []string) (CIDRSet, error) {
	var set CIDRSet
	var problems []string
	for _, e := range entries {
		c, err := ParseCIDR(e)
		if err != nil {
			problems = append(problems, e+": "+err.Error())
			continue
		}
		set.entries = append(set.entries, c)
	}
	if problems != nil {
		return CIDRSet{}, fmt.Errorf("%s", strings.Join(problems, ", "))
	}
	set.normalize()
	return set, nil
}

// MustParseCIDRSet is ParseCIDRSet for known-good literals.
func MustParseCIDRSet(entries ...string) CIDRSet {
	s, err := ParseCIDRSet(entries)
	if err != nil {
		panic(err)
	}
	return s
}

// DefaultProhibitedHosts is the default of prohibited_hosts: loopback and
// unspecified addresses. It prints as 0.0.0.0, 127.0.0.0/8, ::/127.
func DefaultProhibitedHosts() CIDRSet {
	return MustParseCIDRSet("127.0.0.0/8", "::1", "0.0.0.0", "::")
}

// Entries returns the networks in order. The slice must not be modified.
func (s CIDRSet) Entries() []CIDR { return s.entries }

// Strings returns the networks as strings, in order (the serialized form).
func (s CIDRSet) Strings() []string {
	out := make([]string, len(s.entries))
	for i, c := range s.entries {
		out[i] = c.String()
	}
	return out
}

// Len returns the number of networks.
func (s CIDRSet) Len() int { return len(s.entries) }

// Contains reports whether ip is in one of the networks.
func (s CIDRSet) Contains(ip netip.Addr) bool {
	for _, c := range s.entries {
		if c.Contains(ip) {
			return true
		}
	}
	return false
}

// DecodeCIDRSet converts plain data (a sequence of strings) to a CIDRSet.
func DecodeCIDRSet(v any) (CIDRSet, error) {
	list, err := plain.DecodeStringList(v)
	if err != nil {
		return CIDRSet{}, err
	}
	set, err := ParseCIDRSet(list)
	if err != nil {
		return CIDRSet{}, &plain.Error{Msg: err.Error()}
	}
	return set, nil
}

// bitKey is a network as a bit string, the way KumoMTA's tree orders and
// merges them: Any is the empty string; otherwise one family bit (0 for
// IPv4, 1 for IPv6) followed by the prefix bits.
type bitKey struct {
	n    int // length in bits, including the family bit
	addr [17]byte
}

func keyOf(c CIDR) bitKey {
	var k bitKey
	if c.Any {
		return k
	}
	a := c.Prefix.Addr()
	if a.Is6() {
		k.addr[0] = 0x80
	}
	raw := a.AsSlice()
	// Shift the address right by one bit behind the family bit.
	for i, b := range raw {
		k.addr[i] |= b >> 1
		k.addr[i+1] |= b << 7
	}
	k.n = 1 + c.Prefix.Bits()
	return k
}

func (k bitKey) bit(i int) bool { return k.addr[i/8]&(0x80>>uint(i%8)) != 0 }

// clip keeps the first n bits.
func (k bitKey) clip(n int) bitKey {
	out := bitKey{n: n}
	for i := 0; i < n; i++ {
		if k.bit(i) {
			out.addr[i/8] |= 0x80 >> uint(i%8)
		}
	}
	return out
}

// covers reports whether k is a prefix of o.
func (k bitKey) covers(o bitKey) bool {
	return k.n <= o.n && o.clip(k.n) == k
}

func (k bitKey) cidr() CIDR {
	if k.n == 0 {
		return CIDR{Any: true}
	}
	v6 := k.bit(0)
	size := 4
	if v6 {
		size = 16
	}
	raw := make([]byte, size)
	for i := 0; i < size*8 && i+1 < k.n; i++ {
		if k.bit(i + 1) {
			raw[i/8] |= 0x80 >> uint(i%8)
		}
	}
	a, _ := netip.AddrFromSlice(raw)
	return CIDR{Prefix: netip.PrefixFrom(a, k.n-1)}
}

func compareKeys(a, b bitKey) int {
	if c := bytes.Compare(a.addr[:], b.addr[:]); c != 0 {
		return c
	}
	return a.n - b.n
}

// normalize sorts the entries into tree order, drops networks covered by
// others and merges sibling halves, repeatedly.
func (s *CIDRSet) normalize() {
	keys := make([]bitKey, len(s.entries))
	for i, c := range s.entries {
		keys[i] = keyOf(c)
	}
	slices.SortFunc(keys, compareKeys)
	var stack []bitKey
	for _, k := range keys {
		if len(stack) > 0 && stack[len(stack)-1].covers(k) {
			continue
		}
		stack = append(stack, k)
		for len(stack) >= 2 {
			a, b := stack[len(stack)-2], stack[len(stack)-1]
			if a.n != b.n || a.n == 0 || a.clip(a.n-1) != b.clip(b.n-1) {
				break
			}
			stack = stack[:len(stack)-2]
			stack = append(stack, a.clip(a.n-1))
		}
	}
	s.entries = s.entries[:0]
	for _, k := range stack {
		s.entries = append(s.entries, k.cidr())
	}
}
