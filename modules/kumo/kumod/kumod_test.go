package kumod

import (
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"

	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// obj is shorthand for a parameter table.
type obj = map[string]any

// list is shorthand for a Lua sequence.
type list = []any

// rejection is an input and a substring of its error text.
type rejection struct {
	in   any
	want string
}

func checkRejections[T any](t *testing.T, decode func(any) (T, error), cases []rejection) {
	t.Helper()
	for _, c := range cases {
		_, err := decode(c.in)
		if err == nil {
			t.Errorf("%s: accepted, want error containing %q", renderJSON(c.in), c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %q\nwant %q", renderJSON(c.in), err.Error(), c.want)
		}
	}
}

// dataJSON renders a config's data, for comparisons.
func dataJSON(c Config) string { return renderJSON(c.Data()) }

func TestDeserializeErrorText(t *testing.T) {
	_, err := DecodeSpool(obj{"path": "/x"})
	var de *DeserializeError
	if !errors.As(err, &de) {
		t.Fatalf("got %T %v", err, err)
	}
	if got, want := err.Error(), "deserialize error: missing field `name`, while processing {\"path\":\"/x\"}"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// typing.lua's pattern finds the serde message.
	_, err = DecodeSpool(obj{"name": "data", "path": "/x", "bogus": 1})
	if got, want := err.Error(), "deserialize error: unknown field `bogus`, expected one of `name`, `path`, `kind`, `flush`, `rocks_params`, `min_free_space`, `min_free_inodes`, while processing {\"bogus\":1,\"name\":\"data\",\"path\":\"/x\"}"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// Non-schema errors are not wrapped.
	_, err = DecodeEsmtpListener(obj{"listen": "nope"})
	if errors.As(err, &de) || !strings.Contains(err.Error(), `kumo.start_esmtp_listener: invalid listen address "nope"`) {
		t.Fatalf("got %v", err)
	}
}

func TestEsmtpListener(t *testing.T) {
	l, err := DecodeEsmtpListener(obj{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Listen != "127.0.0.1:2025" || l.MaxConnections != 32768 {
		t.Fatalf("defaults: %+v", l)
	}
	l, err = DecodeEsmtpListener(list{}) // an empty table marked as an array
	if err != nil || l.Listen != "127.0.0.1:2025" {
		t.Fatalf("empty array: %v %+v", err, l)
	}

	full := obj{
		"listen":                      "[::]:2525",
		"max_connections":             int64(10),
		"hostname":                    "mx.example.com",
		"relay_hosts":                 list{"10.0.0.0/8", "127.0.0.1", "10.1.0.0/16"},
		"banner":                      "hi",
		"batch_handling":              "BatchByDomain",
		"tls_certificate":             "/etc/cert.pem",
		"tls_private_key":             obj{"key_data": "secret"},
		"tls_required_client_ca":      obj{"vault_mount": "m", "vault_path": "p", "vault_token": "tok"},
		"deferred_spool":              false,
		"deferred_queue":              true,
		"trace_headers":               obj{"received_header": false, "include_meta_names": list{"tenant"}},
		"client_timeout":              "30s",
		"data_processing_timeout":     int64(90),
		"peer":                        obj{"10.0.0.0/8": obj{"relay_hosts": list{"any"}, "via": obj{"127.0.0.1": obj{"banner": "inner"}}}},
		"via":                         obj{"192.168.1.1": obj{"hostname": "inside"}},
		"meta":                        obj{"tenant": "t1", "n": int64(1)},
		"max_messages_per_connection": int64(5),
		"max_recipients_per_message":  int64(6),
		"max_message_size":            int64(7),
		"data_buffer_size":            int64(8),
		"invalid_line_endings":        "Fix",
		"line_length_hard_limit":      int64(998),
		"allow_xclient":               true,
		"require_proxy_protocol":      false,
	}
	l, err = DecodeEsmtpListener(full)
	if err != nil {
		t.Fatal(err)
	}
	got := dataJSON(l)
	for _, want := range []string{
		`"listen":"[::]:2525"`, `"max_connections":10`,
		`"relay_hosts":["10.0.0.0/8","127.0.0.1"]`, // normalized: 10.1/16 is inside 10/8
		`"tls_private_key":{"key_data":"<6 bytes>"}`,
		`"vault_token":"<redacted>"`,
		`"client_timeout":"30s"`, `"data_processing_timeout":"1m 30s"`,
		`"peer":{"10.0.0.0/8":{"relay_hosts":["any"],"via":{"127.0.0.1":{"banner":"inner"}}}}`,
		`"trace_headers":{"header_name":"X-KumoRef","include_meta_names":["tenant"],"received_header":false,"supplemental_header":true}`,
		`"invalid_line_endings":"Fix"`, `"batch_handling":"BatchByDomain"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("data lacks %s:\n%s", want, got)
		}
	}
	if s := (Record{Config: l}).Summary(); s != "esmtp listener [::]:2525" {
		t.Errorf("summary %q", s)
	}

	for _, listen := range []string{"0.0.0.0:25", "[::1]:0", "localhost:2025", "::1:25", "mail.example.com.:587"} {
		if _, err := DecodeEsmtpListener(obj{"listen": listen}); err != nil {
			t.Errorf("listen %q: %v", listen, err)
		}
	}

	checkRejections(t, DecodeEsmtpListener, []rejection{
		{"0.0.0.0:25", `invalid type: string "0.0.0.0:25", expected struct EsmtpListenerParams`},
		{obj{"bogus": true}, "deserialize error: unknown field `bogus`, while processing"},
		{obj{"listen": int64(25)}, "listen: invalid type: integer `25`, expected a string"},
		{obj{"listen": "0.0.0.0"}, `invalid listen address "0.0.0.0": expected HOST:PORT`},
		{obj{"listen": "0.0.0.0:99999"}, `invalid port "99999"`},
		{obj{"listen": ":25"}, "missing host"},
		{obj{"listen": "bad host:25"}, "is neither an IP address nor a host name"},
		{obj{"max_connections": int64(-1)}, "max_connections: invalid value: integer `-1`, expected usize"},
		{obj{"max_connections": 1.5}, "max_connections: invalid type: floating point `1.5`, expected usize"},
		{obj{"relay_hosts": list{"10.0.0.1/8"}}, "relay_hosts: 10.0.0.1/8: 10.0.0.1/8 is not a valid CIDR: host part of address was not zero. Did you mean 10.0.0.0/8?"},
		{obj{"relay_hosts": "10.0.0.0/8"}, `relay_hosts: invalid type: string "10.0.0.0/8", expected a sequence`},
		{obj{"batch_handling": "ByDomain"}, "batch_handling: unknown variant `ByDomain`, expected `BifurcateAlways` or `BatchByDomain`"},
		{obj{"invalid_line_endings": "fix"}, "unknown variant `fix`, expected one of `Deny`, `Allow`, `Fix`"},
		{obj{"tls_certificate": int64(1)}, "tls_certificate: data did not match any variant of untagged enum KeySource"},
		{obj{"trace_headers": obj{"received": true}}, "trace_headers: unknown field `received`, expected one of `received_header`, `supplemental_header`, `header_name`, `include_meta_names`"},
		{obj{"client_timeout": "5 parsecs"}, `client_timeout: invalid value: string "5 parsecs", expected a duration`},
		{obj{"client_timeout": int64(-5)}, "duration must either be a string or a positive integer"},
		{obj{"peer": obj{"10.0.0.1/8": obj{}}}, "peer: 10.0.0.1/8 is not a valid CIDR"},
		{obj{"peer": obj{"10.0.0.0/8": obj{"listen": "x:1"}}}, "peer.10.0.0.0/8: unknown field `listen`, expected one of `hostname`, `relay_hosts`"},
		{obj{"via": list{"x"}}, "via: invalid type: sequence, expected a CidrMap"},
		{obj{"meta": "x"}, `meta: invalid type: string "x", expected a map`},
		{obj{"deferred_spool": "yes"}, `deferred_spool: invalid type: string "yes", expected a boolean`},
	})
}

func TestHTTPListener(t *testing.T) {
	l, err := DecodeHTTPListener(obj{})
	if err != nil {
		t.Fatal(err)
	}
	if l.Listen != "127.0.0.1:8000" || l.UseTLS || l.Hostname == "" || !reflect.DeepEqual(l.TrustedHosts, []string{"127.0.0.1", "::1"}) {
		t.Fatalf("defaults: %+v", l)
	}
	l, err = DecodeHTTPListener(obj{
		"listen": "0.0.0.0:8001", "use_tls": true, "hostname": "h", "request_body_limit": int64(1024),
		"tls_certificate": "/c.pem", "tls_private_key": obj{"event_name": "get_key", "event_args": list{}},
		"trusted_hosts": list{"::1", "10.0.0.0/24"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dataJSON(l), `{"hostname":"h","listen":"0.0.0.0:8001","request_body_limit":1024,"tls_certificate":"/c.pem","tls_private_key":{"event_args":[],"event_name":"get_key"},"trusted_hosts":["10.0.0.0/24","::1"],"use_tls":true}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if s := (Record{Config: l}).Summary(); s != "http listener 0.0.0.0:8001 (tls)" {
		t.Errorf("summary %q", s)
	}
	checkRejections(t, DecodeHTTPListener, []rejection{
		{obj{"listen": "127.0.0.1:8000", "trusted_host": list{}}, "unknown field `trusted_host`, expected one of `hostname`, `listen`, `use_tls`, `request_body_limit`, `tls_certificate`, `tls_private_key`, `trusted_hosts`"},
		{obj{"use_tls": "true"}, `use_tls: invalid type: string "true", expected a boolean`},
		{obj{"trusted_hosts": list{"localhost"}}, "trusted_hosts: localhost: localhost is not a valid CIDR"},
		{obj{"trusted_hosts": list{int64(1)}}, "trusted_hosts[1]: invalid type: integer `1`, expected a string"},
		{obj{"request_body_limit": int64(-1)}, "invalid value: integer `-1`, expected usize"},
		{obj{"listen": "127.0.0.1"}, "kumo.start_http_listener: invalid listen address"},
		{true, "invalid type: boolean `true`, expected struct HttpListenerParams"},
	})
}

func TestSpool(t *testing.T) {
	s, err := DecodeSpool(obj{"name": "data", "path": "/var/spool/kumomta/data"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dataJSON(s), `{"flush":false,"kind":"LocalDisk","min_free_inodes":"10%","min_free_space":"10%","name":"data","path":"/var/spool/kumomta/data"}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	s, err = DecodeSpool(obj{
		"name": "meta", "path": "/s", "kind": "RocksDB", "flush": true,
		"min_free_space": "5%", "min_free_inodes": int64(1000),
		"rocks_params": obj{"compression_type": "Zstd", "log_level": "Warn", "increase_parallelism": int64(4),
			"store_deadline": "10s", "max_open_files": int64(100), "paranoid_checks": true, "future_option": "ignored"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dataJSON(s), `{"flush":true,"kind":"RocksDB","min_free_inodes":1000,"min_free_space":"5%","name":"meta","path":"/s","rocks_params":{"compression_type":"Zstd","increase_parallelism":4,"log_level":"Warn","max_open_files":100,"paranoid_checks":true,"store_deadline":"10s"}}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := (Record{Config: s}).Summary(); got != "spool meta: /s (RocksDB)" {
		t.Errorf("summary %q", got)
	}
	if s, err := DecodeSpool(obj{"name": "d", "path": "/d", "min_free_space": "1000000"}); err != nil || s.MinFreeSpace != (MinFree{Value: 1000000}) {
		t.Errorf("byte threshold: %v %+v", err, s)
	}
	checkRejections(t, DecodeSpool, []rejection{
		{obj{"name": "data"}, "missing field `path`"},
		{obj{"path": "/x"}, "missing field `name`"},
		{obj{"name": "data", "path": ""}, "kumo.define_spool: path must not be empty"},
		{obj{"name": "data", "path": int64(1)}, "path: invalid type: integer `1`, expected path string"},
		{obj{"name": "data", "path": "/x", "kind": "rocksdb"}, "kind: unknown variant `rocksdb`, expected `LocalDisk` or `RocksDB`"},
		{obj{"name": "data", "path": "/x", "kind": true}, "kind: invalid type: boolean `true`, expected enum SpoolKind"},
		{obj{"name": "data", "path": "/x", "flush": int64(1)}, "flush: invalid type: integer `1`, expected a boolean"},
		{obj{"name": "data", "path": "/x", "min_free_space": "ten%"}, "min_free_space: invalid MinFree percentage specifier. invalid digit found in string"},
		{obj{"name": "data", "path": "/x", "min_free_space": "300%"}, "invalid MinFree percentage specifier. number too large to fit in target type"},
		{obj{"name": "data", "path": "/x", "min_free_inodes": "lots"}, "min_free_inodes: invalid MinFree size specifier. invalid digit found in string"},
		{obj{"name": "data", "path": "/x", "min_free_inodes": int64(-1)}, "invalid MinFree size specifier. -1 could not be converted to u64"},
		{obj{"name": "data", "path": "/x", "min_free_inodes": true}, "invalid MinFree specifier Bool(true). Value must be either a percentage string like '10%' or the size expressed as an integer"},
		{obj{"name": "data", "path": "/x", "rocks_params": obj{"compression_type": "zstd"}}, "rocks_params.compression_type: unknown variant `zstd`, expected one of `None`, `Snappy`"},
		{obj{"name": "data", "path": "/x", "rocks_params": obj{"increase_parallelism": int64(1) << 40}}, "rocks_params.increase_parallelism: invalid value: integer `1099511627776`, expected i32"},
		{obj{"name": "data", "path": "/x", "rocks_params": obj{"store_deadline": "soon"}}, `rocks_params.store_deadline: invalid value: string "soon", expected a duration`},
		{obj{"name": "data", "path": "/x", "rocks_params": "fast"}, `rocks_params: invalid type: string "fast", expected struct RocksSpoolParams`},
	})
}

func TestLocalLogs(t *testing.T) {
	l, err := DecodeLocalLogs(obj{"log_dir": "/var/log/kumomta", "max_segment_duration": "10s"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dataJSON(l), `{"back_pressure":128000,"compression_level":0,"headers":[],"log_dir":"/var/log/kumomta","max_file_size":1000000000,"max_segment_duration":"10s","meta":[],"min_free_inodes":"10%","min_free_space":"10%","per_record":{}}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	l, err = DecodeLocalLogs(obj{
		"log_dir": "/l", "max_file_size": int64(10), "back_pressure": int64(5), "compression_level": int64(-3),
		"meta": list{"tenant"}, "headers": list{"Subject", "X-*"}, "filter_event": "should_log",
		"per_record": obj{
			"Reception": obj{"suffix": ".rx", "log_dir": "/rx", "template": "{{ id }}", "segment_header": "# h\n"},
			"Any":       obj{"enable": false},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderJSON(l.Data()["per_record"]), `{"Any":{"enable":false,"segment_header":""},"Reception":{"enable":true,"log_dir":"/rx","segment_header":"# h\n","suffix":".rx","template":"{{ id }}"}}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := (Record{Config: l}).Summary(); got != "local logs: /l" {
		t.Errorf("summary %q", got)
	}
	checkRejections(t, DecodeLocalLogs, []rejection{
		{obj{}, "missing field `log_dir`"},
		{obj{"log_dir": " "}, "kumo.configure_local_logs: log_dir must not be empty"},
		{obj{"log_dir": "/l", "max_segment_duration": "10 sec later"}, `max_segment_duration: invalid value: string "10 sec later", expected a duration`},
		{obj{"log_dir": "/l", "max_file_size": "big"}, `max_file_size: invalid type: string "big", expected u64`},
		{obj{"log_dir": "/l", "compression_level": 1.5}, "compression_level: invalid type: floating point `1.5`, expected i32"},
		{obj{"log_dir": "/l", "meta": "tenant"}, `meta: invalid type: string "tenant", expected a sequence`},
		{obj{"log_dir": "/l", "per_record": obj{"Receptions": obj{}}}, "per_record: unknown variant `Receptions`, expected one of `Reception`, `Delivery`"},
		{obj{"log_dir": "/l", "per_record": obj{"Bounce": obj{"enabled": true}}}, "per_record.Bounce: unknown field `enabled`, expected one of `suffix`, `log_dir`, `enable`, `template`, `segment_header`"},
		{obj{"log_dir": "/l", "per_record": obj{"Bounce": obj{"log_dir": ""}}}, "per_record.Bounce.log_dir must not be empty"},
		{obj{"log_dir": "/l", "log_directory": "/x"}, "unknown field `log_directory`, expected one of `log_dir`, `max_file_size`"},
	})
}

func TestLogHooks(t *testing.T) {
	h, err := DecodeLogHook(obj{"name": "tsa", "per_record": obj{"Reception": obj{"enable": false}}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dataJSON(h), `{"back_pressure":128000,"deferred_spool":false,"headers":[],"meta":[],"name":"tsa","per_record":{"Reception":{"enable":false,"segment_header":""}}}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := DecodeLogHook(obj{"name": "x", "back_pressure": int64(10), "meta": list{"a"}, "headers": list{"b"}, "deferred_spool": true}); err != nil {
		t.Fatal(err)
	}
	checkRejections(t, DecodeLogHook, []rejection{
		{obj{}, "missing field `name`"},
		{obj{"name": "x", "template": "t"}, "unknown field `template`, expected one of `name`, `back_pressure`, `meta`, `headers`, `per_record`, `deferred_spool`"},
		{obj{"name": "x", "back_pressure": "lots"}, `back_pressure: invalid type: string "lots", expected usize`},
		{obj{"name": int64(1)}, "name: invalid type: integer `1`, expected a string"},
	})
	d, err := DecodeLogDispositionHook(obj{"name": "disp"})
	if err != nil || d.Name != "disp" {
		t.Fatal(err, d)
	}
	checkRejections(t, DecodeLogDispositionHook, []rejection{
		{obj{"name": "x", "meta": list{}}, "unknown field `meta`, expected `name` or `per_record`"},
		{obj{"per_record": obj{}}, "missing field `name`"},
	})
}

func TestBounceClassifier(t *testing.T) {
	dir := t.TempDir()
	rules := filepath.Join(dir, "bounces.toml")
	if err := os.WriteFile(rules, []byte("[rules]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := DecodeBounceClassifier(obj{"files": list{rules}, "cache_size": int64(5)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheSize != 5 || c.UncategorizedCacheSize != 1024 || c.BackPressure != 131072 || c.PoolSize < 1 {
		t.Fatalf("%+v", c)
	}
	checkRejections(t, func(v any) (*BounceClassifier, error) { return DecodeBounceClassifier(v, nil) }, []rejection{
		{obj{}, "missing field `files`"},
		{obj{"files": list{filepath.Join(dir, "rules.yaml")}}, "rules.yaml: classifier files must have either .toml or .json filename extension"},
		{obj{"files": list{filepath.Join(dir, "missing.json")}}, "kumo.configure_bounce_classifier: stat " + filepath.Join(dir, "missing.json")},
		{obj{"files": list{rules}, "pool": int64(1)}, "unknown field `pool`, expected one of `files`, `back_pressure`, `pool_size`, `cache_size`, `uncategorized_cache_size`"},
	})
}

func TestRedisThrottles(t *testing.T) {
	r, err := DecodeRedisThrottles(obj{"node": "redis://redis/"})
	if err != nil {
		t.Fatal(err)
	}
	if r.IsCluster() || !reflect.DeepEqual(r.Nodes, []string{"redis://redis/"}) {
		t.Fatalf("%+v", r)
	}
	r, err = DecodeRedisThrottles(obj{
		"node": list{"redis://:pw@10.0.0.1:6379", "redis://10.0.0.2"}, "password": "pw", "username": "u",
		"connect_timeout": "2s", "pool_size": int64(3), "read_from_replicas": true,
		"not_a_field": true, // RedisConnKey ignores unknown keys, as KumoMTA does
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := dataJSON(r), `{"cluster":true,"connect_timeout":"2s","node":["redis://:xxxxx@10.0.0.1:6379","redis://10.0.0.2"],"password":"<redacted>","pool_size":3,"read_from_replicas":true,"username":"u"}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if got := (Record{Config: r}).Summary(); got != "redis throttles (cluster): redis://:xxxxx@10.0.0.1:6379, redis://10.0.0.2" {
		t.Errorf("summary %q", got)
	}
	if _, err := DecodeRedisThrottles(obj{"node": "redis+unix:///run/redis.sock", "cluster": false}); err != nil {
		t.Error(err)
	}
	checkRejections(t, DecodeRedisThrottles, []rejection{
		{obj{}, "missing field `node`"},
		{obj{"node": int64(1)}, "node: data did not match any variant of untagged enum NodeSpec"},
		{obj{"node": list{int64(1)}}, "node: data did not match any variant of untagged enum NodeSpec"},
		{obj{"node": list{}}, "node lists no redis URL"},
		{obj{"node": "http://redis/"}, `invalid redis URL "http://redis/": the scheme must be redis`},
		{obj{"node": "redis://"}, "missing host"},
		{obj{"node": "redis://h:70000"}, `invalid port "70000"`},
		{obj{"node": list{"unix:///s"}}, "a cluster node needs a TCP URL"},
		{obj{"node": "redis://h", "connect_timeout": "soon"}, `connect_timeout: invalid value: string "soon", expected a duration`},
		{obj{"node": "redis://h", "cluster": "yes"}, `cluster: invalid type: string "yes", expected a boolean`},
	})
}

func TestListenerDomain(t *testing.T) {
	d, err := DecodeListenerDomain(obj{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderJSON(d.Data()), `{"log_arf":"Ignore","log_oob":"Ignore","relay_from":[],"relay_to":false,"ttl":"1m"}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	d, err = DecodeListenerDomain(obj{"log_oob": true, "log_arf": "LogThenDrop", "relay_to": true, "relay_from": list{"10.0.0.0/24"}, "ttl": int64(5)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := renderJSON(d.Data()), `{"log_arf":"LogThenDrop","log_oob":"LogThenRelay","relay_from":["10.0.0.0/24"],"relay_to":true,"ttl":"5s"}`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	checkRejections(t, DecodeListenerDomain, []rejection{
		// listener_domains.lua's self-test matches this text.
		{obj{"log_arf": "yes"}, `log_arf: invalid value: string "yes", expected a boolean value or one of 'Ignore', 'LogThenDrop' or 'LogThenRelay'`},
		{obj{"log_oob": int64(1)}, "log_oob: invalid type: integer `1`, expected a boolean value or one of"},
		{obj{"relay": true}, "deserialize error: unknown field `relay`, expected one of `log_oob`, `log_arf`, `relay_to`, `relay_from`, `ttl`, while processing {\"relay\":true}"},
		{obj{"relay_from": list{"10.0.0.1/24"}}, "Did you mean 10.0.0.0/24?"},
		{obj{"ttl": "forever"}, `ttl: invalid value: string "forever", expected a duration`},
	})
}

func TestMonitorGlobs(t *testing.T) {
	g, err := DecodeMonitorGlobs(list{"/etc/**/*.lua", "rel/{a,b}.toml"})
	if err != nil || len(g.Globs) != 2 {
		t.Fatal(err, g)
	}
	checkRejections(t, DecodeMonitorGlobs, []rejection{
		{"/etc/*.lua", `invalid type: string "/etc/*.lua", expected a sequence`},
		{list{int64(1)}, "invalid type: integer `1`, expected a string"},
		{list{"/etc/{a,b"}, `invalid glob "/etc/{a,b": unclosed '{'`},
		{list{"/etc/a}"}, "unbalanced '}'"},
		{list{"/etc/[ab"}, "unclosed '['"},
		{list{""}, "empty pattern"},
	})
}

func TestEvalGlobs(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"init.lua", "a/b/shaping.toml", "a/data.json", "a/notes.txt", ".hidden/x.lua", "a/.x.lua"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "dir.lua"), 0o755) // a directory is not a file
	got, err := EvalGlobs([]string{dir + "/**/*.{lua,json,toml}", dir + "/init.lua"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dir + "/a/b/shaping.toml", dir + "/a/data.json", dir + "/init.lua"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	// Relative patterns are taken from the root.
	rel := strings.TrimPrefix(dir, "/") + "/[ij]nit.l?a"
	if got, _ := EvalGlobs([]string{rel}, nil); !reflect.DeepEqual(got, []string{dir + "/init.lua"}) {
		t.Fatalf("relative: %q", got)
	}
	if got, _ := EvalGlobs([]string{dir + "/a/.*.lua"}, nil); !reflect.DeepEqual(got, []string{dir + "/a/.x.lua"}) {
		t.Fatalf("explicit dot: %q", got)
	}
}

func TestRecorderRules(t *testing.T) {
	mustAdd := func(r *Recorder, fn string, c Config) Record {
		t.Helper()
		rec, err := r.Add(fn, c, "init.lua:1")
		if err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		return rec
	}
	esmtp := func(listen string) *EsmtpListener {
		l, err := DecodeEsmtpListener(obj{"listen": listen})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	http := func(listen string) *HTTPListener {
		l, err := DecodeHTTPListener(obj{"listen": listen})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	spool := func(name, path string) *Spool { return &Spool{Name: name, Path: path, Kind: "LocalDisk"} }

	// Validate mode: listeners and spools are skipped, so never collide.
	v := NewRecorder(true)
	if rec := mustAdd(v, "start_esmtp_listener", esmtp("0.0.0.0:25")); rec.Disposition != SkippedInValidate || rec.Seq != 1 {
		t.Fatalf("%+v", rec)
	}
	mustAdd(v, "start_esmtp_listener", esmtp("0.0.0.0:25"))
	mustAdd(v, "define_spool", spool("data", "/s"))
	if rec := mustAdd(v, "define_spool", spool("meta", "/s/")); rec.Disposition != SkippedInValidate {
		t.Fatalf("%+v", rec)
	}
	if rec := mustAdd(v, "configure_local_logs", &LocalLogs{LogDir: "/l"}); rec.Disposition != WouldCreate {
		t.Fatalf("%+v", rec)
	}
	if rec := mustAdd(v, "configure_redis_throttles", &RedisThrottles{Nodes: []string{"redis://h"}}); rec.Disposition != WouldConnect {
		t.Fatalf("%+v", rec)
	}
	if _, err := v.Add("configure_redis_throttles", &RedisThrottles{Nodes: []string{"redis://h"}}, "x:1"); err == nil || err.Error() != "redis already configured for throttles" {
		t.Fatalf("second redis: %v", err)
	}
	mustAdd(v, "configure_log_hook", &LogHook{Name: "tsa"})
	if _, err := v.Add("configure_log_disposition_hook", &LogDispositionHook{Name: "tsa"}, "x:1"); err == nil || err.Error() != "A logging hook with name `tsa` has already been registered" {
		t.Fatalf("duplicate hook: %v", err)
	}
	mustAdd(v, "configure_bounce_classifier", &BounceClassifier{})
	if _, err := v.Add("configure_bounce_classifier", &BounceClassifier{}, "x:1"); err == nil || err.Error() != "classifier already initialized" {
		t.Fatalf("second classifier: %v", err)
	}
	if got := v.MonitorGlobs(); !reflect.DeepEqual(got, DefaultMonitorGlobs) {
		t.Fatalf("default globs %q", got)
	}
	mustAdd(v, "set_config_monitor_globs", &MonitorGlobs{Globs: []string{"/p/*.lua"}})
	if got := v.MonitorGlobs(); !reflect.DeepEqual(got, []string{"/p/*.lua"}) {
		t.Fatalf("globs %q", got)
	}
	if recs := v.Records(); len(recs) != 9 || recs[8].Seq != 9 || recs[8].Disposition != Recorded {
		t.Fatalf("records %+v", recs)
	}
	if hooks := v.LogHooks(); len(hooks) != 1 || hooks[0].Name != "tsa" {
		t.Fatalf("hooks %+v", hooks)
	}

	// Outside validate mode kumod would bind and open them.
	n := NewRecorder(false)
	if rec := mustAdd(n, "start_esmtp_listener", esmtp("0.0.0.0:25")); rec.Disposition != WouldBind {
		t.Fatalf("%+v", rec)
	}
	mustAdd(n, "start_esmtp_listener", esmtp("0.0.0.0:2025"))
	mustAdd(n, "start_http_listener", http("127.0.0.1:8000"))
	mustAdd(n, "start_http_listener", http("[::1]:8001"))
	mustAdd(n, "start_esmtp_listener", esmtp("127.0.0.1:0"))
	mustAdd(n, "start_esmtp_listener", esmtp("127.0.0.1:0"))
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{esmtp("0.0.0.0:25"), "failed to bind to 0.0.0.0:25: address already in use (esmtp listener 0.0.0.0:25 already listens on 0.0.0.0:25, at init.lua:1)"},
		{esmtp("10.1.2.3:25"), "failed to bind to 10.1.2.3:25: address already in use"},
		{http("[::]:8000"), "listen on [::]:8000: address already in use (http listener 127.0.0.1:8000"},
		{http("[::1]:8001"), "listen on [::1]:8001: address already in use"},
	} {
		if _, err := n.Add("start_x", c.cfg, "x:1"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	mustAdd(n, "start_http_listener", http("127.0.0.2:8000")) // another address, same port
	mustAdd(n, "start_esmtp_listener", esmtp("[::1]:2026"))
	if rec := mustAdd(n, "define_spool", spool("data", "/s/data")); rec.Disposition != WouldOpen {
		t.Fatalf("%+v", rec)
	}
	if _, err := n.Add("define_spool", spool("meta", "/s/data/"), "init.lua:9"); err == nil || !strings.Contains(err.Error(), "Opening spool meta: unable to lock pid file /s/data/lock: spool data (defined at init.lua:1) already uses that directory") {
		t.Fatalf("shared spool dir: %v", err)
	}
}

func TestRecorderConcurrent(t *testing.T) {
	r := NewRecorder(true)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				r.Add("configure_accounting_db_path", &AccountingDB{Path: "/a"}, "x:1")
				_ = r.Records()
				_ = r.MonitorGlobs()
			}
		}(i)
	}
	wg.Wait()
	recs := r.Records()
	if len(recs) != 400 {
		t.Fatalf("%d records", len(recs))
	}
	for i, rec := range recs {
		if rec.Seq != i+1 {
			t.Fatalf("record %d has seq %d", i, rec.Seq)
		}
	}
}

func TestAccountingDB(t *testing.T) {
	if _, err := DecodeAccountingDB(""); err == nil || err.Error() != "kumo.configure_accounting_db_path: the path must not be empty" {
		t.Fatal(err)
	}
	a, err := DecodeAccountingDB("/tmp/acct.db")
	if err != nil || (Record{Config: a}).Summary() != "accounting db: /tmp/acct.db" {
		t.Fatal(err, a)
	}
}

func TestDataIsJSON(t *testing.T) {
	// Every config renders to JSON-encodable plain data.
	l, _ := DecodeLocalLogs(obj{"log_dir": "/l"})
	s, _ := DecodeSpool(obj{"name": "n", "path": "/p"})
	e, _ := DecodeEsmtpListener(obj{"meta": obj{"x": list{int64(1)}}})
	h, _ := DecodeHTTPListener(obj{})
	for _, c := range []Config{l, s, e, h, &AccountingDB{Path: "/a"}, &MonitorGlobs{Globs: []string{"x"}}} {
		if _, err := json.Marshal(c.Data()); err != nil {
			t.Errorf("%T: %v", c, err)
		}
	}
}

func TestEvalGlobsLinksAndNesting(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"real/a.lua", "real/b.toml", "top.json"} {
		p := filepath.Join(dir, f)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	// A link back up would loop a walk that followed links under **; a
	// link to a file is a file.
	os.Symlink(dir, filepath.Join(dir, "real", "loop"))
	os.Symlink(filepath.Join(dir, "top.json"), filepath.Join(dir, "real", "linked.json"))
	got, err := EvalGlobs([]string{dir + "/**/*.{lua,{json,toml}}"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{dir + "/real/a.lua", dir + "/real/b.toml", dir + "/real/linked.json", dir + "/top.json"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if _, err := EvalGlobs([]string{dir + "/{a,[b}"}, nil); err == nil || !strings.Contains(err.Error(), "unclosed '['") {
		t.Fatalf("class left open inside braces: %v", err)
	}
}

func TestEvalGlobsAndClassifierFollowMovedPaths(t *testing.T) {
	etc := t.TempDir()
	os.MkdirAll(filepath.Join(etc, "policy"), 0o755)
	os.WriteFile(filepath.Join(etc, "policy", "init.lua"), nil, 0o644)
	os.WriteFile(filepath.Join(etc, "policy", "queues.toml"), nil, 0o644)
	pm := paths.New([2]string{"/opt/kumomta/etc", etc})
	got, err := EvalGlobs([]string{"/opt/kumomta/etc/**/*.{lua,toml}"}, pm)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/opt/kumomta/etc/policy/init.lua", "/opt/kumomta/etc/policy/queues.toml"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if _, err := DecodeBounceClassifier(obj{"files": list{"/opt/kumomta/etc/policy/queues.toml"}}, pm); err != nil {
		t.Errorf("a classifier file under the moved etc: %v", err)
	}
	_, err = DecodeBounceClassifier(obj{"files": list{"/opt/kumomta/etc/iana.toml"}}, pm)
	if err == nil || !strings.Contains(err.Error(), "/opt/kumomta/etc/iana.toml (read from "+etc+"/iana.toml): no such file or directory") {
		t.Errorf("missing moved file: %v", err)
	}
}
