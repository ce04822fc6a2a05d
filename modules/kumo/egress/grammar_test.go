package egress

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

func TestParseLimitSpec(t *testing.T) {
	cases := []struct {
		in   string
		want LimitSpec
		str  string
	}{
		{"20", LimitSpec{Limit: 20}, "20"},
		{"100", LimitSpec{Limit: 100}, "100"},
		{"1_00", LimitSpec{Limit: 100}, "100"},
		{"1,000", LimitSpec{Limit: 1000}, "1000"},
		{"1_000", LimitSpec{Limit: 1000}, "1000"},
		{"local:20", LimitSpec{Limit: 20, ForceLocal: true}, "local:20"},
		{"local:1_00", LimitSpec{Limit: 100, ForceLocal: true}, "local:100"},
		{"+5", LimitSpec{Limit: 5}, "5"}, // Rust's integer parser takes a leading +
		{"18446744073709551615", LimitSpec{Limit: 18446744073709551615}, "18446744073709551615"},
	}
	for _, c := range cases {
		got, err := ParseLimitSpec(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseLimitSpec(%q) = %+v (%q), %v; want %+v (%q)", c.in, got, got.String(), err, c.want, c.str)
		}
	}
}

func TestParseLimitSpecErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"three", "invalid limit 'three': invalid digit found in string"},
		{"", "invalid limit '': cannot parse integer from empty string"},
		{"local:", "invalid limit '': cannot parse integer from empty string"},
		{"1 000", "invalid limit '1 000': invalid digit found in string"},
		{"-5", "invalid limit '-5': invalid digit found in string"},
		{"+", "invalid limit '+': invalid digit found in string"},
		{"1.5", "invalid limit '1.5': invalid digit found in string"},
		{"99999999999999999999", "invalid limit '99999999999999999999': number too large to fit in target type"},
		{"0", "invalid LimitSpec `0`: limit must be greater than 0!"},
		{"0_0", "invalid LimitSpec `0_0`: limit must be greater than 0!"},
		{"local:0", "invalid LimitSpec `0`: limit must be greater than 0!"},
		{"1,0,0/hr", "invalid limit '100/hr': invalid digit found in string"},
	}
	for _, c := range cases {
		_, err := ParseLimitSpec(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseLimitSpec(%q) error = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestDecodeLimitSpec(t *testing.T) {
	ok := []struct {
		in   any
		want LimitSpec
	}{
		{int64(32), LimitSpec{Limit: 32}},
		{"local:20", LimitSpec{Limit: 20, ForceLocal: true}},
		{map[string]any{"limit": int64(7), "force_local": true}, LimitSpec{Limit: 7, ForceLocal: true}},
		{map[string]any{"limit": int64(7)}, LimitSpec{Limit: 7}},
	}
	for _, c := range ok {
		got, err := DecodeLimitSpec(c.in)
		if err != nil || got != c.want {
			t.Errorf("DecodeLimitSpec(%#v) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct {
		in   any
		want string
	}{
		{int64(0), "limit must be 1 or larger"},
		{int64(-3), "limit must be 1 or larger"},
		{5.5, "invalid type: floating point `5.5`, expected string or numeric limit spec"},
		{true, "invalid type: boolean `true`, expected string or numeric limit spec"},
		{[]any{int64(1)}, "invalid type: sequence, expected string or numeric limit spec"},
		{map[string]any{"limit": int64(1), "oops": int64(1)}, "unknown field `oops`, expected `limit` or `force_local`"},
		{map[string]any{"force_local": true}, "missing field `limit`"},
		{map[string]any{"limit": "x"}, `limit: invalid type: string "x", expected usize`},
		{map[string]any{"limit": int64(1), "force_local": "yes"}, `force_local: invalid type: string "yes", expected a boolean`},
		{"0", "invalid LimitSpec `0`: limit must be greater than 0!"},
	}
	for _, c := range bad {
		_, err := DecodeLimitSpec(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("DecodeLimitSpec(%#v) error = %v, want %q", c.in, err, c.want)
		}
	}
	if got := (LimitSpec{Limit: 7, ForceLocal: true}).Serialize(); got.Len() != 2 || got.Keys()[0] != "limit" {
		t.Errorf("Serialize = %#v", got)
	}
}

func TestParseThrottleSpec(t *testing.T) {
	cases := []struct {
		in   string
		want ThrottleSpec
		str  string
	}{
		{"100/hr", ThrottleSpec{Limit: 100, Period: 3600}, "100/h"},
		{"100/h", ThrottleSpec{Limit: 100, Period: 3600}, "100/h"},
		{"100/hour", ThrottleSpec{Limit: 100, Period: 3600}, "100/h"},
		{"local:100/hr", ThrottleSpec{Limit: 100, Period: 3600, ForceLocal: true}, "local:100/h"},
		{"local:100/123m", ThrottleSpec{Limit: 100, Period: 7380, ForceLocal: true}, "local:100/7380s"},
		{"1_0,0/hour", ThrottleSpec{Limit: 100, Period: 3600}, "100/h"},
		{"1,000/hr", ThrottleSpec{Limit: 1000, Period: 3600}, "1000/h"},
		{"100/min", ThrottleSpec{Limit: 100, Period: 60}, "100/m"},
		{"1/minute", ThrottleSpec{Limit: 1, Period: 60}, "1/m"},
		{"10/m", ThrottleSpec{Limit: 10, Period: 60}, "10/m"},
		{"5/s", ThrottleSpec{Limit: 5, Period: 1}, "5/s"},
		{"5/sec", ThrottleSpec{Limit: 5, Period: 1}, "5/s"},
		{"5/second", ThrottleSpec{Limit: 5, Period: 1}, "5/s"},
		{"5/d", ThrottleSpec{Limit: 5, Period: 86400}, "5/d"},
		{"5/day", ThrottleSpec{Limit: 5, Period: 86400}, "5/d"},
		{"5/2d", ThrottleSpec{Limit: 5, Period: 172800}, "5/172800s"},
		{"5/60s", ThrottleSpec{Limit: 5, Period: 60}, "5/m"},
		{"50/day,max_burst=1", ThrottleSpec{Limit: 50, Period: 86400, MaxBurst: 1, HasBurst: true}, "50/d,max_burst=1"},
		{"local:50/h,max_burst=1_0", ThrottleSpec{Limit: 50, Period: 3600, MaxBurst: 10, HasBurst: true, ForceLocal: true}, "local:50/h,max_burst=10"},
		{"5/h,max_burst=0", ThrottleSpec{Limit: 5, Period: 3600, HasBurst: true}, "5/h,max_burst=0"},
	}
	for _, c := range cases {
		got, err := ParseThrottleSpec(c.in)
		if err != nil || got != c.want || got.String() != c.str {
			t.Errorf("ParseThrottleSpec(%q) = %+v (%q), %v; want %+v (%q)", c.in, got, got.String(), err, c.want, c.str)
		}
	}
	if b := (ThrottleSpec{Limit: 50, Period: 86400, MaxBurst: 1, HasBurst: true}).Burst(); b != 1 {
		t.Errorf("Burst = %d", b)
	}
	if r := (ThrottleSpec{Limit: 120, Period: 60}).PerSecond(); r != 2 {
		t.Errorf("PerSecond = %v", r)
	}
}

func TestParseThrottleSpecErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"100/our", "unknown period quantity our"},
		{"three/hour", "invalid limit 'three': invalid digit found in string"},
		{"three/our", "unknown period quantity our"}, // the unit is checked first
		{"100", "expected 'limit/period', got 100"},
		{"local:100", "expected 'limit/period', got 100"},
		{"100/5", "invalid period quantity 5"},
		{"100/", "invalid period quantity "},
		{"100/minutes", "unknown period quantity minutes"},
		{"100/hours", "unknown period quantity hours"},
		{"100/days", "unknown period quantity days"},
		{"1/minutes", "unknown period quantity minutes"},
		{"100/ h", "unknown period quantity  h"},
		{"100 /h", "invalid limit '100 ': invalid digit found in string"},
		{"100/H", "unknown period quantity H"},
		{"0/h", "invalid ThrottleSpec `0/h`: limit must be greater than 0!"},
		{"local:0/h,max_burst=5", "invalid ThrottleSpec `0/h`: limit must be greater than 0!"},
		{"/h", "invalid limit '': cannot parse integer from empty string"},
		{"5/h,max_burst=x", "invalid limit 'x': invalid digit found in string"},
		{"5/our,max_burst=x", "invalid limit 'x': invalid digit found in string"}, // burst first
		{"5/99999999999999999999h", "number too big"},
		{"5/9999999999999999999d", "number too big"},
		{"1/2/h", "unknown period quantity /h"},
	}
	for _, c := range cases {
		_, err := ParseThrottleSpec(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseThrottleSpec(%q) error = %v, want %q", c.in, err, c.want)
		}
	}
	for _, v := range []any{int64(5), 5.5, true, map[string]any{}, []any{"1/h"}} {
		_, err := DecodeThrottleSpec(v)
		if err == nil || !strings.HasPrefix(err.Error(), "invalid type: ") || !strings.HasSuffix(err.Error(), ", expected a string") {
			t.Errorf("DecodeThrottleSpec(%#v) error = %v", v, err)
		}
	}
	if _, err := DecodeThrottleSpec(int64(5)); err.Error() != "invalid type: integer `5`, expected a string" {
		t.Errorf("got %v", err)
	}
}

func TestParseCIDR(t *testing.T) {
	cases := []struct{ in, want string }{
		{"10.0.0.0/24", "10.0.0.0/24"},
		{"10.0.0.1", "10.0.0.1"},
		{"10.0.0.1/32", "10.0.0.1"},
		{"::1", "::1"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"any", "any"},
		{"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
	}
	for _, c := range cases {
		got, err := ParseCIDR(c.in)
		if err != nil || got.String() != c.want {
			t.Errorf("ParseCIDR(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, want string }{
		{"10.0.0.1/24", "10.0.0.1/24 is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/24?"},
		{"127.0.0.1/8", "127.0.0.1/8 is not a valid CIDR: host part of address was not zero. Did you mean 127.0.0.0/8?"},
		{"2001:db8::1/32", "2001:db8::1/32 is not a valid CIDR: host part of address was not zero. Did you mean 2001:db8::/32?"},
		{"300.0.0.1", "300.0.0.1 is not a valid CIDR: couldn't parse address in network: invalid IP address syntax"},
		{"example.com", "example.com is not a valid CIDR: couldn't parse address in network: invalid IP address syntax"},
		{"fe80::1%eth0", "fe80::1%eth0 is not a valid CIDR: couldn't parse address in network: invalid IP address syntax"},
		{"10.0.0.0/33", "10.0.0.0/33 is not a valid CIDR: invalid length for network: Network length 33 is too long for Ipv4 (maximum: 32)"},
		{"::/129", "::/129 is not a valid CIDR: invalid length for network: Network length 129 is too long for Ipv6 (maximum: 128)"},
		{"10.0.0.0/x", "10.0.0.0/x is not a valid CIDR: couldn't parse length in network: invalid digit found in string"},
		{"10.0.0.0/", "10.0.0.0/ is not a valid CIDR: couldn't parse length in network: cannot parse integer from empty string"},
		{"10.0.0.0/300", "10.0.0.0/300 is not a valid CIDR: couldn't parse length in network: number too large to fit in target type"},
		{"", " is not a valid CIDR: couldn't parse address in network: invalid IP address syntax"},
	}
	for _, c := range bad {
		_, err := ParseCIDR(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("ParseCIDR(%q) error = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestCIDRSet(t *testing.T) {
	cases := []struct {
		in   []string
		want []string
	}{
		{[]string{"127.0.0.0/8", "::1", "0.0.0.0", "::"}, []string{"0.0.0.0", "127.0.0.0/8", "::/127"}},
		{nil, []string{}},
		{[]string{"10.0.0.0/25", "10.0.0.128/25"}, []string{"10.0.0.0/24"}},
		{[]string{"10.0.0.128/25", "10.0.0.0/25"}, []string{"10.0.0.0/24"}},
		{[]string{"10.0.0.0/24", "10.0.0.5", "10.0.0.0/25"}, []string{"10.0.0.0/24"}},
		{[]string{"10.0.0.5", "10.0.0.0/24"}, []string{"10.0.0.0/24"}},
		{[]string{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"}, []string{"10.0.0.0/30"}},
		{[]string{"10.0.0.1", "10.0.0.2"}, []string{"10.0.0.1", "10.0.0.2"}},
		{[]string{"::1", "10.0.0.1"}, []string{"10.0.0.1", "::1"}},
		{[]string{"0.0.0.0/0", "::/0"}, []string{"any"}},
		{[]string{"any", "10.0.0.1"}, []string{"any"}},
		{[]string{"127.0.0.1", "::1", "192.168.1.0/24", "192.168.1.24", "192.168.3.0/28", "10.0.3.0/24", "10.0.4.0/24", "10.0.7.0/24"},
			[]string{"10.0.3.0/24", "10.0.4.0/24", "10.0.7.0/24", "127.0.0.1", "192.168.1.0/24", "192.168.3.0/28", "::1"}},
		{[]string{"10.0.4.0/24", "10.0.5.0/24", "10.0.6.0/24", "10.0.7.0/24"}, []string{"10.0.4.0/22"}},
	}
	for _, c := range cases {
		set, err := ParseCIDRSet(c.in)
		if err != nil {
			t.Errorf("ParseCIDRSet(%q): %v", c.in, err)
			continue
		}
		if got := set.Strings(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCIDRSet(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := DefaultProhibitedHosts().Strings(); !reflect.DeepEqual(got, []string{"0.0.0.0", "127.0.0.0/8", "::/127"}) {
		t.Errorf("default prohibited hosts = %q", got)
	}
	set := DefaultProhibitedHosts()
	for ip, want := range map[string]bool{"127.0.0.1": true, "127.255.1.1": true, "::1": true, "::": true, "0.0.0.0": true, "10.0.0.1": false, "::2": false} {
		if got := set.Contains(netip.MustParseAddr(ip)); got != want {
			t.Errorf("Contains(%s) = %v", ip, got)
		}
	}
	_, err := ParseCIDRSet([]string{"10.0.0.1/24", "ok", "10.0.0.0/8"})
	want := "10.0.0.1/24: 10.0.0.1/24 is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/24?, ok: ok is not a valid CIDR: couldn't parse address in network: invalid IP address syntax"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	if _, err := DecodeCIDRSet([]any{"10.0.0.0/8", int64(5)}); err == nil || err.Error() != "[2]: invalid type: integer `5`, expected a string" {
		t.Errorf("DecodeCIDRSet error = %v", err)
	}
	if _, err := DecodeCIDRSet("10.0.0.0/8"); err == nil || err.Error() != `invalid type: string "10.0.0.0/8", expected a sequence` {
		t.Errorf("DecodeCIDRSet error = %v", err)
	}
	if s, err := DecodeCIDRSet(map[string]any{}); err != nil || s.Len() != 0 {
		t.Errorf("empty table: %v %v", s, err)
	}
}

func TestOpenSSLOptions(t *testing.T) {
	got, err := ParseOpenSSLOptions("NO_TLSV1|NO_TLSV1_1")
	if err != nil || !reflect.DeepEqual(got, []string{"NO_TLSV1", "NO_TLSV1_1"}) {
		t.Errorf("got %q, %v", got, err)
	}
	for _, ok := range []string{"ALL", "NO_SSLV2", "SINGLE_DH_USE", "NO_SSL_MASK", "PRIORITIZE_CHACHA"} {
		if _, err := ParseOpenSSLOptions(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	const list = "`ALLOW_UNSAFE_LEGACY_RENEGOTIATION`, `ALL`, `CIPHER_SERVER_PREFERENCE`, `COOKIE_EXCHANGE`, " +
		"`DONT_INSERT_EMPTY_FRAGMENTS`, `ENABLE_MIDDLEBOX_COMPAT`, `IGNORE_UNEXPECTED_EOF`, `NO_COMPRESSION`, " +
		"`NO_QUERY_MTU`, `NO_RENEGOTIATION`, `NO_SESSION_RESUMPTION_ON_RENEGOTIATION`, `NO_SSLV3`, `NO_TICKET`, " +
		"`NO_TLSV1_1`, `NO_TLSV1_2`, `NO_TLSV1_3`, `NO_TLSV1`, `PRIORITIZE_CHACHA`, `TLS_ROLLBACK_BUG`"
	for _, c := range []struct{ in, bad string }{{"no_tlsv1", "no_tlsv1"}, {"NO_TLSV1|BOGUS", "BOGUS"}, {"NO_TLSV1|", ""}, {"NO_TLSV1, NO_TLSV1_1", "NO_TLSV1, NO_TLSV1_1"}} {
		_, err := ParseOpenSSLOptions(c.in)
		want := "`" + c.bad + "` is not a valid SslOption name. Possible values are " + list + " joined together by the pipe `|` character."
		if err == nil || err.Error() != want {
			t.Errorf("ParseOpenSSLOptions(%q) error =\n%v\nwant\n%s", c.in, err, want)
		}
	}
}

func TestRustlsCipherSuites(t *testing.T) {
	for in, want := range map[string]string{
		"TLS13_AES_128_GCM_SHA256":                "TLS13_AES_128_GCM_SHA256",
		"tls13_aes_256_gcm_sha384":                "TLS13_AES_256_GCM_SHA384",
		"Tls_Ecdhe_Rsa_With_Aes_128_Gcm_Sha256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	} {
		got, err := ParseRustlsCipherSuite(in)
		if err != nil || got != want {
			t.Errorf("ParseRustlsCipherSuite(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseRustlsCipherSuite("TLS_RSA_WITH_RC4_128_MD5"); err == nil || err.Error() != "`TLS_RSA_WITH_RC4_128_MD5` is not a valid rustls cipher suite" {
		t.Errorf("error = %v", err)
	}
}

func TestDecodeKeySource(t *testing.T) {
	addr := "https://vault:8200"
	cases := []struct {
		in   any
		want KeySource
	}{
		{"/etc/tls/key.pem", KeySource{Kind: KeyFile, Path: "/etc/tls/key.pem"}},
		{map[string]any{"key_data": "-----BEGIN"}, KeySource{Kind: KeyData, Data: "-----BEGIN"}},
		{map[string]any{"key_data": []any{int64(104), int64(105)}}, KeySource{Kind: KeyData, Data: "hi"}},
		{map[string]any{"vault_mount": "secret", "vault_path": "tls/key"}, KeySource{Kind: KeyVault, VaultMount: "secret", VaultPath: "tls/key", VaultKey: "key"}},
		{map[string]any{"vault_mount": "secret", "vault_path": "p", "vault_address": addr, "vault_key": "pem"},
			KeySource{Kind: KeyVault, VaultMount: "secret", VaultPath: "p", VaultKey: "pem", VaultAddress: &addr}},
		{map[string]any{"event_name": "get_key", "event_args": []any{"a", int64(1)}}, KeySource{Kind: KeyEvent, EventName: "get_key", EventArgs: []any{"a", int64(1)}}},
		{map[string]any{"event_name": "get_key", "event_args": map[string]any{}}, KeySource{Kind: KeyEvent, EventName: "get_key", EventArgs: []any{}}},
	}
	for _, c := range cases {
		got, err := DecodeKeySource(c.in)
		if err != nil || !reflect.DeepEqual(*got, c.want) {
			t.Errorf("DecodeKeySource(%#v) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	bad := []struct {
		in   any
		want string
	}{
		{int64(5), "data did not match any variant of untagged enum KeySource (" + wantKeySourceForms + ")"},
		{map[string]any{"path": "/x"}, "data did not match any variant of untagged enum KeySource (" + wantKeySourceForms + ")"},
		{map[string]any{"vault_mount": "secret"}, "data did not match any variant of untagged enum KeySource (missing field `vault_path`)"},
		{map[string]any{"event_name": "x"}, "data did not match any variant of untagged enum KeySource (missing field `event_args`)"},
		{map[string]any{"key_data": true}, "data did not match any variant of untagged enum KeySource (key_data: invalid type: boolean `true`, expected byte array)"},
	}
	for _, c := range bad {
		_, err := DecodeKeySource(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("DecodeKeySource(%#v) error = %v\nwant %s", c.in, err, c.want)
		}
	}
	vault, _ := DecodeKeySource(map[string]any{"vault_mount": "m", "vault_path": "p"})
	m := vault.Serialize().(*plain.Map)
	if !reflect.DeepEqual(m.Keys(), []string{"vault_address", "vault_token", "vault_mount", "vault_path", "vault_key"}) {
		t.Errorf("vault keys %q", m.Keys())
	}
	file, _ := DecodeKeySource("/k")
	if file.Serialize() != "/k" {
		t.Errorf("file serialize = %#v", file.Serialize())
	}
}

// wantKeySourceForms is the accepted-forms text of KeySource errors,
// spelled out here so that a change to the message is noticed.
const wantKeySourceForms = `expected a file path string, {key_data=...}, {vault_mount=..., vault_path=...} or {event_name=..., event_args={...}}`
