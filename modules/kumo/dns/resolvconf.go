package dns

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// ResolvConf is what kumo.dns.load_resolv_conf reads from a resolv.conf
// file: the subset that maps onto a resolver configuration.
type ResolvConf struct {
	// NameServers are the `nameserver` lines as `IP:53` (`[IPv6]:53`).
	NameServers []string
	// Domain is the `domain` line ("" when there is none); Search the
	// names of the last `search` line.
	Domain string
	Search []string
	// The `options` directives ndots:N, timeout:N (seconds), attempts:N
	// and edns0; the Has fields say which were given.
	Ndots, TimeoutSeconds, Attempts   int
	HasNdots, HasTimeout, HasAttempts bool
	EDNS0                             bool
}

// ReadResolvConf reads a resolv.conf file. Lines it does not know, and
// options other than ndots, timeout, attempts and edns0, are skipped;
// a malformed nameserver address is an error naming the line.
func ReadResolvConf(path string) (ResolvConf, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ResolvConf{}, err
	}
	var rc ResolvConf
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexAny(text, "#;"); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				return rc, fmt.Errorf("%s:%d: nameserver without an address", path, line)
			}
			ip, err := parseIP(f[1])
			if err != nil {
				return rc, fmt.Errorf("%s:%d: invalid nameserver address `%s`", path, line, f[1])
			}
			rc.NameServers = append(rc.NameServers, netip.AddrPortFrom(ip, 53).String())
		case "domain":
			if len(f) >= 2 {
				rc.Domain = f[1]
			}
		case "search":
			rc.Search = append([]string(nil), f[1:]...)
		case "options":
			for _, o := range f[1:] {
				name, val, _ := strings.Cut(o, ":")
				n, nerr := strconv.Atoi(val)
				switch {
				case name == "edns0":
					rc.EDNS0 = true
				case name == "ndots" && nerr == nil && n >= 0:
					rc.Ndots, rc.HasNdots = min(n, 15), true
				case name == "timeout" && nerr == nil && n >= 0:
					rc.TimeoutSeconds, rc.HasTimeout = min(n, 30), true
				case name == "attempts" && nerr == nil && n >= 0:
					rc.Attempts, rc.HasAttempts = min(n, 5), true
				}
			}
		}
	}
	return rc, sc.Err()
}
