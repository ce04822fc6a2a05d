package dns_test

import (
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

func TestDecodeResolverConfig(t *testing.T) {
	ns := func(s string) dns.NameServer { return dns.NameServer{Addr: netip.MustParseAddrPort(s)} }
	servers := []any{"127.0.0.1:5353"}
	valid := []struct {
		name string
		in   any
		want dns.Config
	}{
		{"system config", "HickorySystemConfig", dns.Config{}},
		{"bare table", map[string]any{"name_servers": servers}, dns.Config{NameServers: []dns.NameServer{ns("127.0.0.1:5353")}}},
		{"wrapped as Hickory", map[string]any{"Hickory": map[string]any{"name_servers": servers}},
			dns.Config{NameServers: []dns.NameServer{ns("127.0.0.1:5353")}}},
		{"server tables and domain names", map[string]any{
			"domain": "example.test",
			"search": []any{"example.test", "other.test"},
			"name_servers": []any{
				"[::1]:53",
				map[string]any{"socket_addr": "127.0.0.1:53", "protocol": "tcp", "trust_negative_responses": false, "bind_addr": "127.0.0.2:0"},
				map[string]any{"socket_addr": "127.0.0.1:54", "protocol": "udp"},
			},
		}, dns.Config{NameServers: []dns.NameServer{
			ns("[::1]:53"),
			{Addr: netip.MustParseAddrPort("127.0.0.1:53"), Protocol: dns.TCP, DistrustNegative: true, BindAddr: netip.MustParseAddrPort("127.0.0.2:0")},
			{Addr: netip.MustParseAddrPort("127.0.0.1:54"), Protocol: dns.UDP},
		}}},
		{"options", map[string]any{"name_servers": servers, "options": map[string]any{
			"timeout": "2s", "attempts": int64(500), "edns0": true, "ndots": int64(1), "cache_size": int64(32),
			"ip_strategy": "Ipv6thenIpv4", "use_hosts_file": "Never", "server_ordering_strategy": "RoundRobin",
			"positive_min_ttl": int64(5), "positive_max_ttl": "1h", "negative_min_ttl": 1.5, "negative_max_ttl": "10m",
			"num_concurrent_reqs": int64(2), "preserve_intermediates": true, "try_tcp_on_error": true,
			"recursion_desired": false, "validate": false, "case_randomization": false,
		}}, dns.Config{NameServers: []dns.NameServer{ns("127.0.0.1:5353")}, Options: dns.Options{
			Timeout: 2 * time.Second, Attempts: 100, EDNS0: true, NoRecursion: true, TryTCPOnError: true,
			PositiveMinTTL: 5 * time.Second, PositiveMaxTTL: time.Hour, NegativeMinTTL: 1500 * time.Millisecond, NegativeMaxTTL: 10 * time.Minute,
		}}},
		{"empty options", map[string]any{"name_servers": servers, "options": []any{}}, dns.Config{NameServers: []dns.NameServer{ns("127.0.0.1:5353")}}},
	}
	for _, c := range valid {
		got, err := dns.DecodeResolverConfig(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}

	withOptions := func(o map[string]any) map[string]any { return map[string]any{"name_servers": servers, "options": o} }
	invalid := []struct {
		name string
		in   any
		want string
	}{
		{"not a table", true, "invalid type: boolean `true`, expected a resolver configuration table"},
		{"unknown variant", "Sideways", "unknown variant `Sideways`, expected one of `Hickory`, `HickorySystemConfig`, `Unbound`, `Test`, `Aggregate`"},
		{"unit Hickory", "Hickory", "invalid type: unit variant, expected the `Hickory` variant's configuration table"},
		{"Hickory not a table", map[string]any{"Hickory": "x"}, `Hickory: invalid type: string "x", expected a table`},
		{"error inside Hickory", map[string]any{"Hickory": map[string]any{"name_servers": []any{int64(5)}}},
			"Hickory.name_servers[1]: invalid type: integer `5`, expected 'IP:PORT' or a name server table"},
		{"system config as a table", map[string]any{"HickorySystemConfig": map[string]any{}}, "invalid type: map, expected the string 'HickorySystemConfig'"},
		{"Unbound", map[string]any{"Unbound": map[string]any{}}, "Unbound.name_servers: kumopolicy runs Unbound's forwarding mode only: give the name servers to forward to (recursion from the root servers is not supported)"},
		{"Unbound validate", map[string]any{"Unbound": map[string]any{"name_servers": []any{"10.0.0.1:53"}, "options": map[string]any{"validate": true}}}, "Unbound.options.validate: DNSSEC validation is not supported by kumopolicy"},
		{"Unbound trust anchor", map[string]any{"Unbound": map[string]any{"name_servers": []any{"10.0.0.1:53"}, "options": map[string]any{"trust_anchor_file": "/x"}}}, "Unbound.options.trust_anchor_file: trust anchors (DNSSEC) are not supported by kumopolicy"},
		{"Unbound hickory option", map[string]any{"Unbound": map[string]any{"name_servers": []any{"10.0.0.1:53"}, "options": map[string]any{"ndots": int64(2)}}}, "Unbound.options.ndots: the Unbound resolver does not take this option (it takes `validate`, `trust_anchor_file`, `use_hosts_file`); hickory options belong in kumo.dns.configure_resolver"},
		{"unknown field", map[string]any{"nameservers": servers},
			"unknown field `nameservers`, expected one of `domain`, `search`, `name_servers`, `options`"},
		{"no name servers", map[string]any{"domain": "example.test"},
			"name_servers: at least one name server is required (use 'HickorySystemConfig' for the servers of /etc/resolv.conf)"},
		{"empty name servers", map[string]any{"name_servers": map[string]any{}}, "name_servers: at least one name server is required (use 'HickorySystemConfig' for the servers of /etc/resolv.conf)"},
		{"name servers not a sequence", map[string]any{"name_servers": "127.0.0.1:53"}, `name_servers: invalid type: string "127.0.0.1:53", expected a sequence`},
		{"no port", map[string]any{"name_servers": []any{"127.0.0.1:53", "10.0.0.1"}}, "name_servers[2]: name server `10.0.0.1`: expected IP:PORT (for IPv6, [ADDR]:PORT)"},
		{"server table unknown field", map[string]any{"name_servers": []any{map[string]any{"socket_addr": "127.0.0.1:53", "bogus": int64(1)}}},
			"name_servers[1]: unknown field `bogus`, expected one of `socket_addr`, `protocol`, `trust_negative_responses`, `bind_addr`"},
		{"server table without address", map[string]any{"name_servers": []any{map[string]any{"protocol": "tcp"}}}, "name_servers[1]: missing field `socket_addr`"},
		{"bad socket address", map[string]any{"name_servers": []any{map[string]any{"socket_addr": "127.0.0.1:http"}}}, "name_servers[1].socket_addr: name server `127.0.0.1:http`: invalid port `http`"},
		{"bad protocol", map[string]any{"name_servers": []any{map[string]any{"socket_addr": "127.0.0.1:53", "protocol": "quic"}}},
			"name_servers[1].protocol: unknown variant `quic`, expected one of `udp`, `tcp`, `udp_then_tcp`"},
		{"trust type", map[string]any{"name_servers": []any{map[string]any{"socket_addr": "127.0.0.1:53", "trust_negative_responses": "no"}}},
			`name_servers[1].trust_negative_responses: invalid type: string "no", expected a boolean`},
		{"bad bind address", map[string]any{"name_servers": []any{map[string]any{"socket_addr": "127.0.0.1:53", "bind_addr": "here:0"}}},
			"name_servers[1].bind_addr: 'here:0': invalid IP address `here`"},
		{"domain type", map[string]any{"name_servers": servers, "domain": int64(1)}, "domain: invalid type: integer `1`, expected a string"},
		{"bad domain", map[string]any{"name_servers": servers, "domain": "a..b"}, "domain: 'a..b': "},
		{"bad search entry", map[string]any{"name_servers": servers, "search": []any{"ok.test", "a..b"}}, "search[2]: 'a..b': "},
		{"search entry type", map[string]any{"name_servers": servers, "search": []any{true}}, "search[1]: invalid type: boolean `true`, expected a string"},
		{"options type", map[string]any{"name_servers": servers, "options": "fast"}, `options: invalid type: string "fast", expected a table`},
		{"options unknown field", withOptions(map[string]any{"frobnicate": true}), "options: unknown field `frobnicate`, expected one of `ndots`, `timeout`, `attempts`, `edns0`, `validate`, `ip_strategy`, `cache_size`, `use_hosts_file`, `positive_min_ttl`, `negative_min_ttl`, `positive_max_ttl`, `negative_max_ttl`, `num_concurrent_reqs`, `preserve_intermediates`, `try_tcp_on_error`, `server_ordering_strategy`, `recursion_desired`, `case_randomization`, `trust_anchor_file`"},
		{"bad timeout", withOptions(map[string]any{"timeout": "later"}), `options.timeout: invalid value: string "later", expected a duration`},
		{"negative ttl", withOptions(map[string]any{"negative_max_ttl": int64(-1)}), "options.negative_max_ttl: duration must either be a string or a positive integer specifying the number of seconds. (error: out of range integral type conversion attempted)"},
		{"negative ndots", withOptions(map[string]any{"ndots": int64(-1)}), "options.ndots: invalid value: integer `-1`, expected usize"},
		{"attempts type", withOptions(map[string]any{"attempts": "3"}), `options.attempts: invalid type: string "3", expected usize`},
		{"edns0 type", withOptions(map[string]any{"edns0": int64(1)}), "options.edns0: invalid type: integer `1`, expected a boolean"},
		{"ip strategy", withOptions(map[string]any{"ip_strategy": "Ipv5"}), "options.ip_strategy: unknown variant `Ipv5`, expected one of `Ipv4Only`, `Ipv6Only`, `Ipv4AndIpv6`, `Ipv6AndIpv4`, `Ipv6thenIpv4`, `Ipv4thenIpv6`"},
		{"ordering", withOptions(map[string]any{"server_ordering_strategy": "Random"}), "options.server_ordering_strategy: unknown variant `Random`, expected one of `QueryStatistics`, `RoundRobin`, `UserProvidedOrder`"},
		{"hosts file variant", withOptions(map[string]any{"use_hosts_file": "Sometimes"}), "options.use_hosts_file: unknown variant `Sometimes`, expected one of `Always`, `Auto`, `Never`"},
		{"hosts file", withOptions(map[string]any{"use_hosts_file": "Always"}), "options: use_hosts_file = 'Always' is not supported by kumopolicy: the hosts file is never consulted (remove the option or use 'Never')"},
		{"validate", withOptions(map[string]any{"validate": true}), "options: validate = true is not supported by kumopolicy: DNSSEC is not validated"},
		{"trust anchor", withOptions(map[string]any{"trust_anchor_file": "/etc/anchor"}), "options: trust_anchor_file is not supported by kumopolicy: DNSSEC is not validated"},
		{"case randomization", withOptions(map[string]any{"case_randomization": true}), "options: case_randomization = true is not supported by kumopolicy"},
	}
	for _, c := range invalid {
		_, err := dns.DecodeResolverConfig(c.in)
		if err == nil || !hasPrefixOrEqual(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

// hasPrefixOrEqual: wants ending in ": " name a prefix (the name checker's
// own reason follows); others are the whole message.
func hasPrefixOrEqual(got, want string) bool {
	if len(want) >= 2 && want[len(want)-2:] == ": " {
		return len(got) > len(want) && got[:len(want)] == want
	}
	return got == want
}

func TestDecodeUnboundForwarding(t *testing.T) {
	cfg, err := dns.DecodeResolverConfig(map[string]any{"Unbound": map[string]any{
		"name_servers": []any{"127.0.0.1:5353"},
		"options":      map[string]any{"validate": false, "use_hosts_file": "Never"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.NameServers) != 1 || cfg.NameServers[0].Addr.String() != "127.0.0.1:5353" {
		t.Fatalf("name servers: %+v", cfg.NameServers)
	}
}
