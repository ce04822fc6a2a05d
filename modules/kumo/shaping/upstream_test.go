package shaping_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// upstreamFile returns the path of a KumoMTA data file in ../shared,
// skipping the test when the shared reference material is absent.
func upstreamFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "..", "shared", "upstream-data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("upstream fixture %s not available: %v", name, err)
	}
	return p
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
		if len(s.Hash()) != 64 {
			t.Fatal("no hash")
		}
	}
}
