package shaping_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// upstreamFile returns the path of a KumoMTA data file in
// ../shared/upstream-data (a skip on a clone without it, a failure in CI).
func upstreamFile(t testing.TB, name string) string {
	t.Helper()
	return sharedref.UpstreamData(t, name)
}

// rollupBlock is an mx_rollup domain block of a shaping file.
type rollupBlock struct {
	domain string
	params map[string]any // its egress path parameters, as written
}

// rollupBlocks parses a TOML shaping file and returns its mx_rollup=true
// domain blocks (mx_rollup defaults to true), in file order.
func rollupBlocks(t *testing.T, path string) []rollupBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := shaping.ParseTOML(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []rollupBlock
	for _, key := range doc.Keys() {
		if key == "default" || key == "provider" {
			continue
		}
		v, _ := doc.Get(key)
		blk, ok := v.(*plain.Map)
		if !ok {
			t.Fatalf("%s: block %q is a %T, not a table", path, key, v)
		}
		if r, ok := blk.Get("mx_rollup"); ok && r == false {
			continue
		}
		params := blk.Plain(true)
		for _, special := range []string{"mx_rollup", "replace_base", "automation", "sources"} {
			delete(params, special)
		}
		out = append(out, rollupBlock{key, params})
	}
	return out
}

// TestUpstreamShapingFilesLoad loads KumoMTA's bundled shaping.toml and the
// community file with every block validated as a full egress path config.
// The loopback DNS server gives each mx_rollup domain block an MX of its
// own, so those blocks are stored under their site and validated too
// instead of being dropped (a failed lookup is made an error here); nothing
// reaches the machine's resolver.
func TestUpstreamShapingFilesLoad(t *testing.T) {
	files := []string{upstreamFile(t, "policy-extras-shaping.toml"), upstreamFile(t, "community-shaping.toml")}
	srv := dnstest.New(t)
	blocks := map[string][]rollupBlock{}
	for _, f := range files {
		blocks[f] = rollupBlocks(t, f)
		if len(blocks[f]) == 0 {
			t.Fatalf("%s has no mx_rollup domain block: nothing to check", f)
		}
		for _, b := range blocks[f] {
			srv.AddMX(b.domain, 10, "mx."+b.domain, 300)
		}
	}
	dnsEnv := kumo.ShapingDNS(srv.Resolver())
	env := shaping.DefaultEnv(dnsEnv)
	opts := shaping.DefaultOptions()
	opts.DNSFail, opts.NullMX = shaping.Error, shaping.Error
	for _, set := range [][]string{files[:1], files[1:], files} {
		s, err := shaping.Load(context.Background(), set, opts, env)
		if err != nil {
			t.Fatalf("%v: %v", set, err)
		}
		if errs := s.Errors(); len(errs) != 0 {
			t.Fatalf("%v: errors %v", set, errs)
		}
		for _, f := range set {
			for _, b := range blocks[f] {
				site, ok := s.SiteOf(b.domain)
				if !ok {
					t.Errorf("%v: the block of %s was dropped", set, b.domain)
					continue
				}
				if len(set) > 1 {
					continue // a domain in several files has merged values
				}
				got := s.Resolve(context.Background(), shaping.Query{Domain: b.domain, Site: site}, dnsEnv, nil).Plain(true)
				for k, want := range b.params {
					if !reflect.DeepEqual(got[k], want) {
						t.Errorf("%s: %s = %#v, want its block's %#v", b.domain, k, got[k], want)
					}
				}
			}
		}
	}

	// And so an invalid option in any of those blocks fails the load.
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks[f] {
			q := regexp.QuoteMeta(b.domain)
			header := regexp.MustCompile(`(?m)^\[\s*(?:"` + q + `"|'` + q + `'|` + q + `)\s*\]\s*$`)
			loc := header.FindIndex(data)
			if loc == nil {
				t.Errorf("%s: no [%q] header to add an option under", f, b.domain)
				continue
			}
			bad := append(append(append([]byte(nil), data[:loc[1]]...), "\nno_such_option = 1"...), data[loc[1]:]...)
			p := filepath.Join(t.TempDir(), filepath.Base(f))
			if err := os.WriteFile(p, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := shaping.Load(context.Background(), []string{p}, opts, env)
			if err == nil || !strings.Contains(err.Error(), "domain '"+b.domain+"'") || !strings.Contains(err.Error(), "no_such_option") {
				t.Errorf("%s with an unknown option in [%q]: got %v", filepath.Base(f), b.domain, err)
			}
		}
	}
}

// Finish validation: provider source tables may carry
// provider_source_selection_rate, which is stripped before they are parsed
// as egress path configs; elsewhere it is an unknown field, and every
// block and source is checked on its own.
func TestFinishValidatesEveryBlockAndSource(t *testing.T) {
	srv := dnstest.New(t)
	env := shaping.DefaultEnv(kumo.ShapingDNS(srv.Resolver()))
	cases := map[string]string{
		"[provider.p.sources.\"s\"]\nprovider_source_selection_rate = \"1/s\"\n":                                                    "",
		"[\"a.example\"]\nmx_rollup = false\nprovider_source_selection_rate = \"1/s\"\n":                                            "domain: a.example: interpreting domain 'a.example' params as EgressPathConfig: unknown field `provider_source_selection_rate`",
		"[\"a.example\"]\nmx_rollup = false\n[\"a.example\".sources.\"s\"]\nidle_timeout = \"forever\"\n":                           "domain: a.example: interpreting domain 'a.example' source 's' as EgressPathConfig: idle_timeout",
		"[provider.p]\nmatch = [{DomainSuffix = \".x\"}]\nenable_tls = \"Sometimes\"\n":                                             "provider: p: interpreting provider 'p' params as EgressPathConfig: enable_tls: unknown variant `Sometimes`",
		"[provider.p.sources.\"s\"]\nprovider_source_selection_rate = \"1/s\"\nmax_ready = -1\n":                                    "provider: p: interpreting provider 'p' source 's' as EgressPathConfig: max_ready",
		"[[default.automation]]\nregex = \"x\"\naction = {SetConfig = {name = \"no_such_option\", value = 1}}\nduration = \"1h\"\n": "unknown field `no_such_option`",
		"[provider.p]\nprovider_max_message_rate = \"10/minutes\"\n":                                                                "provider_max_message_rate: unknown period quantity minutes",
	}
	for body, want := range cases {
		p := filepath.Join(t.TempDir(), "f.toml")
		os.WriteFile(p, []byte(body), 0o644)
		_, err := shaping.Load(context.Background(), []string{p}, shaping.DefaultOptions(), env)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: unexpected error %v", body, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: got %v, want %q", body, err, want)
		}
	}
}
