package tsaclient

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDecodeOptionsDefaults(t *testing.T) {
	o, err := DecodeOptions(map[string]any{"publish": []any{"http://127.0.0.1:8008"}})
	if err != nil {
		t.Fatal(err)
	}
	if !o.PreFilter || o.PublishTimeout != time.Minute || o.PublishPoolIdleTimeout != 90*time.Second || o.CacheTTL != time.Minute {
		t.Errorf("defaults: %+v", o)
	}
	want := []string{"AdminRebind", "DeferredInjectionRebind", "Delayed", "Reception", "Rejection", "XferIn", "XferOut"}
	if !reflect.DeepEqual(o.SkipLogRecordTypes, want) {
		t.Errorf("skip set %v", o.SkipLogRecordTypes)
	}
	if o.SubscribeSet || o.BackPressure != nil {
		t.Errorf("subscribe/back_pressure: %+v", o)
	}
	hooks := o.Hooks()
	if len(hooks) != 1 || hooks[0].Name != "http://127.0.0.1:8008.tsa.kumomta" || hooks[0].Constructor != "make.http://127.0.0.1:8008.tsa.kumomta" {
		t.Errorf("hooks %+v", hooks)
	}
	if o2, err := DecodeOptions(nil); err != nil || !o2.PreFilter {
		t.Errorf("nil options: %+v %v", o2, err)
	}
}

func TestDecodeOptionsValues(t *testing.T) {
	o, err := DecodeOptions(map[string]any{
		"subscribe":                        []any{},
		"skip_log_record_types":            []any{"Reception"},
		"additional_skip_log_record_types": []any{"Delivery", "Reception"},
		"pre_filter":                       false,
		"back_pressure":                    int64(10),
		"tsa_queue_config":                 map[string]any{"max_retry_interval": "5m", "max_age": "1h"},
		"publish_timeout":                  "5s",
		"cache_ttl":                        int64(2),
		"no_default_files":                 true,
		"extra_files":                      []any{"/a.toml"},
		"publish":                          []any{"https://tsa.example:8008"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(o.SkipLogRecordTypes, []string{"Delivery", "Reception"}) {
		t.Errorf("skip set %v", o.SkipLogRecordTypes)
	}
	if o.PreFilter || *o.BackPressure != 10 || o.PublishTimeout != 5*time.Second || o.CacheTTL != 2*time.Second || !o.SubscribeSet {
		t.Errorf("values %+v", o)
	}
	if got := o.ShapingFiles("/default.toml"); !reflect.DeepEqual(got, []string{"/a.toml"}) {
		t.Errorf("files %v", got)
	}
	p, ok := o.QueueConfigParams("https://tsa.example:8008.tsa.kumomta")
	if !ok || p["retry_interval"] != "1m" || p["max_retry_interval"] != "5m" || p["max_age"] != "1h" {
		t.Errorf("queue params %v", p)
	}
	if c := p["protocol"].(map[string]any)["custom_lua"].(map[string]any)["constructor"]; c != "make.https://tsa.example:8008.tsa.kumomta" {
		t.Errorf("constructor %v", c)
	}
	if _, ok := o.QueueConfigParams("other"); ok {
		t.Error("params for a queue that is not a hook")
	}
	// An empty replacement set skips nothing.
	o, err = DecodeOptions(map[string]any{"skip_log_record_types": []any{}})
	if err != nil || len(o.SkipLogRecordTypes) != 0 {
		t.Errorf("empty skip set: %v %v", o.SkipLogRecordTypes, err)
	}
}

func TestDecodeOptionsErrors(t *testing.T) {
	for _, c := range []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"publsh": []any{}}, "unknown field `publsh`, did you mean `publish`?"},
		{map[string]any{"publish": []any{"http://a:1", "tsa:8008"}}, "publish[2]: invalid value: string \"tsa:8008\", expected an http:// or https:// URL"},
		{map[string]any{"subscribe": "http://a:1"}, "subscribe: invalid type"},
		{map[string]any{"skip_log_record_types": []any{"Bogus"}}, "skip_log_record_types[1]: unknown variant `Bogus`"},
		{map[string]any{"additional_skip_log_record_types": []any{"Delivery", 5}}, "additional_skip_log_record_types[2]: invalid type: integer `5`"},
		{map[string]any{"pre_filter": "yes"}, "pre_filter: invalid type"},
		{map[string]any{"back_pressure": -1.5}, "back_pressure: invalid type"},
		{map[string]any{"publish_timeout": "soon"}, "publish_timeout:"},
		{map[string]any{"tsa_queue_config": "x"}, "tsa_queue_config: invalid type"},
	} {
		_, err := DecodeOptions(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.in, err, c.want)
		}
	}
}
