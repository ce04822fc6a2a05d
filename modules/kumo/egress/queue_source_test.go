package egress

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestQueueConfigDefaults(t *testing.T) {
	c, err := DecodeQueueConfig(map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Serialize().Plain(true)
	want := map[string]any{
		"retry_interval":           "20m",
		"max_retry_interval":       nil,
		"max_age":                  "7days",
		"egress_pool":              nil,
		"max_message_rate":         nil,
		"protocol":                 map[string]any{"smtp": map[string]any{"mx_list": []any{}, "treat_mx_list_as_secure": false}},
		"reap_interval":            "10m",
		"refresh_interval":         "1m",
		"timerwheel_tick_interval": nil,
		"strategy":                 "SingletonTimerWheel",
		"refresh_strategy":         "Ttl",
		"provider_name":            nil,
		"shrink_policy":            []any{},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %#v\nwant %#v", got, want)
	}
	if keys := c.Serialize().Keys(); keys[0] != "retry_interval" || keys[len(keys)-1] != "shrink_policy" {
		t.Errorf("order %q", keys)
	}
}

func TestQueueConfigProtocols(t *testing.T) {
	cases := []struct {
		in   any
		kind ProtocolKind
		want any
	}{
		{map[string]any{"smtp": map[string]any{"mx_list": []any{"mx.example.com", "[10.0.0.1]", map[string]any{"name": "a", "addr": "10.0.0.2:2525"}}}},
			ProtocolSMTP, map[string]any{"smtp": map[string]any{"mx_list": []any{"mx.example.com", "[10.0.0.1]", map[string]any{"name": "a", "addr": "10.0.0.2:2525"}}, "treat_mx_list_as_secure": false}}},
		{map[string]any{"smtp": map[string]any{}}, ProtocolSMTP, map[string]any{"smtp": map[string]any{"mx_list": []any{}, "treat_mx_list_as_secure": false}}},
		{map[string]any{"maildir_path": "/var/mail"}, ProtocolMaildir, map[string]any{"maildir_path": "/var/mail", "dir_mode": nil, "file_mode": nil}},
		{map[string]any{"maildir_path": "/var/mail", "dir_mode": int64(0o755), "file_mode": int64(0o644)}, ProtocolMaildir,
			map[string]any{"maildir_path": "/var/mail", "dir_mode": int64(0o755), "file_mode": int64(0o644)}},
		{map[string]any{"custom_lua": map[string]any{"constructor": "make.publisher"}}, ProtocolLua,
			map[string]any{"custom_lua": map[string]any{"constructor": "make.publisher", "batch_size": int64(1), "min_batch_size": int64(1), "max_batch_latency": "0s"}}},
		{map[string]any{"custom_lua": map[string]any{"constructor": "c", "batch_size": int64(100), "max_batch_latency": "5s"}}, ProtocolLua,
			map[string]any{"custom_lua": map[string]any{"constructor": "c", "batch_size": int64(100), "min_batch_size": int64(1), "max_batch_latency": "5s"}}},
		{map[string]any{"xfer": map[string]any{"target": "http://127.0.0.1:8000"}}, ProtocolXfer, map[string]any{"xfer": map[string]any{"target": "http://127.0.0.1:8000/"}}},
		// untagged: keys of other forms are ignored, the first form wins
		{map[string]any{"smtp": map[string]any{}, "maildir_path": "/x"}, ProtocolSMTP, map[string]any{"smtp": map[string]any{"mx_list": []any{}, "treat_mx_list_as_secure": false}}},
	}
	for _, c := range cases {
		q, err := DecodeQueueConfig(map[string]any{"protocol": c.in})
		if err != nil {
			t.Errorf("%#v: %v", c.in, err)
			continue
		}
		if q.Protocol.Kind != c.kind {
			t.Errorf("%#v: kind %v", c.in, q.Protocol.Kind)
		}
		if got := q.Protocol.Serialize().Plain(true); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%#v:\n got %#v\nwant %#v", c.in, got, c.want)
		}
	}
	const mismatch = "protocol: data did not match any variant of untagged enum DeliveryProto ("
	bad := []struct {
		in   any
		want string
	}{
		{"smtp", mismatch + wantProtocolForms + ")"},
		{map[string]any{}, mismatch + wantProtocolForms + ")"},
		{map[string]any{"custom_lua": map[string]any{}}, mismatch + "custom_lua: missing field `constructor`)"},
		{map[string]any{"custom_lua": map[string]any{"constructor": "c", "batch": int64(1)}}, mismatch + "custom_lua: unknown field `batch`, expected one of `constructor`, `batch_size`, `min_batch_size`, `max_batch_latency`)"},
		{map[string]any{"custom_lua": map[string]any{"constructor": "c", "batch_size": 1.5}}, mismatch + "custom_lua.batch_size: invalid type: floating point `1.5`, expected usize)"},
		{map[string]any{"maildir_path": int64(1)}, mismatch + "maildir_path: invalid type: integer `1`, expected a string)"},
		{map[string]any{"maildir_path": "/x", "dir_mode": int64(-1)}, mismatch + "dir_mode: invalid value: integer `-1`, expected u32)"},
		{map[string]any{"xfer": map[string]any{"target": "not a url"}}, mismatch + `xfer.target: invalid value: string "not a url", expected an absolute URL such as http://host:8000 (relative URL without a base))`},
		{map[string]any{"smtp": map[string]any{"mx_list": "mx"}}, mismatch + `smtp.mx_list: invalid type: string "mx", expected a sequence)`},
		{map[string]any{"smtp": map[string]any{"mx_list": []any{map[string]any{"name": "a", "addr": "nope"}}}}, mismatch + "smtp.mx_list[1]: data did not match any variant of untagged enum MxListEntry (addr: Failed to parse 'nope' as an address. Got 'invalid socket address syntax' when considering it as an IP address and 'unix domain path must be absolute' when considering it as a unix domain socket path.))"},
	}
	for _, c := range bad {
		_, err := DecodeQueueConfig(map[string]any{"protocol": c.in})
		if err == nil || err.Error() != c.want {
			t.Errorf("%#v:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}

func TestQueueConfigFields(t *testing.T) {
	c, err := DecodeQueueConfig(map[string]any{
		"retry_interval":     "10 minutes",
		"max_retry_interval": int64(3600),
		"max_age":            "2 days",
		"egress_pool":        "pool",
		"max_message_rate":   "100/hr",
		"strategy":           "SkipList",
		"refresh_strategy":   "Epoch",
		"shrink_policy":      []any{map[string]any{"interval": "1m", "policy": "ShrinkData"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.RetryInterval != 10*time.Minute || *c.MaxRetryInterval != time.Hour || *c.EgressPool != "pool" || c.MaxMessageRate.String() != "100/h" ||
		c.Strategy != "SkipList" || c.RefreshStrategy != "Epoch" || c.ShrinkPolicy[0] != (QueueShrinkPolicy{time.Minute, "ShrinkData"}) {
		t.Errorf("%+v", c)
	}
	if v, _ := c.Serialize().Get("max_age"); v != "2days" {
		t.Errorf("max_age = %v", v)
	}
	bad := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"retry": "1m"}, "unknown field `retry`, expected one of `retry_interval`, `max_retry_interval`, `max_age`, `egress_pool`, `max_message_rate`, `protocol`, `reap_interval`, `refresh_interval`, `timerwheel_tick_interval`, `strategy`, `refresh_strategy`, `provider_name`, `shrink_policy`"},
		{map[string]any{"retry_interval": true}, "retry_interval: invalid type: boolean `true`, expected a duration"},
		{map[string]any{"max_message_rate": int64(5)}, "max_message_rate: invalid type: integer `5`, expected a string"},
		{map[string]any{"strategy": "Wheel"}, "strategy: unknown variant `Wheel`, expected one of `TimerWheel`, `SkipList`, `SingletonTimerWheel`, `SingletonTimerWheelV2`"},
		{map[string]any{"shrink_policy": []any{map[string]any{"interval": "1m"}}}, "shrink_policy[1]: missing field `policy`"},
		{map[string]any{"shrink_policy": []any{map[string]any{"interval": "1m", "policy": "x", "extra": true}}}, "shrink_policy[1]: unknown field `extra`, expected `interval` or `policy`"},
	}
	for _, c := range bad {
		_, err := DecodeQueueConfig(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%#v:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}

func TestEgressSource(t *testing.T) {
	s, err := DecodeEgressSource(map[string]any{
		"name":                         "ip-1",
		"source_address":               "10.0.0.1",
		"ehlo_domain":                  "mta1.example.com",
		"remote_port":                  int64(2525),
		"socks5_proxy_server":          "proxy.example.com:1080",
		"socks5_proxy_source_address":  "::1",
		"ha_proxy_server":              "[10.0.0.2]:5000",
		"suspend_when_unplumbed":       map[string]any{"duration": "5m"},
		"suspend_when_proxy_unhealthy": map[string]any{"duration": int64(60), "trigger": map[string]any{"Threshold": "3/min"}},
		"ttl":                          "1h",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Serialize().Plain(false)
	want := map[string]any{
		"name":                         "ip-1",
		"source_address":               "10.0.0.1",
		"ehlo_domain":                  "mta1.example.com",
		"remote_port":                  int64(2525),
		"socks5_proxy_server":          "proxy.example.com:1080",
		"socks5_proxy_source_address":  "::1",
		"ha_proxy_server":              "10.0.0.2:5000",
		"suspend_when_unplumbed":       map[string]any{"trigger": "Immediate", "duration": "5m"},
		"suspend_when_proxy_unhealthy": map[string]any{"trigger": map[string]any{"Threshold": "3/m"}, "duration": "1m"},
		"ttl":                          "1h",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %#v\nwant %#v", got, want)
	}
	def, err := DecodeEgressSource(map[string]any{"name": "x"})
	if err != nil || def.TTL != time.Minute {
		t.Errorf("default ttl: %v %v", def, err)
	}
	for _, ok := range []string{"10.0.0.1:1080", "[::1]:1080", "/var/run/socks.sock", "mx.example.com.:25", "_srv.example.com:25", "bücher.example:25", "a-b.example:0"} {
		if _, err := DecodeEgressSource(map[string]any{"name": "x", "socks5_proxy_server": ok}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	const prefix = `failed to parse %q as a resolvable socket address: not an IP socket (invalid socket address syntax); not a unix socket path (unix domain path must be absolute); not host:port (`
	bad := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{}, "missing field `name`"},
		{map[string]any{"name": int64(1)}, "name: invalid type: integer `1`, expected a string"},
		{map[string]any{"name": "x", "bogus": true}, "unknown field `bogus`, expected one of `name`, `ehlo_domain`, `source_address`, `remote_port`, `ha_proxy_server`, `ha_proxy_source_address`, `socks5_proxy_server`, `socks5_proxy_source_address`, `socks5_proxy_username`, `socks5_proxy_password`, `suspend_when_unplumbed`, `suspend_when_proxy_unhealthy`, `ttl`"},
		{map[string]any{"name": "x", "source_address": "10.0.0.300"}, "source_address: invalid IP address syntax"},
		{map[string]any{"name": "x", "source_address": int64(5)}, "source_address: invalid type: integer `5`, expected IP address"},
		{map[string]any{"name": "x", "remote_port": int64(-1)}, "remote_port: invalid value: integer `-1`, expected u16"},
		{map[string]any{"name": "x", "socks5_proxy_server": "not a valid hostname:5000"},
			"socks5_proxy_server: " + strings.ReplaceAll(prefix, "%q", `"not a valid hostname:5000"`) + `invalid hostname "not a valid hostname": unrecognized char:  )`},
		{map[string]any{"name": "x", "ha_proxy_server": "proxy.example.com"},
			"ha_proxy_server: " + strings.ReplaceAll(prefix, "%q", `"proxy.example.com"`) + "missing :port suffix)"},
		{map[string]any{"name": "x", "ha_proxy_server": "proxy:http"},
			"ha_proxy_server: " + strings.ReplaceAll(prefix, "%q", `"proxy:http"`) + `invalid port "http")`},
		{map[string]any{"name": "x", "ha_proxy_server": "::1:100"},
			"ha_proxy_server: " + strings.ReplaceAll(prefix, "%q", `"::1:100"`) + `invalid hostname "::1": Malformed label: ::1)`},
		{map[string]any{"name": "x", "ha_proxy_server": ":25"},
			"ha_proxy_server: " + strings.ReplaceAll(prefix, "%q", `":25"`) + `invalid hostname "": hostname is empty)`},
		{map[string]any{"name": "x", "ha_proxy_server": "-bad.example:25"},
			"ha_proxy_server: " + strings.ReplaceAll(prefix, "%q", `"-bad.example:25"`) + `invalid hostname "-bad.example": Malformed label: -bad)`},
		{map[string]any{"name": "x", "ha_proxy_server": "a..b:25"},
			"ha_proxy_server: " + strings.ReplaceAll(prefix, "%q", `"a..b:25"`) + `invalid hostname "a..b": Malformed label: )`},
		{map[string]any{"name": "x", "suspend_when_unplumbed": map[string]any{}}, "suspend_when_unplumbed: missing field `duration`"},
		{map[string]any{"name": "x", "suspend_when_unplumbed": map[string]any{"duration": "1m", "trigger": "Sometimes"}}, "suspend_when_unplumbed.trigger: unknown variant `Sometimes`, expected `Immediate` or `Threshold`"},
		{map[string]any{"name": "x", "suspend_when_unplumbed": map[string]any{"duration": "1m", "trigger": map[string]any{"Threshold": "3/minutes"}}}, "suspend_when_unplumbed.trigger.Threshold: unknown period quantity minutes"},
		{map[string]any{"name": "x", "ttl": "forever"}, `ttl: invalid value: string "forever", expected a duration`},
	}
	for _, c := range bad {
		_, err := DecodeEgressSource(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%#v:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
	// The messages KumoMTA's policy helpers classify: a value error
	// contains "invalid", an unknown field does not.
	_, err = DecodeEgressSource(map[string]any{"name": "x", "socks5_proxy_server": "not a valid hostname:5000"})
	if !strings.Contains(err.Error(), "invalid hostname") {
		t.Error(err)
	}
	_, err = DecodeEgressSource(map[string]any{"name": "x", "weight": int64(1)})
	if strings.Contains(err.Error(), "invalid") {
		t.Error(err)
	}
}

func TestEgressPool(t *testing.T) {
	p, err := DecodeEgressPool(map[string]any{"name": "pool", "entries": []any{
		map[string]any{"name": "ip-1"},
		map[string]any{"name": "ip-2", "weight": int64(2)},
		map[string]any{"name": "ip-3", "weight": int64(0)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []EgressPoolEntry{{"ip-1", 1}, {"ip-2", 2}, {"ip-3", 0}}
	if !reflect.DeepEqual(p.Entries, want) || p.TTL != time.Minute {
		t.Errorf("%+v", p)
	}
	got := p.Serialize().Plain(true)
	if !reflect.DeepEqual(got["entries"], []any{
		map[string]any{"name": "ip-1", "weight": int64(1)},
		map[string]any{"name": "ip-2", "weight": int64(2)},
		map[string]any{"name": "ip-3", "weight": int64(0)},
	}) || got["ttl"] != "1m" {
		t.Errorf("%#v", got)
	}
	for _, in := range []map[string]any{{"name": "empty"}, {"name": "empty", "entries": map[string]any{}}} {
		p, err := DecodeEgressPool(in)
		if err != nil || len(p.Entries) != 0 {
			t.Errorf("%v: %+v %v", in, p, err)
		}
	}
	bad := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"entries": []any{}}, "missing field `name`"},
		{map[string]any{"name": "p", "entries": []any{map[string]any{"weight": int64(1)}}}, "entries[1]: missing field `name`"},
		{map[string]any{"name": "p", "entries": []any{map[string]any{"name": "a"}, map[string]any{"name": "b", "weight": 1.5}}}, "entries[2].weight: invalid type: floating point `1.5`, expected u32"},
		{map[string]any{"name": "p", "entries": []any{map[string]any{"name": "a", "weight": int64(-1)}}}, "entries[1].weight: invalid value: integer `-1`, expected u32"},
		{map[string]any{"name": "p", "entries": []any{map[string]any{"name": "a", "wieght": int64(1)}}}, "entries[1]: unknown field `wieght`, expected `name` or `weight`"},
		{map[string]any{"name": "p", "entries": []any{"a"}}, `entries[1]: invalid type: string "a", expected struct EgressPoolEntry`},
		{map[string]any{"name": "p", "ttl": "x"}, `ttl: invalid value: string "x", expected a duration`},
		{map[string]any{"name": "p", "sources": []any{}}, "unknown field `sources`, expected one of `name`, `entries`, `ttl`"},
	}
	for _, c := range bad {
		_, err := DecodeEgressPool(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%#v:\n got %v\nwant %s", c.in, err, c.want)
		}
	}
}

// wantProtocolForms is the accepted-forms text of DeliveryProto errors,
// spelled out here so that a change to the message is noticed.
const wantProtocolForms = "expected {smtp={...}}, {maildir_path=...}, {custom_lua={constructor=...}} or {xfer={target=...}}"
