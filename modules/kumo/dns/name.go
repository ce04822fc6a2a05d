package dns

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/kumopolicy/kumopolicy/modules/kumo/dnsname"
)

// Name parsing follows KumoMTA's "relaxed" parse: what a name may hold is
// package dnsname's rule (with its reasons, in KumoMTA's words); then a name
// with non-ASCII characters goes through IDNA (UTS #46, without the STD3
// hostname rules, so `_dmarc` style labels are fine) to its punycode form.
// The result is lowercased and treated as fully qualified; names over 255
// bytes on the wire are rejected.

var idnaProfile = idna.New(
	idna.MapForLookup(),
	idna.StrictDomainName(false),
	idna.Transitional(false),
)

// errEmptyLabel and friends describe why a name does not parse.
var (
	errEmptyLabel = errors.New("empty label")
	errLongLabel  = errors.New("label exceeds the maximum length of 63 bytes")
	errLongName   = errors.New("name exceeds the maximum length of 255 bytes")
)

// parseName returns the labels of s, leftmost first, lowercased, with the
// root dropped. The root name (`.` or the empty string) has no labels.
func parseName(s string) ([]string, error) {
	if s == "" || s == "." {
		return nil, nil
	}
	// What a name may hold is the one rule of package dnsname (KumoMTA's
	// resolver library's relaxed parse, in its words).
	if why := dnsname.Check(s); why != "" {
		return nil, errors.New(why)
	}
	if !isASCII(s) {
		a, err := idnaProfile.ToASCII(s)
		if err != nil {
			return nil, err
		}
		s = a
		if s == "" || s == "." {
			return nil, nil
		}
	}
	s = strings.TrimSuffix(s, ".")
	labels := strings.Split(s, ".")
	wire := 1
	for i, l := range labels {
		if l == "" {
			return nil, errEmptyLabel
		}
		if len(l) > 63 {
			return nil, errLongLabel
		}
		wire += len(l) + 1
		labels[i] = asciiLower(l)
	}
	if wire > 255 {
		return nil, errLongName
	}
	return labels, nil
}

// CheckName reports why s is not a DNS name as the resolver parses names
// (nil when it is).
func CheckName(s string) error {
	_, err := parseName(s)
	return err
}

// CanonicalName returns the form in which names are compared: parsed as
// the resolver parses names (IDNA for non-ASCII names, lowercased), without
// the trailing dot. The root (an empty name) is an error.
func CanonicalName(s string) (string, error) {
	labels, err := parseName(s)
	if err != nil {
		return "", err
	}
	if len(labels) == 0 {
		return "", errors.New("empty name")
	}
	return strings.Join(labels, "."), nil
}

// CheckDomain reports why s is neither a DNS name nor a domain literal
// (`[192.0.2.1]`, `[IPv6:2001:db8::1]`), optionally with a `:port`, as the
// MX lookup parses its input (nil when it is one).
func CheckDomain(s string) error {
	_, err := classify(s)
	return err
}

// fullyQualify parses s and returns its lowercased, fully qualified
// presentation form (`example.com.`; the root is `.`).
func fullyQualify(s string) (string, error) {
	labels, err := parseName(s)
	if err != nil {
		return "", err
	}
	return presentation(labels), nil
}

// presentation renders labels as a fully qualified name. A backslash inside
// a label is escaped so that miekg/dns packs it as the byte it is.
func presentation(labels []string) string {
	if len(labels) == 0 {
		return "."
	}
	n := 0
	for _, l := range labels {
		n += len(l) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, l := range labels {
		if strings.IndexByte(l, '\\') >= 0 {
			l = strings.ReplaceAll(l, `\`, `\\`)
		}
		b.WriteString(l)
		b.WriteByte('.')
	}
	return b.String()
}

// displayName renders a name from a DNS answer the way KumoMTA shows an MX
// exchange: ASCII-lowercased, fully qualified, with punycode labels shown
// in Unicode.
func displayName(s string) string {
	s = asciiLower(dnsFqdn(s))
	if !strings.Contains(s, "xn--") {
		return s
	}
	labels := strings.Split(strings.TrimSuffix(s, "."), ".")
	for i, l := range labels {
		if strings.HasPrefix(l, "xn--") {
			if u, err := idna.Punycode.ToUnicode(l); err == nil {
				labels[i] = u
			}
		}
	}
	return strings.Join(labels, ".") + "."
}

func dnsFqdn(s string) string {
	if strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// asciiLower lowercases ASCII letters only, as DNS does.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// hasColonPort splits `LABEL:PORT` when PORT is a valid 16-bit port number
// and LABEL contains no colon (so `::1` is not mistaken for a port).
func hasColonPort(s string) (label string, port uint16, ok bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return "", 0, false
	}
	label = s[:i]
	if strings.IndexByte(label, ':') >= 0 {
		return "", 0, false
	}
	p, err := parseU16(s[i+1:])
	if err != nil {
		return "", 0, false
	}
	return label, p, true
}

// parseU16 accepts what Rust's u16 parser accepts: ASCII digits with an
// optional leading `+`.
func parseU16(s string) (uint16, error) {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err
}

// classification is the result of classifying a destination domain.
type classification struct {
	literal bool
	addr    netip.Addr // literal address
	name    string     // fully qualified, lowercased (not literal)
	port    uint16
	hasPort bool
}

// literalString renders a literal address the way KumoMTA does: the bare
// address, or `ip:port` / `[ipv6]:port` when a port was given.
func (c classification) literalString() string {
	if c.hasPort {
		return netip.AddrPortFrom(c.addr, c.port).String()
	}
	return c.addr.String()
}

// classify splits an optional port and recognises domain literals.
func classify(domain string) (classification, error) {
	var c classification
	if l, p, ok := hasColonPort(domain); ok {
		domain, c.port, c.hasPort = l, p, true
	}
	if strings.HasPrefix(domain, "[") {
		if !strings.HasSuffix(domain, "]") || len(domain) < 2 {
			return c, fmt.Errorf("domain_name `%s` is a malformed literal domain with no trailing `]`", domain)
		}
		lowered := asciiLower(domain)
		literal := lowered[1 : len(lowered)-1]
		if l, p, ok := hasColonPort(literal); ok {
			if c.hasPort {
				return c, fmt.Errorf("invalid address: `%s` specifies a port both inside and outside a literal address enclosed in square brackets", domain)
			}
			literal, c.port, c.hasPort = l, p, true
		}
		c.literal = true
		if v6, ok := strings.CutPrefix(literal, "ipv6:"); ok {
			a, err := parseIP(v6)
			if err != nil || !a.Is6() {
				return c, fmt.Errorf("invalid ipv6 address: `%s`: invalid IPv6 address syntax", v6)
			}
			c.addr = a
			return c, nil
		}
		a, err := parseIP(literal)
		if err != nil {
			return c, fmt.Errorf("invalid address: `%s`: invalid IP address syntax", literal)
		}
		c.addr = a
		return c, nil
	}
	name, err := fullyQualify(domain)
	if err != nil {
		return c, fmt.Errorf("invalid DNS name `%s`: %v", domain, err)
	}
	c.name = name
	return c, nil
}

// parseIP parses an IPv4 or IPv6 address without a zone.
func parseIP(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return a, err
	}
	if a.Zone() != "" {
		return netip.Addr{}, errors.New("zones are not allowed")
	}
	return a, nil
}
