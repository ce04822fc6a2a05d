package shaping

import (
	"testing"
	"time"
)

func TestDecodeOptions(t *testing.T) {
	valid := []struct {
		name string
		in   any
		want Options
	}{
		{"nil is the defaults", nil, DefaultOptions()},
		{"empty table", map[string]any{}, DefaultOptions()},
		{"empty sequence", []any{}, DefaultOptions()},
		{"every option", map[string]any{
			"provider_overlap": "Warn", "dns_fail": "Error", "null_mx": "Warn", "aliased_site": "Error",
			"skip_remote": true, "remote_load": "Warn", "local_load": "Ignore", "http_timeout": "30s",
		}, Options{ProviderOverlap: Warn, DNSFail: Error, NullMX: Warn, AliasedSite: Error, SkipRemote: true,
			RemoteLoad: Warn, LocalLoad: Ignore, HTTPTimeout: 30 * time.Second}},
		{"numeric timeout", map[string]any{"http_timeout": 2.5}, Options{LocalLoad: Error, HTTPTimeout: 2500 * time.Millisecond}},
	}
	for _, c := range valid {
		got, err := DecodeOptions(c.in)
		if err != nil || got != c.want {
			t.Errorf("%s: got %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}

	invalid := []struct {
		name string
		in   any
		want string
	}{
		{"not a table", "Warn", `invalid type: string "Warn", expected a table of parameters`},
		{"unknown", map[string]any{"bogus": true}, "unknown field `bogus`, expected one of `provider_overlap`, `dns_fail`, " +
			"`null_mx`, `aliased_site`, `skip_remote`, `remote_load`, `local_load`, `http_timeout`"},
		{"level case", map[string]any{"provider_overlap": "warn"}, "provider_overlap: unknown variant `warn`, expected one of `Ignore`, `Warn`, `Error`"},
		{"empty level", map[string]any{"local_load": ""}, "local_load: unknown variant ``, expected one of `Ignore`, `Warn`, `Error`"},
		{"level type", map[string]any{"dns_fail": true}, "dns_fail: invalid type: boolean `true`, expected enum CheckLevel"},
		{"skip_remote type", map[string]any{"skip_remote": "yes"}, `skip_remote: invalid type: string "yes", expected a boolean`},
		{"bad timeout", map[string]any{"http_timeout": "soon"}, `http_timeout: invalid value: string "soon", expected a duration`},
		{"timeout type", map[string]any{"http_timeout": false}, "http_timeout: invalid type: boolean `false`, expected a duration"},
	}
	for _, c := range invalid {
		_, err := DecodeOptions(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
