package shaping

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// loadNamed loads the files (name, body pairs, in order) from a temporary
// directory and returns the data and the directory.
func loadNamed(t *testing.T, env Env, files ...string) (*Shaping, string, error) {
	t.Helper()
	m := map[string]string{}
	var paths []string
	for i := 0; i < len(files); i += 2 {
		m[files[i]] = files[i+1]
	}
	dir := writeFiles(t, m)
	for i := 0; i < len(files); i += 2 {
		paths = append(paths, filepath.Join(dir, files[i]))
	}
	s, err := Load(context.Background(), paths, DefaultOptions(), env)
	return s, dir, err
}

// who renders a setting with file base names: "b.toml [default] over
// "10s"@a.toml [default]".
func who(s Setting) string {
	out := filepath.Base(s.Origin.File) + " [" + s.Origin.Key + "]"
	for _, o := range s.Overrode {
		out += fmt.Sprintf(" over %v@%s [%s]", o.Value, filepath.Base(o.Origin.File), o.Origin.Key)
	}
	for _, d := range s.Discarded {
		out += " discarding " + filepath.Base(d.File) + " [" + d.Key + "]"
	}
	return out
}

// lastSetter returns the kind of the last layer that set key (honouring
// replace_base resets) and who set it there; entry selects an entry of an
// additional_* table.
func lastSetter(layers []Layer, key, entry string) (string, string) {
	kind, by := "", ""
	for _, l := range layers {
		if l.Reset {
			kind, by = "", ""
		}
		v, ok := l.Params.Get(key)
		if !ok {
			continue
		}
		if entry == "" {
			kind, by = l.Kind, who(l.Setting(key))
			continue
		}
		if t, ok := v.(*plain.Map); ok {
			if _, ok := t.Get(entry); ok {
				kind, by = l.Kind, who(l.EntrySetting(key, entry))
			}
		}
	}
	return kind, by
}

func resolveTrace(t *testing.T, s *Shaping, q Query) (*plain.Map, []Layer) {
	t.Helper()
	var layers []Layer
	got := s.Resolve(context.Background(), q, testDNS, &layers)
	return got, layers
}

type attribution struct{ key, entry, kind, by string }

func checkAttribution(t *testing.T, layers []Layer, want []attribution) {
	t.Helper()
	for _, w := range want {
		kind, by := lastSetter(layers, w.key, w.entry)
		if kind != w.kind || by != w.by {
			t.Errorf("%s %s: set by %s %q, want %s %q", w.key, w.entry, kind, by, w.kind, w.by)
		}
	}
}

func TestProvenanceDefaultAcrossFiles(t *testing.T) {
	s, _, err := loadNamed(t, testEnv(),
		"a.toml", "[default]\nconnect_timeout = \"10s\"\n",
		"b.toml", "[default]\nidle_timeout = \"20s\"\nconnect_timeout = \"30s\"\n",
		"c.toml", "[default]\nconnect_timeout = \"40s\"\n[default.sources.\"s1\"]\nidle_timeout = \"1s\"\n")
	if err != nil {
		t.Fatal(err)
	}
	_, layers := resolveTrace(t, s, Query{"x.example", "s1", "x.example"})
	checkAttribution(t, layers, []attribution{
		{"connect_timeout", "", "default", "c.toml [default] over 10s@a.toml [default] over 30s@b.toml [default]"},
		{"idle_timeout", "", "default", "b.toml [default]"},
	})
	// The default block's sources never reach a query, but their
	// provenance is kept like any other block's.
	def, _ := s.byDomain.get("default")
	if got := who(settingOf(def.Origin, &def.prov, sourcePath("s1")+"idle_timeout")); got != "c.toml [default]" {
		t.Errorf("default source: %s", got)
	}
}

func TestProvenanceDomainAndSources(t *testing.T) {
	s, _, err := loadNamed(t, testEnv(),
		"a.toml", `
["ex.com"]
mx_rollup = false
connection_limit = 4
max_message_rate = "1/s"
["ex.com".sources."s1"]
connection_limit = 2
idle_timeout = "3s"
`,
		"b.toml", `
["ex.com"]
mx_rollup = false
max_message_rate = "2/s"
["ex.com".sources."s1"]
connection_limit = 5
["ex.com".sources."s2"]
connection_limit = 6
`)
	if err != nil {
		t.Fatal(err)
	}
	_, layers := resolveTrace(t, s, Query{"ex.com", "s1", "ex.com"})
	checkAttribution(t, layers, []attribution{
		{"max_message_rate", "", "domain", `b.toml ["ex.com"] over 1/s@a.toml ["ex.com"]`},
		{"connection_limit", "", "domain-source", `b.toml ["ex.com"] over 2@a.toml ["ex.com"]`},
		{"idle_timeout", "", "domain-source", `a.toml ["ex.com"]`},
	})
	_, layers = resolveTrace(t, s, Query{"ex.com", "s2", "ex.com"})
	checkAttribution(t, layers, []attribution{
		{"connection_limit", "", "domain-source", `b.toml ["ex.com"]`},
	})
}

func TestProvenanceSiteBlocksAcrossFiles(t *testing.T) {
	// gmail.com and googlemail.com roll up into one site.
	s, _, err := loadNamed(t, testEnv(),
		"a.toml", "[\"gmail.com\"]\nconnection_limit = 3\nidle_timeout = \"1s\"\n",
		"b.toml", "[\"googlemail.com\"]\nconnection_limit = 4\n[\"googlemail.com\".sources.\"s1\"]\nidle_timeout = \"2s\"\n")
	if err != nil {
		t.Fatal(err)
	}
	_, layers := resolveTrace(t, s, Query{"gmail.com", "s1", "(alt1)?.gmail-smtp-in.l.google.com"})
	checkAttribution(t, layers, []attribution{
		{"connection_limit", "", "site", `b.toml ["googlemail.com"] over 3@a.toml ["gmail.com"]`},
		{"idle_timeout", "", "site-source", `b.toml ["googlemail.com"]`},
	})
}

func TestProvenanceAdditionalMapsEntryWise(t *testing.T) {
	s, _, err := loadNamed(t, testEnv(),
		"a.toml", "[default]\nadditional_connection_limits = { x = 1, y = 2 }\n",
		"b.toml", "[default]\nadditional_connection_limits = { y = 3, z = 4 }\n",
		"c.toml", `
["ex.com"]
mx_rollup = false
additional_connection_limits = { x = 9 }
["ex.com".sources."s1"]
additional_connection_limits = { z = 5 }
`,
		"d.toml", `
["ex.com"]
mx_rollup = false
["ex.com".sources."s1"]
additional_connection_limits = { z = 6, w = 7 }
`)
	if err != nil {
		t.Fatal(err)
	}
	got, layers := resolveTrace(t, s, Query{"ex.com", "s1", "ex.com"})
	acl, _ := got.Get("additional_connection_limits")
	if want := map[string]any{"x": int64(9), "y": int64(3), "z": int64(6), "w": int64(7)}; !reflect.DeepEqual(acl.(*plain.Map).Plain(true), want) {
		t.Fatalf("merged %v", acl.(*plain.Map).Plain(true))
	}
	checkAttribution(t, layers, []attribution{
		{"additional_connection_limits", "x", "domain", `c.toml ["ex.com"]`},
		{"additional_connection_limits", "y", "default", "b.toml [default] over 2@a.toml [default]"},
		{"additional_connection_limits", "z", "domain-source", `d.toml ["ex.com"] over 5@c.toml ["ex.com"]`},
		{"additional_connection_limits", "w", "domain-source", `d.toml ["ex.com"]`},
	})
	// The lower layers still say who set their own entries.
	for _, l := range layers {
		if l.Kind == "default" {
			if got := who(l.EntrySetting("additional_connection_limits", "x")); got != "a.toml [default]" {
				t.Errorf("default x: %s", got)
			}
		}
	}
}

func TestProvenanceProviders(t *testing.T) {
	s, _, err := loadNamed(t, testEnv(),
		"a.toml", `
[provider."big"]
match = [{DomainSuffix = "ex.com"}]
provider_connection_limit = 5
provider_max_message_rate = "10/s"
enable_tls = "Required"
[provider."big".sources."s1"]
provider_source_selection_rate = "5/h"
idle_timeout = "1s"
`,
		"b.toml", `
[provider."big"]
provider_connection_limit = 7
provider_max_message_rate = "99/s"
enable_tls = "Disabled"
[provider."big".sources."s1"]
connection_limit = 6
`)
	if err != nil {
		t.Fatal(err)
	}
	_, layers := resolveTrace(t, s, Query{"ex.com", "s1", "ex.com"})
	checkAttribution(t, layers, []attribution{
		{"enable_tls", "", "provider", "b.toml [provider.big] over Required@a.toml [provider.big]"},
		{"idle_timeout", "", "provider-source", "a.toml [provider.big]"},
		{"connection_limit", "", "provider-source", "b.toml [provider.big]"},
		{"provider_name", "", "provider-implied", "a.toml [provider.big]"},
		{"additional_connection_limits", "shaping-provider-big-s1-limit", "provider-implied", "b.toml [provider.big] over 5@a.toml [provider.big]"},
		// the first provider_max_message_rate wins
		{"additional_message_rate_throttles", "shaping-provider-big-s1-rate", "provider-implied", "a.toml [provider.big]"},
		{"additional_source_selection_rates", "shaping-provider-big-s1-selection-rate", "provider-implied", "a.toml [provider.big]"},
	})
}

func TestProvenanceReplaceBase(t *testing.T) {
	s, _, err := loadNamed(t, testEnv(),
		"a.toml", `
["ex.com"]
mx_rollup = false
connect_timeout = "10s"
idle_timeout = "5s"
[provider."big"]
match = [{DomainSuffix = "ex.com"}]
provider_max_message_rate = "10/s"
provider_connection_limit = 5
`,
		"b.toml", `
["ex.com"]
mx_rollup = false
replace_base = true
connect_timeout = "30s"
[provider."big"]
replace_base = true
match = [{DomainSuffix = "ex.com"}]
provider_connection_limit = 7
`,
		"c.toml", `
["ex.com"]
mx_rollup = false
connect_timeout = "40s"
max_message_rate = "1/s"
`)
	if err != nil {
		t.Fatal(err)
	}
	got, layers := resolveTrace(t, s, Query{"ex.com", "s1", "ex.com"})
	if _, ok := got.Get("idle_timeout"); ok {
		t.Fatalf("replace_base kept a discarded value: %v", got.Plain(true))
	}
	// What a.toml set was discarded, not overridden: only values set after
	// the replacement are listed as overridden.
	checkAttribution(t, layers, []attribution{
		{"connect_timeout", "", "domain", `c.toml ["ex.com"] over 30s@b.toml ["ex.com"] discarding a.toml ["ex.com"]`},
		{"max_message_rate", "", "domain", `c.toml ["ex.com"] discarding a.toml ["ex.com"]`},
		{"idle_timeout", "", "", ""},
		{"additional_connection_limits", "shaping-provider-big-s1-limit", "provider-implied", "b.toml [provider.big] discarding a.toml [provider.big]"},
		// provider_max_message_rate survives replace_base (KumoMTA keeps the
		// first one), so it is still a.toml's and nothing was discarded.
		{"additional_message_rate_throttles", "shaping-provider-big-s1-rate", "provider-implied", "a.toml [provider.big]"},
	})
}

func TestLoadBlamesTheFileWithTheBadOption(t *testing.T) {
	env := testEnv()
	env.ValidateParams = validateEgressParams
	cases := []struct {
		name      string
		files     []string
		file, blk string
		msg       string
	}{
		{"default", []string{
			"a.toml", "[default]\nconnect_timeout = \"10s\"\n",
			"b.toml", "[default]\nidle_timeout = \"20s\"\n",
			"c.toml", "[default]\nconection_limit = 3\n",
		}, "c.toml", "default", "unknown field `conection_limit`"},
		{"domain source", []string{
			"a.toml", "[\"ex.com\"]\nmx_rollup = false\n[\"ex.com\".sources.\"s1\"]\nconnection_limit = 2\n",
			"b.toml", "[\"ex.com\"]\nmx_rollup = false\n[\"ex.com\".sources.\"s1\"]\nidle_timeout = \"soon\"\n",
			"c.toml", "[\"ex.com\"]\nmx_rollup = false\nconnection_limit = 3\n",
		}, "b.toml", `"ex.com"`, "source 's1'"},
		{"additional entry", []string{
			"a.toml", "[default]\nadditional_connection_limits = { x = \"nope\" }\n",
			"b.toml", "[default]\nadditional_connection_limits = { y = 2 }\n",
		}, "a.toml", "default", "additional_connection_limits"},
		{"provider", []string{
			"a.toml", "[provider.\"p\"]\nmatch = [{DomainSuffix = \"x\"}]\nenable_tls = \"Required\"\n",
			"b.toml", "[provider.\"p\"]\nenable_tls = \"Sometimes\"\n",
		}, "b.toml", "provider.p", "Sometimes"},
		{"unknown fields everywhere: the one reported", []string{
			"a.toml", "[default]\nzzz = 1\n",
			"b.toml", "[default]\naaa = 1\n",
		}, "b.toml", "default", "unknown field `aaa`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, dir, err := loadNamed(t, env, c.files...)
			var he *HardError
			if !errors.As(err, &he) {
				t.Fatalf("got %v, want a HardError", err)
			}
			file := filepath.Join(dir, c.file)
			if he.Path != file || !strings.Contains(err.Error(), c.msg) || !strings.HasSuffix(err.Error(), " (defined in "+file+" ["+c.blk+"])") {
				t.Fatalf("got %q (path %s), want %q blamed on %s [%s] only", err, he.Path, c.msg, c.file, c.blk)
			}
		})
	}
}

func TestLintBlamesTheFileOfTheMatchEntry(t *testing.T) {
	s, dir, err := loadNamed(t, testEnv(),
		"a.toml", "[provider.\"p\"]\nmatch = [{MXSuffix = \".good.example\"}]\n",
		"b.toml", "[provider.\"p\"]\nmatch = [{MXSuffix = \".bad.example.\"}]\n")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range s.Lint() {
		got = append(got, filepath.Base(d.File)+" ["+d.Block+"]: "+d.Message)
	}
	if len(got) != 1 || !strings.HasPrefix(got[0], "b.toml [provider.p]: provider 'p' match MXSuffix = \".bad.example.\"") {
		t.Fatalf("lint %q (dir %s)", got, dir)
	}
}

func TestProvenanceKeepsTheLastFewOverrides(t *testing.T) {
	var files []string
	n := maxKeptOverrides + 4
	for i := 0; i < n; i++ {
		files = append(files, fmt.Sprintf("f%02d.toml", i), fmt.Sprintf("[default]\nconnection_limit = %d\n", i))
	}
	s, _, err := loadNamed(t, testEnv(), files...)
	if err != nil {
		t.Fatal(err)
	}
	_, layers := resolveTrace(t, s, Query{"x.example", "s1", "x.example"})
	set := layers[0].Setting("connection_limit")
	if filepath.Base(set.Origin.File) != fmt.Sprintf("f%02d.toml", n-1) || len(set.Overrode) != maxKeptOverrides || set.Omitted != n-1-maxKeptOverrides {
		t.Fatalf("setting %s, %d overrides kept, %d omitted", who(set), len(set.Overrode), set.Omitted)
	}
	for i, o := range set.Overrode {
		want := int64(n - 1 - maxKeptOverrides + i)
		if o.Value != want || filepath.Base(o.Origin.File) != fmt.Sprintf("f%02d.toml", want) {
			t.Errorf("override %d: %v from %s, want %d", i, o.Value, o.Origin, want)
		}
	}
}
