package httpapi

import (
	"net/netip"
	"testing"
)

func TestParseTrustedHostsErrors(t *testing.T) {
	cases := map[string][]string{
		`trusted_hosts[2] "10.0.0/8": not a CIDR network (expected address/bits, e.g. 10.0.0.0/8)`:    {"127.0.0.1", "10.0.0/8"},
		`trusted_hosts[1] "localhost": not an IP address or CIDR network`:                             {"localhost"},
		`trusted_hosts[1] "10.1.2.3/8": host bits are set after /8 (the network is 10.0.0.0/8)`:       {"10.1.2.3/8"},
		`trusted_hosts[3] "fe80::1%eth0": an IPv6 zone is not allowed`:                                {"::1", "fd00::/8", "fe80::1%eth0"},
		`trusted_hosts[1] "": not an IP address or CIDR network`:                                      {""},
		`trusted_hosts[1] "10.0.0.0/33": not a CIDR network (expected address/bits, e.g. 10.0.0.0/8)`: {"10.0.0.0/33"},
	}
	for want, entries := range cases {
		_, err := ParseTrustedHosts(entries)
		if err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", entries, err, want)
		}
	}
}

func TestTrustedHostsContains(t *testing.T) {
	th, err := ParseTrustedHosts([]string{"127.0.0.1", "::1", "10.0.0.0/8", "fd00::/16", "::ffff:192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	if got := th.String(); got != "127.0.0.1,::1,10.0.0.0/8,fd00::/16,192.0.2.7" {
		t.Errorf("String() = %s", got)
	}
	for ip, want := range map[string]bool{
		"127.0.0.1":        true,
		"127.0.0.2":        false,
		"::1":              true,
		"::2":              false,
		"10.200.3.4":       true,
		"11.0.0.1":         false,
		"fd00:1::5":        true,
		"fd01::5":          false,
		"::ffff:127.0.0.1": true, // an IPv4 peer on a dual-stack socket
		"::ffff:10.9.9.9":  true,
		"192.0.2.7":        true,
		"fe80::1%lo":       false,
	} {
		if got := th.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", ip, got, want)
		}
	}
	var none *TrustedHosts
	if none.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Error("nil TrustedHosts trusts")
	}
	empty, err := ParseTrustedHosts(nil)
	if err != nil || empty.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("empty list: %v", err)
	}
}
