package upstream

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// exampleDoc is the docs' complete example policy.
const exampleDoc = "docs/userguide/configuration/example.md"

// examplePolicy returns the ```lua block of the corpus's example.md, as
// it is.
func examplePolicy(t *testing.T, corpus string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus, exampleDoc))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "```lua\n")
	if start < 0 {
		t.Fatalf("%s has no ```lua block", exampleDoc)
	}
	body := doc[start+len("```lua\n"):]
	end := strings.Index(body, "\n```")
	if end < 0 {
		t.Fatalf("%s: the ```lua block does not end", exampleDoc)
	}
	return body[:end+1]
}

// exampleEtc lays out an /opt/kumomta/etc for the example policy: the
// policy as policy/init.lua, our data files from testdata/example-etc
// beside it, and an RSA key for each signing domain at dkim/DOMAIN/kp2026.key.
func exampleEtc(t *testing.T, corpus string, dkimData string) string {
	t.Helper()
	etc := t.TempDir()
	policy := filepath.Join(etc, "policy")
	if err := os.MkdirAll(policy, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(policy, "init.lua"), []byte(examplePolicy(t, corpus)), 0o644); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("testdata", "example-etc", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata/example-etc: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "dkim_data.toml" {
			b = append(b, dkimData...)
		}
		if err := os.WriteFile(filepath.Join(policy, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(etc, "dkim", "example.com", "kp2026.key")
	if err := os.MkdirAll(filepath.Dir(key), 0o755); err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(key, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	return etc
}

// validateExample runs kumopolicy validate on etc's policy with the
// corpus's assets/ as the share directory and a loopback DNS server.
func validateExample(t *testing.T, corpus, etc string) (string, error) {
	t.Helper()
	dns := dnstest.New(t)
	dns.AddMX("example.com", 10, "mx.example.com", 300)
	dns.AddA("mx.example.com", "127.0.0.1", 300)
	cmd := exec.Command(binary(t), "validate", "--etc-dir", etc, "--share-dir", filepath.Join(corpus, "assets"),
		"--resolver", dns.Addr, "--timeout", "60s")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The docs' complete example policy, unmodified, with data files written
// from the docs' descriptions, validates.
func TestDocsExamplePolicyValidates(t *testing.T) {
	corpus := sharedref.Corpus(t)
	ran(t, exampleDoc+" (validate)")
	etc := exampleEtc(t, corpus, "")
	out, err := validateExample(t, corpus, etc)
	if err != nil || !strings.Contains(out, "OK: ") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
}

// A signing domain whose key file is broken fails validation, naming the
// domain (dkim_sign.lua's validate_config signs a test message for each).
func TestDocsExamplePolicyBrokenDKIMKey(t *testing.T) {
	corpus := sharedref.Corpus(t)
	etc := exampleEtc(t, corpus, "\n[domain.\"broken.example\"]\nselector = \"bad\"\n")
	key := filepath.Join(etc, "dkim", "broken.example", "bad.key")
	if err := os.MkdirAll(filepath.Dir(key), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := validateExample(t, corpus, etc)
	if err == nil {
		t.Fatalf("validate accepted a broken DKIM key:\n%s", out)
	}
	for _, want := range []string{"domain 'broken.example'", "/opt/kumomta/etc/dkim/broken.example/bad.key", "validation failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "domain 'example.com'") {
		t.Errorf("the good domain was reported too:\n%s", out)
	}
}
