package egress

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/dnsname"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Addresses used by egress sources and queue protocols, parsed as
// KumoMTA's kumo-address crate parses them.

// DecodeIPAddr accepts a string holding an IPv4 or IPv6 address.
func DecodeIPAddr(v any) (netip.Addr, error) {
	s, ok := v.(string)
	if !ok {
		return netip.Addr{}, plain.InvalidType(v, "IP address")
	}
	a, err := parseRustIP(s)
	if err != nil {
		return netip.Addr{}, &plain.Error{Msg: err.Error()}
	}
	return a, nil
}

// SocketAddr is an address to connect to: an IP and port, a unix domain
// socket path, or (for proxies) a DNS host name and port.
type SocketAddr struct {
	AddrPort netip.AddrPort // when Host and Path are empty
	Path     string         // a unix domain socket
	Host     string         // a host name (with Port)
	Port     uint16
}

// String renders the address as KumoMTA does: "10.0.0.1:25",
// "[::1]:25", "/path", "host.example.com:25".
func (a SocketAddr) String() string {
	switch {
	case a.Path != "":
		return a.Path
	case a.Host != "":
		return a.Host + ":" + strconv.Itoa(int(a.Port))
	}
	return a.AddrPort.String()
}

// parseSocketAddress parses an IP socket address ("10.0.0.1:25",
// "[10.0.0.1]:25", "[::1]:25") or an absolute unix socket path.
func parseSocketAddress(s string) (SocketAddr, bool) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			host, rest := s[1:end], s[end:]
			if port, ok := strings.CutPrefix(rest, "]:"); ok {
				if p, reason := parseRustUint(port, 16); reason == "" {
					if a, err := parseRustIP(host); err == nil {
						return SocketAddr{AddrPort: netip.AddrPortFrom(a, uint16(p))}, true
					}
				}
			}
		}
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		if ap.Addr().Is4() || strings.HasPrefix(s, "[") {
			return SocketAddr{AddrPort: ap}, true
		}
	}
	if strings.HasPrefix(s, "/") {
		return SocketAddr{Path: s}, true
	}
	return SocketAddr{}, false
}

// ParseResolvableSocketAddr parses a proxy server address: an IP socket
// address, an absolute unix socket path, or host:port where host is a
// well-formed DNS name. The error explains each failed reading, as
// KumoMTA's does:
//
//	failed to parse "not a valid hostname:5000" as a resolvable socket address:
//	not an IP socket (invalid socket address syntax); not a unix socket path
//	(unix domain path must be absolute); not host:port (invalid hostname
//	"not a valid hostname": unrecognized char:  )
func ParseResolvableSocketAddr(s string) (SocketAddr, error) {
	if a, ok := parseSocketAddress(s); ok {
		return a, nil
	}
	host, port, reason := parseHostnamePort(s)
	if reason == "" {
		return SocketAddr{Host: host, Port: port}, nil
	}
	return SocketAddr{}, fmt.Errorf("failed to parse %s as a resolvable socket address: "+
		"not an IP socket (invalid socket address syntax); "+
		"not a unix socket path (unix domain path must be absolute); "+
		"not host:port (%s)", plain.Quote(s), reason)
}

func parseHostnamePort(s string) (string, uint16, string) {
	colon := strings.LastIndexByte(s, ':')
	if colon < 0 {
		return "", 0, "missing :port suffix"
	}
	host, portText := s[:colon], s[colon+1:]
	port, reason := parseRustUint(portText, 16)
	if reason != "" {
		return "", 0, "invalid port " + plain.Quote(portText)
	}
	if host == "" {
		return "", 0, `invalid hostname "": hostname is empty`
	}
	if why := dnsname.Check(host); why != "" {
		return "", 0, "invalid hostname " + plain.Quote(host) + ": " + why
	}
	return host, uint16(port), ""
}

// DecodeResolvableSocketAddr accepts a string (see
// ParseResolvableSocketAddr).
func DecodeResolvableSocketAddr(v any) (SocketAddr, error) {
	s, ok := v.(string)
	if !ok {
		return SocketAddr{}, plain.InvalidType(v, "a string")
	}
	a, err := ParseResolvableSocketAddr(s)
	if err != nil {
		return SocketAddr{}, &plain.Error{Msg: err.Error()}
	}
	return a, nil
}

// ParseHostOrSocketAddress parses an address that may or may not carry a
// port: an IP socket address, a bare IP ("10.0.0.1", "[::1]") or an
// absolute unix socket path. It renders canonically (see SocketAddr).
func ParseHostOrSocketAddress(s string) (string, error) {
	if a, ok := parseSocketAddress(s); ok {
		return a.String(), nil
	}
	if a, err := parseRustIP(s); err == nil {
		return a.String(), nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if a, err := parseRustIP(s[1 : len(s)-1]); err == nil {
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("Failed to parse '%s' as an address. Got 'invalid socket address syntax' when considering it as an IP address and 'unix domain path must be absolute' when considering it as a unix domain socket path.", s)
}
