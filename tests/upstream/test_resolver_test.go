package upstream

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// testResolverPolicies are the integration-test policies that configure
// their DNS with kumo.dns.configure_test_resolver; pass says whether the
// whole policy validates (the others stop later, at a function outside
// kumo.dns).
var testResolverPolicies = []struct {
	file string
	pass bool
}{
	{"crates/integration-tests/spf-basic.lua", true},
	{"crates/integration-tests/source-idna.lua", true},
	{"crates/integration-tests/ha-proxy-source-hostname.lua", true},
	{"crates/integration-tests/ha-proxy-source-hostname-failover.lua", true},
	{"crates/integration-tests/ha-proxy-source-hostname-all-fail.lua", true},
	{"crates/integration-tests/ha-proxy-source-hostname-family-mismatch.lua", true},
	{"crates/integration-tests/retry-schedule-source.lua", true},
	{"crates/integration-tests/socks5_source_with_proxy_hostname.lua", true},
	{"crates/integration-tests/mta-sts.lua", false},
	{"crates/integration-tests/source-dane.lua", false},
}

// The integration policies' kumo.dns.configure_test_resolver calls are
// accepted by validate, with the environment KumoMTA's integration tests
// give them.
func TestIntegrationPoliciesConfigureTestResolver(t *testing.T) {
	sharedref.Corpus(t)
	bin := binary(t)
	ns := dnstest.New(t).Addr
	for _, p := range testResolverPolicies {
		t.Run(filepath.Base(p.file), func(t *testing.T) {
			file := sharedref.CorpusFile(t, p.file)
			cmd := exec.Command(bin, "validate", "--resolver", ns, "--policy", filepath.Base(file))
			cmd.Dir = filepath.Dir(file)
			cmd.Env = append(os.Environ(),
				"KUMOD_TEST_DIR="+t.TempDir(),
				"KUMOD_SMTP_SINK_PORT=2525",
				"KUMO_PROXY_SERVER_ADDRESS=127.0.0.1:1080",
			)
			out, err := cmd.CombinedOutput()
			if strings.Contains(string(out), "configure_test_resolver") {
				t.Fatalf("configure_test_resolver failed: %v\n%s", err, out)
			}
			if p.pass && err != nil {
				t.Fatalf("validate failed: %v\n%s", err, out)
			}
		})
	}
}
