package shaping_test

import (
	"context"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// upstreamFile returns the path of a KumoMTA data file in
// ../shared/upstream-data (a skip on a clone without it, a failure in CI).
func upstreamFile(t testing.TB, name string) string {
	t.Helper()
	return sharedref.UpstreamData(t, name)
}

// TestUpstreamShapingFilesLoad loads KumoMTA's bundled shaping.toml and the
// community file with every block validated as a full egress path config.
// MX lookups go to a loopback server that knows none of the domains, so
// they fail (dns_fail is Ignore by default) and nothing reaches the
// machine's resolver.
func TestUpstreamShapingFilesLoad(t *testing.T) {
	files := []string{upstreamFile(t, "policy-extras-shaping.toml"), upstreamFile(t, "community-shaping.toml")}
	srv := dnstest.New(t)
	env := shaping.DefaultEnv(kumo.ShapingDNS(srv.Resolver()))
	for _, set := range [][]string{files[:1], files[1:], files} {
		s, err := shaping.Load(context.Background(), set, shaping.DefaultOptions(), env)
		if err != nil {
			t.Fatalf("%v: %v", set, err)
		}
		if errs := s.Errors(); len(errs) != 0 {
			t.Fatalf("%v: errors %v", set, errs)
		}
	}
}

// Finish validation (section 3.4): provider source tables may carry
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
