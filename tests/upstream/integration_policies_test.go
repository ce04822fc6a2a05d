package upstream

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// integrationNotValidated are KumoMTA's integration-test policies that
// `kumopolicy validate` does not pass, with the reason. README.md lists
// the same files; keep the two in step.
var integrationNotValidated = map[string]string{
	"ndr.lua": "its queue helper requires policy-extras.sources from inside a validate_config " +
		"handler, and sources.lua registers a validate_config handler when it loads; KumoMTA " +
		"refuses that registration during an event as kumopolicy does (kumod --validate stops " +
		"there too)",
	"proxy_with_auth.lua": "a policy for KumoMTA's proxy server (kumo-proxy): it requires the " +
		"`proxy` module and registers proxy_init, which kumod and kumopolicy do not provide",
	"tsa_init.lua": "a TSA daemon policy: it requires the `tsa` module, which " +
		"`kumopolicy tsa-daemon` provides; `validate` checks kumod policies",
}

// integrationEnv is the environment KumoMTA's integration-test harness
// gives a kumod it starts: a test directory, the ports of the sinks and
// daemons it talks to, and a TLS certificate for the TLS sinks. Nothing
// listens on the ports: validate binds and connects nothing.
func integrationEnv(t *testing.T) []string {
	dir := t.TempDir()
	cert, key := selfSignedPEM(t)
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"KUMOD_TEST_DIR=" + dir,
		"KUMO_TSA_TEST_DIR=" + dir,
		"KUMOD_SMTP_SINK_PORT=2526",
		"KUMOD_HTTP_SINK_PORT=8026",
		"KUMOD_TSA_PORT=8027",
		"KUMOD_SINK_TLS_CERT=" + cert,
		"KUMOD_SINK_TLS_KEY=" + key,
		"KUMO_PROXY_SERVER_ADDRESS=127.0.0.1:5000",
		"NATS_ADDRESS=127.0.0.1:4222",
		"NATS_SUBJECT=kumopolicy",
	}
	return env
}

func selfSignedPEM(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// TestIntegrationPoliciesValidate runs `kumopolicy validate` on each of
// KumoMTA's integration-test policies, unmodified, from their directory
// (they put ../../assets on package.path), with the corpus's assets/ as
// /opt/kumomta/share.
func TestIntegrationPoliciesValidate(t *testing.T) {
	corpus := sharedref.Corpus(t)
	bin := binary(t)
	dir := filepath.Join(corpus, "crates", "integration-tests")
	files, err := filepath.Glob(filepath.Join(dir, "*.lua"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no integration policies in %s: %v", dir, err)
	}
	sort.Strings(files)
	env := integrationEnv(t)
	ns := dnstest.New(t).Addr // a loopback server: never the machine's resolver
	passed := 0
	for _, file := range files {
		name := filepath.Base(file)
		reason, expectFail := integrationNotValidated[name]
		t.Run(name, func(t *testing.T) {
			if !expectFail {
				ran(t, "crates/integration-tests/"+name+" (validate)")
			}
			cmd := exec.Command(bin, "validate", "--timeout", "60s", "--resolver", ns,
				"--share-dir", filepath.Join(corpus, "assets"), "--policy", name)
			cmd.Dir = dir
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			switch {
			case expectFail && err == nil:
				t.Errorf("%s now passes validate: remove it from integrationNotValidated and the README\n%s", name, out)
			case expectFail:
				t.Logf("fails as documented (%s):\n%s", reason, firstLine(out))
			case err != nil:
				t.Errorf("validate %s: %v\n%s", name, err, out)
			default:
				passed++
			}
		})
	}
	t.Logf("%d of %d integration policies pass validate", passed, len(files))
	if passed < 30 {
		t.Errorf("only %d of %d integration policies pass validate; at least 30 must", passed, len(files))
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
