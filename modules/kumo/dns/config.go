package dns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	mdns "github.com/miekg/dns"
)

// DefaultResolvConf is where name servers come from when a Config names
// none.
const DefaultResolvConf = "/etc/resolv.conf"

// Protocol is the transport used to reach a name server.
type Protocol int

const (
	// UDPThenTCP queries over UDP and repeats a truncated answer over TCP
	// on the same server (KumoMTA's default).
	UDPThenTCP Protocol = iota
	// UDP only; a truncated answer is used as it is.
	UDP
	// TCP only.
	TCP
)

// String returns the name KumoMTA's configuration uses for p.
func (p Protocol) String() string {
	switch p {
	case UDP:
		return "udp"
	case TCP:
		return "tcp"
	default:
		return "udp_then_tcp"
	}
}

// ParseProtocol accepts `udp`, `tcp` and `udp_then_tcp`.
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "udp":
		return UDP, nil
	case "tcp":
		return TCP, nil
	case "udp_then_tcp":
		return UDPThenTCP, nil
	}
	return 0, fmt.Errorf("unknown variant `%s`, expected one of `udp`, `tcp`, `udp_then_tcp`", s)
}

// NameServer is one upstream DNS server.
type NameServer struct {
	// Addr is the server's IP address and port.
	Addr netip.AddrPort
	// Protocol selects the transport; the zero value is UDPThenTCP.
	Protocol Protocol
	// DistrustNegative makes an NXDOMAIN or NODATA answer from this server
	// fall through to the next server (KumoMTA's
	// trust_negative_responses = false). By default negative answers are
	// final.
	DistrustNegative bool
	// BindAddr, when valid, is the local address queries are sent from.
	BindAddr netip.AddrPort
}

// String returns the server's IP:PORT.
func (ns NameServer) String() string { return ns.Addr.String() }

// ParseNameServer parses an `IP:PORT` name server address (`[::1]:53` for
// IPv6). The port is required.
func ParseNameServer(s string) (NameServer, error) {
	ap, err := ParseSocketAddr(s)
	if err != nil {
		return NameServer{}, fmt.Errorf("name server `%s`: %v", s, err)
	}
	return NameServer{Addr: ap}, nil
}

// ParseNameServers parses a list of `IP:PORT` addresses.
func ParseNameServers(addrs []string) ([]NameServer, error) {
	out := make([]NameServer, 0, len(addrs))
	for _, a := range addrs {
		ns, err := ParseNameServer(a)
		if err != nil {
			return nil, err
		}
		out = append(out, ns)
	}
	return out, nil
}

// ParseSocketAddr parses `IP:PORT` / `[IPv6]:PORT`.
func ParseSocketAddr(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, errors.New("expected IP:PORT (for IPv6, [ADDR]:PORT)")
	}
	a, err := parseIP(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("invalid IP address `%s`", host)
	}
	p, err := parseU16(port)
	if err != nil || strings.HasPrefix(port, "+") {
		return netip.AddrPort{}, fmt.Errorf("invalid port `%s`", port)
	}
	return netip.AddrPortFrom(a, p), nil
}

// Options tunes how queries are sent. The zero value of every field is the
// default.
type Options struct {
	// Timeout bounds one query to one server. Default 5 s.
	Timeout time.Duration
	// Attempts is how many times the list of servers is tried. Default 2.
	Attempts int
	// EDNS0 advertises a 1232-byte UDP payload size.
	EDNS0 bool
	// NoRecursion clears the RD bit (recursion_desired = false).
	NoRecursion bool
	// TryTCPOnError repeats a query that failed over UDP (a timeout or a
	// network error) over TCP, for UDPThenTCP servers.
	TryTCPOnError bool
	// PositiveMinTTL and PositiveMaxTTL clamp the lifetime of answers with
	// records; NegativeMinTTL and NegativeMaxTTL that of NXDOMAIN and
	// NODATA answers. A zero maximum means one day.
	PositiveMinTTL, PositiveMaxTTL time.Duration
	NegativeMinTTL, NegativeMaxTTL time.Duration
}

// Defaults.
const (
	DefaultQueryTimeout      = 5 * time.Second
	DefaultAttempts          = 2
	DefaultMXTimeout         = 5 * time.Second
	DefaultMXConcurrency     = 128
	DefaultMXNegativeTTL     = 300 * time.Second
	DefaultMXCacheCapacity   = 64 * 1024
	DefaultAddrCacheCapacity = 4096
	maxTTL                   = 24 * time.Hour
	defaultNegativeTTL       = 60 * time.Second
	edns0Size                = 1232
)

// MaxMXCacheCapacity bounds the MX cache's growth (see WithMXCacheLimit):
// four times the starting capacity. A cached MX result takes about 600
// bytes, so a full cache holds about 150 MiB.
const MaxMXCacheCapacity = 1 << 18

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultQueryTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.PositiveMaxTTL <= 0 {
		o.PositiveMaxTTL = maxTTL
	}
	if o.NegativeMaxTTL <= 0 {
		o.NegativeMaxTTL = maxTTL
	}
	return o
}

// Config selects the upstream name servers.
type Config struct {
	// NameServers are tried in order. When empty, they are read from
	// ResolvConf on first use: its `nameserver` lines (which kumopolicy
	// also accepts as `nameserver IP:PORT`) and its timeout and attempts
	// options.
	NameServers []NameServer
	// ResolvConf is the resolv.conf file used when NameServers is empty.
	// Default /etc/resolv.conf.
	ResolvConf string
	// Options tunes the queries.
	Options Options
	// Test, when set, makes the resolver answer from these in-memory
	// zones (KumoMTA's `Test` resolver) instead of name servers; the
	// other fields are then unused.
	Test *Zones
	// Aggregate, when not empty, makes the resolver ask each of these
	// configurations in turn (KumoMTA's `Aggregate` resolver): the first
	// one that answers for the name wins. A Test part answers for the
	// names inside its zones (NXDOMAIN and NODATA included) and passes
	// the others on; a name server part answers for every name; a part
	// that fails passes the question on too. When no part answers, the
	// last failure is the result (NXDOMAIN when every part passed). The
	// other fields are then unused.
	Aggregate []Config
}

// UsesZones reports whether cfg answers from Test zones, itself or in an
// Aggregate.
func (cfg Config) UsesZones() bool {
	if cfg.Test != nil {
		return true
	}
	for _, c := range cfg.Aggregate {
		if c.UsesZones() {
			return true
		}
	}
	return false
}

// transport is a resolved, immutable Config and the connections to its
// servers.
type transport struct {
	servers []NameServer
	opts    Options
	pools   *pools
	err     error // every query fails with it

	zones *Zones       // a Test resolver
	parts []*transport // an Aggregate resolver
}

// loadTransport resolves cfg; stats counts what its connections send.
func loadTransport(cfg Config, stats *counters) *transport {
	switch {
	case cfg.Test != nil:
		return &transport{zones: cfg.Test, opts: cfg.Options.withDefaults()}
	case len(cfg.Aggregate) > 0:
		t := &transport{opts: cfg.Options.withDefaults()}
		for _, c := range cfg.Aggregate {
			t.parts = append(t.parts, loadTransport(c, stats))
		}
		return t
	}
	t := loadServers(cfg)
	if t.err == nil {
		t.pools = newPools(t.servers, t.opts, stats)
	}
	return t
}

// close closes the transport's idle connections.
func (t *transport) close() {
	if t == nil {
		return
	}
	if t.pools != nil {
		t.pools.close()
	}
	for _, p := range t.parts {
		p.close()
	}
}

func loadServers(cfg Config) *transport {
	t := &transport{opts: cfg.Options.withDefaults()}
	if len(cfg.NameServers) > 0 {
		t.servers = append([]NameServer(nil), cfg.NameServers...)
		return t
	}
	path := cfg.ResolvConf
	if path == "" {
		path = DefaultResolvConf
	}
	cc, err := mdns.ClientConfigFromFile(path)
	if err != nil {
		t.err = fmt.Errorf("no name servers configured: %v", err)
		return t
	}
	port, err := parseU16(cc.Port)
	if err != nil {
		port = 53
	}
	for _, s := range cc.Servers {
		if a, err := netip.ParseAddr(s); err == nil {
			t.servers = append(t.servers, NameServer{Addr: netip.AddrPortFrom(a, port)})
		} else if ap, err := netip.ParseAddrPort(s); err == nil {
			// An extension: `nameserver IP:PORT` (`[IPv6]:PORT`).
			t.servers = append(t.servers, NameServer{Addr: ap})
		}
	}
	if len(t.servers) == 0 {
		t.err = fmt.Errorf("no name servers configured: %s lists none", path)
		return t
	}
	if cfg.Options.Timeout <= 0 && cc.Timeout > 0 {
		t.opts.Timeout = time.Duration(cc.Timeout) * time.Second
	}
	if cfg.Options.Attempts <= 0 && cc.Attempts > 0 {
		t.opts.Attempts = cc.Attempts
	}
	return t
}

func clampTTL(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		d = lo
	}
	if d > hi {
		d = hi
	}
	return d
}
