package sharedref

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// InCI reports whether the tests run in CI, where missing reference
// material is a failure.
func InCI() bool { return os.Getenv("CI") == "true" }

// unavailable skips the test, or fails it in CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if InCI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

var (
	rootOnce sync.Once
	repoRoot string
)

// RepoRoot returns the kumopolicy checkout's root: the nearest directory
// above the working directory that holds go.mod. Go runs a package's tests
// in the package's directory, so this works from any package.
func RepoRoot(t testing.TB) string {
	t.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				repoRoot = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if repoRoot == "" {
		t.Fatal("sharedref: no go.mod above the working directory")
	}
	return repoRoot
}

// Shared returns the absolute path of ../shared beside the checkout.
func Shared(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(RepoRoot(t)), "shared")
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		unavailable(t, "the shared reference material (%s) is not present; it sits beside the repository on developer machines and in CI", dir)
	}
	return dir
}

// Corpus returns the KumoMTA corpus directory (holding assets/ and
// crates/): $KUMOPOLICY_KUMOMTA_CHECKOUT when set, else shared/kumomta.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("KUMOPOLICY_KUMOMTA_CHECKOUT")
	if dir == "" {
		dir = filepath.Join(Shared(t), "kumomta")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(abs, "assets", "policy-extras")); err != nil {
		unavailable(t, "the KumoMTA corpus %s has no assets/policy-extras: %v", abs, err)
	}
	return abs
}

// CorpusFile returns the absolute path of a file in the corpus.
func CorpusFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Corpus(t), filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		unavailable(t, "KumoMTA corpus file %s is missing: %v", rel, err)
	}
	return p
}

// UpstreamData returns the absolute path of a fixture in
// shared/upstream-data (KumoMTA's shaping files and OpenAPI documents).
func UpstreamData(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Shared(t), "upstream-data", name)
	if _, err := os.Stat(p); err != nil {
		unavailable(t, "upstream fixture %s is missing: %v", name, err)
	}
	return p
}

// Tool returns the path of a reference program (for example lua5.4) on
// PATH; .ci/run installs the ones CI needs.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		unavailable(t, "%s is not on PATH (install it, e.g. apt-get install %s): %v", name, name, err)
	}
	return p
}

// LockPort serializes, across the test processes of one `go test ./...`
// run (packages run in parallel), the tests that must listen on a fixed
// port, such as KumoMTA's stock tsa_init.lua on 8008: it takes an exclusive
// lock on a file named after the port in the temporary directory, held
// until the test ends.
func LockPort(t testing.TB, port int) {
	t.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("kumopolicy-test-port-%d.lock", port))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("port %d lock: %v", port, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("port %d lock: %v", port, err)
	}
	t.Cleanup(func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}
