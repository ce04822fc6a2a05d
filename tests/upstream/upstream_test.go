package upstream

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// summary collects the corpus files that ran, for the CI report.
var summary struct {
	sync.Mutex
	results map[string]bool // corpus-relative path (and how it ran) -> passed
}

// ran records that a corpus file ran in t, and whether t passed, when t
// ends.
func ran(t *testing.T, what string) {
	t.Cleanup(func() {
		summary.Lock()
		defer summary.Unlock()
		if summary.results == nil {
			summary.results = map[string]bool{}
		}
		summary.results[what] = !t.Failed() && !t.Skipped()
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	if path := os.Getenv("KUMOPOLICY_UPSTREAM_SUMMARY"); path != "" {
		if err := writeSummary(path); err != nil {
			fmt.Fprintln(os.Stderr, "writing the upstream summary:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func writeSummary(path string) error {
	summary.Lock()
	defer summary.Unlock()
	names := make([]string, 0, len(summary.results))
	passed := 0
	for n, ok := range summary.results {
		names = append(names, n)
		if ok {
			passed++
		}
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "KumoMTA corpus files run unmodified: %d ran, %d passed, %d failed\n", len(names), passed, len(names)-passed)
	for _, n := range names {
		status := "pass"
		if !summary.results[n] {
			status = "FAIL"
		}
		fmt.Fprintf(&b, "  %s  %s\n", status, n)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// binary compiles cmd/kumopolicy once for the package's tests.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kumopolicy-upstream-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "kumopolicy")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/kumopolicy")
		cmd.Dir = sharedref.RepoRoot(t)
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// selfTestWrapper is what KumoMTA's own Lua test harness does for a helper:
// put the corpus's assets/ first on package.path, require the module and
// call its test(). It also checks that the module came from the corpus and
// not from kumopolicy's embedded helpers.
const selfTestWrapper = `
local corpus = os.getenv('KUMOPOLICY_CORPUS')
package.path = corpus .. '/assets/?.lua;' .. package.path
local kumo = require 'kumo'
kumo.on('main', function(name)
  local mod = require('policy-extras.' .. name)
  local info = debug.getinfo(mod.test, 'S')
  assert(info.source:find(corpus, 1, true), 'loaded ' .. info.source)
  mod:test()
end)
`

// selfTests are the policy-extras helpers whose self-tests must pass.
var selfTests = []string{"policy_utils", "typing", "sources", "listener_domains"}

func TestPolicyExtrasSelfTests(t *testing.T) {
	corpus := sharedref.Corpus(t)
	bin := binary(t)
	script := filepath.Join(t.TempDir(), "selftest.lua")
	if err := os.WriteFile(script, []byte(selfTestWrapper), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, mod := range selfTests {
		t.Run(mod, func(t *testing.T) {
			ran(t, "assets/policy-extras/"+mod+".lua (self-test)")
			cmd := exec.Command(bin, "script", "--timeout", "60s", script, mod)
			cmd.Env = append(os.Environ(), "KUMOPOLICY_CORPUS="+corpus)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s:test() failed: %v\n%s", mod, err, out)
			}
			if s := strings.TrimSpace(string(out)); s != "" {
				t.Logf("output:\n%s", s)
			}
		})
	}
}

// moduleTests are KumoMTA's per-module Lua tests that must pass, run as
// kumod --script runs them: the file's top level is the test.
var moduleTests = []string{
	"crates/mod-memoize/test.lua",
	"crates/mod-digest/test.lua",
	"crates/mod-encode/test_charset.lua",
	"crates/mod-crypto/test.lua",
	"crates/mod-time/test.lua",
	"crates/mod-string/test_wrap.lua",
	"crates/mod-string/test_ends_with.lua",
	"crates/mod-string/test-template.lua",
	"crates/kumo-template/test-jinja.lua",
	"crates/mod-counter-series/test.lua",
	"crates/mod-mpsc/test.lua",
	"crates/data-loader/test.lua",
	"crates/data-loader/test-event.lua",
	"crates/mod-filesystem/test.lua",
	"crates/mod-dns-resolver/test-define-resolver.lua",
	"crates/mod-dns-resolver/test-dns-ptr.lua",
	"crates/mod-dns-resolver/test-rbl.lua",
	"crates/mod-dns-resolver/test-strategy.lua",
	"crates/mod-dns-resolver/test-resolver-setup.lua",
	"crates/kumo-server-common/test_get_memory_limit.lua",
	"crates/mod-dns-resolver/test-load-resolv-conf.lua",
}

// moduleTestWorkdirs are the module tests that KumoMTA runs from its
// repository root and that read a data file by a path relative to it,
// which the pinned corpus (Lua files only) does not hold. They run from
// testdata/workdir, where kumopolicy's own data file sits at that path;
// the test's Lua is still the corpus's, unmodified.
var moduleTestWorkdirs = map[string]bool{
	"crates/mod-dns-resolver/test-load-resolv-conf.lua": true,
}

func TestModuleLuaTests(t *testing.T) {
	sharedref.Corpus(t)
	bin := binary(t)
	// The default resolver is a loopback test server, never the machine's:
	// names the tests do not define themselves are NXDOMAIN.
	ns := dnstest.New(t).Addr
	for _, rel := range moduleTests {
		t.Run(rel, func(t *testing.T) {
			ran(t, rel)
			file := sharedref.CorpusFile(t, rel)
			cmd := exec.Command(bin, "script", "--resolver", ns, "--timeout", "60s", filepath.Base(file))
			cmd.Dir = filepath.Dir(file)
			if moduleTestWorkdirs[rel] {
				cmd.Args[len(cmd.Args)-1] = file
				cmd.Dir = filepath.Join("testdata", "workdir")
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s failed: %v\n%s", rel, err, out)
			}
			if s := strings.TrimSpace(string(out)); s != "" {
				t.Logf("output:\n%s", s)
			}
		})
	}
}
