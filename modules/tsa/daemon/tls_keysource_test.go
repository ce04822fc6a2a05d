package daemon_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

// pemPair makes a certificate for cn and its key, as PEM.
func pemPair(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

// tls_certificate and tls_private_key take KumoMTA's key sources: a file
// path or {key_data = ...} inline.
func TestTLSKeySources(t *testing.T) {
	dir := t.TempDir()
	fileCert, fileKey := pemPair(t, "from-files.test")
	certPath := writeFile(t, dir, "cert.pem", fileCert)
	keyPath := writeFile(t, dir, "key.pem", fileKey)
	inlineCert, inlineKey := pemPair(t, "inline.test")
	f := start(t, minimalPolicy(t, dir, `
  tsa.start_http_listener { listen = '127.0.0.1:0', use_tls = true, tls_certificate = `+luaQuote(certPath)+`, tls_private_key = `+luaQuote(keyPath)+` }
  tsa.start_http_listener { listen = '127.0.0.1:0', use_tls = true, tls_certificate = { key_data = `+luaQuote(inlineCert)+` }, tls_private_key = { key_data = `+luaQuote(inlineKey)+` } }
`), daemon.Options{})
	addrs := f.d.Addrs()
	if len(addrs) != 2 {
		t.Fatalf("listeners %v", addrs)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for i, cn := range []string{"from-files.test", "inline.test"} {
		resp, err := client.Get("https://" + addrs[i] + "/tsa/status")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != cn {
			t.Errorf("listener %d: %d, want the %s certificate", i, resp.StatusCode, cn)
		}
	}
}

// luaQuote renders s as a Lua long string literal.
func luaQuote(s string) string { return "[==[" + s + "]==]" }

// Key files named under /opt/kumomta/etc are read where Options.Paths
// (--etc-dir) moves them.
func TestTLSKeyFilesFollowTheInstallPathMap(t *testing.T) {
	dir, etc := t.TempDir(), t.TempDir()
	cert, key := pemPair(t, "moved.test")
	writeFile(t, etc, "cert.pem", cert)
	writeFile(t, etc, "key.pem", key)
	f := start(t, minimalPolicy(t, dir, `
  tsa.start_http_listener { listen = '127.0.0.1:0', use_tls = true, tls_certificate = '/opt/kumomta/etc/cert.pem', tls_private_key = '/opt/kumomta/etc/key.pem' }
`), daemon.Options{Paths: paths.New([2]string{"/opt/kumomta/etc", etc})})
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + f.d.Addrs()[0] + "/tsa/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "moved.test" {
		t.Fatalf("want the moved.test certificate")
	}
}
