package egress

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// defaultSerialized is the serialized default egress path, in order.
var defaultSerialized = []struct {
	key   string
	value any
}{
	{"connection_limit", map[string]any{"limit": int64(32), "force_local": false}},
	{"additional_connection_limits", map[string]any{}},
	{"enable_tls", "Opportunistic"},
	{"enable_mta_sts", true},
	{"enable_dane", false},
	{"enable_pipelining", true},
	{"enable_rset", true},
	{"tls_prefer_openssl", false},
	{"tls_certificate", nil},
	{"tls_private_key", nil},
	{"openssl_cipher_list", nil},
	{"openssl_cipher_suites", nil},
	{"connect_timeout", "1m"},
	{"banner_timeout", "1m"},
	{"ehlo_timeout", "5m"},
	{"mail_from_timeout", "5m"},
	{"rcpt_to_timeout", "5m"},
	{"data_timeout", "5m"},
	{"data_dot_timeout", "5m"},
	{"rset_timeout", "5s"},
	{"idle_timeout", "5s"},
	{"starttls_timeout", "5s"},
	{"auth_timeout", "1m"},
	{"system_shutdown_timeout", nil},
	{"max_ready", int64(1024)},
	{"consecutive_connection_failures_before_delay", int64(100)},
	{"smtp_port", int64(25)},
	{"smtp_auth_plain_username", nil},
	{"smtp_auth_plain_password", nil},
	{"allow_smtp_auth_plain_without_tls", false},
	{"allow_smtp_auth_plain_without_valid_certificate", false},
	{"max_message_rate", nil},
	{"additional_message_rate_throttles", map[string]any{}},
	{"source_selection_rate", nil},
	{"additional_source_selection_rates", map[string]any{}},
	{"max_connection_rate", nil},
	{"max_deliveries_per_connection", int64(1024)},
	{"max_recipients_per_batch", int64(100)},
	{"prohibited_hosts", []any{"0.0.0.0", "127.0.0.0/8", "::/127"}},
	{"skip_hosts", []any{}},
	{"ip_lookup_strategy", "Ipv4AndIpv6"},
	{"ehlo_domain", nil},
	{"aggressive_connection_opening", false},
	{"refresh_interval", "1m"},
	{"refresh_strategy", "Ttl"},
	{"dispatcher_wakeup_strategy", "Aggressive"},
	{"maintainer_wakeup_strategy", "Aggressive"},
	{"provider_name", nil},
	{"remember_broken_tls", nil},
	{"opportunistic_tls_reconnect_on_failed_handshake", false},
	{"use_lmtp", false},
	{"reconnect_strategy", "ConnectNextHost"},
	{"readyq_pool_name", nil},
	{"low_memory_reduction_policy", "ShrinkDataAndMeta"},
	{"no_memory_reduction_policy", "ShrinkDataAndMeta"},
	{"try_next_host_on_transport_error", false},
	{"ignore_8bit_checks", false},
	{"dispatcher_progress_watchdog_timeout", nil},
}

func TestEgressPathDefaults(t *testing.T) {
	for _, in := range []any{map[string]any{}, []any{}} {
		c, err := DecodeEgressPathConfig(in)
		if err != nil {
			t.Fatal(err)
		}
		m := c.Serialize()
		if m.Len() != len(defaultSerialized) {
			t.Fatalf("serialized %d fields, want %d: %q", m.Len(), len(defaultSerialized), m.Keys())
		}
		for i, want := range defaultSerialized {
			k, v := m.At(i)
			if k != want.key {
				t.Errorf("field %d is %q, want %q", i, k, want.key)
				continue
			}
			if got := plain.Unordered(v, true); !reflect.DeepEqual(got, want.value) {
				t.Errorf("%s = %#v, want %#v", k, got, want.value)
			}
		}
	}
	c := DefaultEgressPathConfig()
	if c.ClientTimeouts.DataTimeout != 300*time.Second || c.ClientTimeouts.IdleTimeout != 5*time.Second || c.ClientTimeouts.DataDotTimeout != 300*time.Second {
		t.Errorf("timeouts = %+v", c.ClientTimeouts)
	}
	// Every accepted field but the two unserialized ones is serialized.
	names := EgressPathFieldNames()
	if len(names) != len(defaultSerialized)+2 {
		t.Errorf("%d field names", len(names))
	}
}

func TestEgressPathAcceptedForms(t *testing.T) {
	in := map[string]any{
		"connection_limit":             "1,000",
		"additional_connection_limits": map[string]any{"b": int64(5), "a": "local:7", "c": map[string]any{"limit": int64(2), "force_local": true}},
		"enable_tls":                   "RequiredInsecure",
		"enable_dane":                  true,
		"tls_certificate":              "/etc/cert.pem",
		"tls_private_key":              map[string]any{"key_data": "PEM"},
		"openssl_cipher_list":          "HIGH",
		"openssl_options":              "NO_TLSV1|NO_TLSV1_1",
		"rustls_cipher_suites":         []any{"tls13_aes_128_gcm_sha256"},
		"idle_timeout":                 int64(60),
		"data_timeout":                 "30s",
		"connect_timeout":              1.5,
		"system_shutdown_timeout":      "2 minutes",
		"max_ready":                    int64(0),
		"smtp_port":                    int64(2525),
		"smtp_auth_plain_password":     map[string]any{"vault_mount": "m", "vault_path": "p"},
		"max_message_rate":             "local:100/123m",
		"additional_message_rate_throttles": map[string]any{
			"x": "100/min", "y": "1,000/hr"},
		"source_selection_rate":      "50/day,max_burst=1",
		"max_connection_rate":        "10/s",
		"prohibited_hosts":           []any{"10.0.0.0/25", "10.0.0.128/25"},
		"skip_hosts":                 []any{"::1"},
		"ip_lookup_strategy":         "Ipv6ThenIpv4",
		"ehlo_domain":                "mta.example.com",
		"refresh_interval":           "1h 30m",
		"refresh_strategy":           "Epoch",
		"reconnect_strategy":         "TerminateSession",
		"remember_broken_tls":        int64(3600),
		"no_memory_reduction_policy": "NoShrink",
	}
	c, err := DecodeEgressPathConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Serialize()
	want := map[string]any{
		"connection_limit":                  map[string]any{"limit": int64(1000), "force_local": false},
		"additional_connection_limits":      map[string]any{"a": map[string]any{"limit": int64(7), "force_local": true}, "b": map[string]any{"limit": int64(5), "force_local": false}, "c": map[string]any{"limit": int64(2), "force_local": true}},
		"enable_tls":                        "RequiredInsecure",
		"enable_dane":                       true,
		"tls_certificate":                   "/etc/cert.pem",
		"tls_private_key":                   map[string]any{"key_data": "PEM"},
		"openssl_cipher_list":               "HIGH",
		"idle_timeout":                      "1m",
		"data_timeout":                      "30s",
		"connect_timeout":                   "1s 500ms",
		"system_shutdown_timeout":           "2m",
		"max_ready":                         int64(0),
		"smtp_port":                         int64(2525),
		"smtp_auth_plain_password":          map[string]any{"vault_address": nil, "vault_token": nil, "vault_mount": "m", "vault_path": "p", "vault_key": "key"},
		"max_message_rate":                  "local:100/7380s",
		"additional_message_rate_throttles": map[string]any{"x": "100/m", "y": "1000/h"},
		"source_selection_rate":             "50/d,max_burst=1",
		"max_connection_rate":               "10/s",
		"prohibited_hosts":                  []any{"10.0.0.0/24"},
		"skip_hosts":                        []any{"::1"},
		"ip_lookup_strategy":                "Ipv6ThenIpv4",
		"ehlo_domain":                       "mta.example.com",
		"refresh_interval":                  "1h 30m",
		"refresh_strategy":                  "Epoch",
		"reconnect_strategy":                "TerminateSession",
		"remember_broken_tls":               "1h",
		"no_memory_reduction_policy":        "NoShrink",
	}
	for k, w := range want {
		v, ok := m.Get(k)
		if !ok || !reflect.DeepEqual(plain.Unordered(v, true), w) {
			t.Errorf("%s = %#v, want %#v", k, plain.Unordered(v, true), w)
		}
	}
	if keys := m.Keys(); keys[0] != "connection_limit" {
		t.Errorf("order: %q", keys)
	}
	if _, ok := m.Get("openssl_options"); ok {
		t.Error("openssl_options must not be serialized")
	}
	if _, ok := m.Get("rustls_cipher_suites"); ok {
		t.Error("rustls_cipher_suites must not be serialized")
	}
	if !reflect.DeepEqual(c.OpenSSLOptions, []string{"NO_TLSV1", "NO_TLSV1_1"}) || !reflect.DeepEqual(c.RustlsCipherSuites, []string{"TLS13_AES_128_GCM_SHA256"}) {
		t.Errorf("tls options %q %q", c.OpenSSLOptions, c.RustlsCipherSuites)
	}
	if c.ClientTimeouts.ConnectTimeout != 1500*time.Millisecond || c.MaxMessageRate.Period != 7380 {
		t.Errorf("typed values: %+v", c)
	}
	// The serialized form decodes back to the same configuration.
	back, err := DecodeEgressPathConfig(m.Plain(true))
	if err != nil {
		t.Fatal(err)
	}
	back.OpenSSLOptions, back.RustlsCipherSuites = c.OpenSSLOptions, c.RustlsCipherSuites
	if !reflect.DeepEqual(back.Serialize(), m) {
		t.Errorf("round trip differs:\n%v\n%v", back.Serialize(), m)
	}
	// JSON keeps declaration order.
	b, err := json.Marshal(m)
	if err != nil || !strings.HasPrefix(string(b), `{"connection_limit":{"limit":1000,"force_local":false},"additional_connection_limits":{"a":`) {
		t.Errorf("json = %s, %v", b, err)
	}
}

func TestEgressPathErrors(t *testing.T) {
	cases := []struct {
		in   map[string]any
		want string
	}{
		// unknown fields: no list (the struct has a flattened member), a suggestion when close
		{map[string]any{"bogus": int64(1)}, "unknown field `bogus`"},
		{map[string]any{"idle_timout": "5s"}, "unknown field `idle_timout`, did you mean `idle_timeout`?"},
		{map[string]any{"conection_limit": int64(5)}, "unknown field `conection_limit`, did you mean `connection_limit`?"},
		{map[string]any{"zzz": int64(1), "aaa": int64(1), "max_ready": 1.5}, "unknown field `aaa`"},
		// booleans must be booleans
		{map[string]any{"enable_mta_sts": "true"}, `enable_mta_sts: invalid type: string "true", expected a boolean`},
		{map[string]any{"enable_dane": int64(1)}, "enable_dane: invalid type: integer `1`, expected a boolean"},
		{map[string]any{"use_lmtp": int64(0)}, "use_lmtp: invalid type: integer `0`, expected a boolean"},
		// integers must be integers, non-negative, in range
		{map[string]any{"max_ready": 1.5}, "max_ready: invalid type: floating point `1.5`, expected usize"},
		{map[string]any{"max_ready": "10"}, `max_ready: invalid type: string "10", expected usize`},
		{map[string]any{"max_ready": int64(-1)}, "max_ready: invalid value: integer `-1`, expected usize"},
		{map[string]any{"max_deliveries_per_connection": true}, "max_deliveries_per_connection: invalid type: boolean `true`, expected usize"},
		{map[string]any{"smtp_port": int64(70000)}, "smtp_port: invalid value: integer `70000`, expected u16"},
		{map[string]any{"smtp_port": "25"}, `smtp_port: invalid type: string "25", expected u16`},
		// limits
		{map[string]any{"connection_limit": int64(0)}, "connection_limit: limit must be 1 or larger"},
		{map[string]any{"connection_limit": 2.5}, "connection_limit: invalid type: floating point `2.5`, expected string or numeric limit spec"},
		{map[string]any{"connection_limit": "ten"}, "connection_limit: invalid limit 'ten': invalid digit found in string"},
		{map[string]any{"additional_connection_limits": map[string]any{"pool": "0"}}, "additional_connection_limits.pool: invalid LimitSpec `0`: limit must be greater than 0!"},
		{map[string]any{"additional_connection_limits": "5"}, `additional_connection_limits: invalid type: string "5", expected a map`},
		// rates: strings only
		{map[string]any{"max_message_rate": int64(100)}, "max_message_rate: invalid type: integer `100`, expected a string"},
		{map[string]any{"max_message_rate": "100/minutes"}, "max_message_rate: unknown period quantity minutes"},
		{map[string]any{"max_connection_rate": "three/hour"}, "max_connection_rate: invalid limit 'three': invalid digit found in string"},
		{map[string]any{"source_selection_rate": "100/our"}, "source_selection_rate: unknown period quantity our"},
		{map[string]any{"additional_message_rate_throttles": map[string]any{"t": "5"}}, "additional_message_rate_throttles.t: expected 'limit/period', got 5"},
		{map[string]any{"additional_source_selection_rates": map[string]any{"t": int64(5)}}, "additional_source_selection_rates.t: invalid type: integer `5`, expected a string"},
		// enums: exact strings
		{map[string]any{"enable_tls": "required"}, "enable_tls: unknown variant `required`, expected one of `Opportunistic`, `OpportunisticInsecure`, `Required`, `RequiredInsecure`, `Disabled`"},
		{map[string]any{"enable_tls": true}, "enable_tls: invalid type: boolean `true`, expected enum Tls"},
		{map[string]any{"refresh_strategy": "TTL"}, "refresh_strategy: unknown variant `TTL`, expected `Ttl` or `Epoch`"},
		{map[string]any{"ip_lookup_strategy": "V4"}, "ip_lookup_strategy: unknown variant `V4`, expected one of `Ipv4Only`, `Ipv6Only`, `Ipv4AndIpv6`, `Ipv6ThenIpv4`, `Ipv4ThenIpv6`"},
		{map[string]any{"dispatcher_wakeup_strategy": "Lazy"}, "dispatcher_wakeup_strategy: unknown variant `Lazy`, expected `Aggressive` or `Relaxed`"},
		{map[string]any{"maintainer_wakeup_strategy": int64(1)}, "maintainer_wakeup_strategy: invalid type: integer `1`, expected enum WakeupStrategy"},
		{map[string]any{"reconnect_strategy": "Retry"}, "reconnect_strategy: unknown variant `Retry`, expected one of `TerminateSession`, `ReconnectSameHost`, `ConnectNextHost`"},
		{map[string]any{"low_memory_reduction_policy": "Shrink"}, "low_memory_reduction_policy: unknown variant `Shrink`, expected one of `ShrinkDataAndMeta`, `ShrinkData`, `NoShrink`"},
		// durations
		{map[string]any{"idle_timeout": "5 parsecs"}, `idle_timeout: invalid value: string "5 parsecs", expected a duration`},
		{map[string]any{"data_timeout": true}, "data_timeout: invalid type: boolean `true`, expected a duration"},
		{map[string]any{"refresh_interval": int64(-5)}, "refresh_interval: duration must either be a string or a positive integer specifying the number of seconds. (error: out of range integral type conversion attempted)"},
		{map[string]any{"remember_broken_tls": "1/hour"}, `remember_broken_tls: invalid value: string "1/hour", expected a duration`},
		// strings
		{map[string]any{"ehlo_domain": int64(5)}, "ehlo_domain: invalid type: integer `5`, expected a string"},
		{map[string]any{"provider_name": map[string]any{}}, "provider_name: invalid type: map, expected a string"},
		// CIDR sets
		{map[string]any{"prohibited_hosts": []any{"10.0.0.1/8"}}, "prohibited_hosts: 10.0.0.1/8: 10.0.0.1/8 is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/8?"},
		{map[string]any{"skip_hosts": "10.0.0.0/8"}, `skip_hosts: invalid type: string "10.0.0.0/8", expected a sequence`},
		// TLS names
		{map[string]any{"rustls_cipher_suites": []any{"RC4"}}, "rustls_cipher_suites: `RC4` is not a valid rustls cipher suite"},
		{map[string]any{"rustls_cipher_suites": "TLS13_AES_128_GCM_SHA256"}, `rustls_cipher_suites: invalid type: string "TLS13_AES_128_GCM_SHA256", expected a sequence`},
		{map[string]any{"openssl_options": int64(1)}, "openssl_options: invalid type: integer `1`, expected a string"},
		// key sources
		{map[string]any{"tls_certificate": int64(1)}, "tls_certificate: data did not match any variant of untagged enum KeySource (" + wantKeySourceForms + ")"},
	}
	for _, c := range cases {
		_, err := DecodeEgressPathConfig(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
	_, err := DecodeEgressPathConfig(map[string]any{"openssl_options": "NO_TLSV1|nope"})
	if err == nil || !strings.HasPrefix(err.Error(), "openssl_options: `nope` is not a valid SslOption name. Possible values are `ALLOW_UNSAFE_LEGACY_RENEGOTIATION`, ") {
		t.Errorf("openssl_options error = %v", err)
	}
	for _, in := range []any{"x", int64(1), []any{int64(1)}} {
		_, err := DecodeEgressPathConfig(in)
		if err == nil || !strings.HasSuffix(err.Error(), "expected struct EgressPathConfig") {
			t.Errorf("DecodeEgressPathConfig(%#v) error = %v", in, err)
		}
	}
}

// twelveFields is the 12-field egress path table of the benchmarks.
func twelveFields() map[string]any {
	return map[string]any{
		"connection_limit":              int64(10),
		"max_message_rate":              "100/min",
		"max_connection_rate":           "10/s",
		"max_deliveries_per_connection": int64(50),
		"enable_tls":                    "Opportunistic",
		"idle_timeout":                  "30s",
		"data_timeout":                  "60s",
		"connect_timeout":               int64(30),
		"additional_connection_limits":  map[string]any{"provider": int64(20)},
		"prohibited_hosts":              []any{"127.0.0.0/8", "::1"},
		"smtp_port":                     int64(25),
		"refresh_strategy":              "Epoch",
	}
}

func BenchmarkDecodeEgressPath12Fields(b *testing.B) {
	in := twelveFields()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEgressPathConfig(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSerializeEgressPath(b *testing.B) {
	c, err := DecodeEgressPathConfig(twelveFields())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Serialize()
	}
}

// An ordered map (what shaping resolves to) decodes exactly as the same
// data in a Go map: values, defaults and errors.
func TestDecodeEgressPathConfigFromOrderedMap(t *testing.T) {
	for _, in := range []map[string]any{
		{"connection_limit": int64(3), "idle_timeout": "9s", "additional_connection_limits": map[string]any{"a": int64(2)}, "enable_tls": "Required"},
		{"conection_limit": int64(3)},
		{"max_ready": "lots"},
	} {
		om := plain.NewMap(len(in))
		for _, k := range plain.SortedKeys(in) {
			v := in[k]
			if sub, ok := v.(map[string]any); ok {
				m := plain.NewMap(len(sub))
				for _, sk := range plain.SortedKeys(sub) {
					m.Set(sk, sub[sk])
				}
				v = m
			}
			om.Set(k, v)
		}
		want, wantErr := DecodeEgressPathConfig(in)
		got, gotErr := DecodeEgressPathConfig(om)
		if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
			t.Errorf("%v: errors differ: %v vs %v", in, wantErr, gotErr)
			continue
		}
		if wantErr == nil && !reflect.DeepEqual(want.Serialize().Plain(true), got.Serialize().Plain(true)) {
			t.Errorf("%v: decoded differently:\n%v\n%v", in, want.Serialize().Plain(true), got.Serialize().Plain(true))
		}
	}
}
