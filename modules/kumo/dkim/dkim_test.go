package dkim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"
	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

const testMessage = "From: Someone <someone@example.com>\nTo: x@example.net\nSubject: hello\n\nWoot\n"

// publish serves the selector's public key record from a loopback DNS
// server and returns a TXT lookup that asks that server.
func publish(t *testing.T, domain, selector, alg string, pub []byte) func(string) ([]string, error) {
	t.Helper()
	srv := dnstest.New(t)
	rec := "v=DKIM1; k=" + alg + "; p=" + base64.StdEncoding.EncodeToString(pub)
	name := selector + "._domainkey." + domain + "."
	txt := &mdns.TXT{Hdr: mdns.RR_Header{Name: name, Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 300}}
	for len(rec) > 0 { // TXT strings are at most 255 bytes
		n := min(len(rec), 255)
		txt.Txt = append(txt.Txt, rec[:n])
		rec = rec[n:]
	}
	if err := srv.AddRR(txt.String()); err != nil {
		t.Fatal(err)
	}
	return func(q string) ([]string, error) {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(q), mdns.TypeTXT)
		c := &mdns.Client{Net: "tcp"}
		in, _, err := c.Exchange(m, srv.Addr)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, rr := range in.Answer {
			if t, ok := rr.(*mdns.TXT); ok {
				out = append(out, strings.Join(t.Txt, ""))
			}
		}
		return out, nil
	}
}

func verify(t *testing.T, signed []byte, lookup func(string) ([]string, error)) *msgauth.Verification {
	t.Helper()
	vs, err := msgauth.VerifyWithOptions(bytes.NewReader(signed), &msgauth.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Fatalf("%d verifications, want 1", len(vs))
	}
	if vs[0].Err != nil {
		t.Fatalf("signature does not verify: %v", vs[0].Err)
	}
	return vs[0]
}

func decode(t *testing.T, m map[string]any) *Params {
	t.Helper()
	p, err := DecodeParams(m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSignRSAVerifies(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, form := range []struct{ name, pem string }{
		{"PKCS#1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))},
		{"PKCS#8", func() string {
			der, _ := x509.MarshalPKCS8PrivateKey(k)
			return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		}()},
	} {
		t.Run(form.name, func(t *testing.T) {
			key, err := ParseKey(RSASHA256, []byte(form.pem), "key_data")
			if err != nil {
				t.Fatal(err)
			}
			p := decode(t, map[string]any{
				"domain": "example.com", "selector": "s1", "headers": []any{"From", "To", "Subject"},
				"key": map[string]any{"key_data": form.pem}, "over_sign": true, "expiration": int64(3600),
				"header_canonicalization": "Simple",
			})
			hdr, err := NewSigner(p, RSASHA256, key).Sign([]byte(testMessage), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(hdr, "DKIM-Signature:") || !strings.Contains(hdr, "c=simple/relaxed") {
				t.Fatalf("unexpected header %q", hdr)
			}
			// over_sign: From and To once in the message, Subject once: each twice.
			if !strings.Contains(strings.ToLower(strings.Join(strings.Fields(hdr), "")), "h=from:from:to:to:subject:subject") {
				t.Errorf("over_sign header list missing from %q", hdr)
			}
			pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
			lookup := publish(t, "example.com", "s1", "rsa", pub)
			v := verify(t, append([]byte(hdr), ToCRLF([]byte(testMessage))...), lookup)
			if v.Domain != "example.com" {
				t.Errorf("verified domain %q", v.Domain)
			}
			// A modified body fails verification.
			tampered := append([]byte(hdr), ToCRLF([]byte(strings.Replace(testMessage, "Woot", "Woof", 1)))...)
			vs, _ := msgauth.VerifyWithOptions(bytes.NewReader(tampered), &msgauth.VerifyOptions{LookupTXT: lookup})
			if len(vs) != 1 || vs[0].Err == nil {
				t.Error("a tampered body still verified")
			}
		})
	}
}

func TestSignEd25519Verifies(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	for name, data := range map[string][]byte{
		"PEM": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"DER": der,
	} {
		t.Run(name, func(t *testing.T) {
			key, err := ParseKey(Ed25519, data, "k")
			if err != nil {
				t.Fatal(err)
			}
			p := decode(t, map[string]any{"domain": "example.org", "selector": "ed", "headers": []any{"From", "Subject"}, "key": "/x"})
			hdr, err := NewSigner(p, Ed25519, key).Sign([]byte(testMessage), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			verify(t, append([]byte(hdr), ToCRLF([]byte(testMessage))...), publish(t, "example.org", "ed", "ed25519", pub))
		})
	}
}

func TestParseKeyErrors(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)})
	cases := []struct {
		alg  Algorithm
		data string
		want string
	}{
		{RSASHA256, "not a key", "DKIM key /etc/k.key: not a PKCS#1 or PKCS#8 private key"},
		{RSASHA256, "-----BEGIN RSA PRIVATE KEY-----\nAAAA", "DKIM key /etc/k.key: malformed PEM data"},
		{Ed25519, string(rsaPEM), "DKIM key /etc/k.key: an RSA key cannot make an ed25519 signature"},
	}
	for _, c := range cases {
		_, err := ParseKey(c.alg, []byte(c.data), "/etc/k.key")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseKey(%q): %v, want %q", c.data, err, c.want)
		}
	}
}

func TestDecodeParamsStrict(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"domain": "d", "selector": "s", "headers": []any{"From"}, "key": "/k"}
	}
	cases := []struct {
		set  func(m map[string]any)
		want string
	}{
		{func(m map[string]any) { m["bogus"] = true }, "unknown field `bogus`"},
		{func(m map[string]any) { delete(m, "key") }, "missing field `key`"},
		{func(m map[string]any) { m["headers"] = []any{"To"} }, "headers: must include From"},
		{func(m map[string]any) { m["header_canonicalization"] = "relaxed" }, "header_canonicalization"},
		{func(m map[string]any) { m["body_length"] = true }, "body_length is not supported"},
		{func(m map[string]any) { m["atps"] = "x.example" }, "atps is not supported"},
		{func(m map[string]any) { m["key"] = map[string]any{"vault_mount": "m", "vault_path": "p"} }, ""},
		{func(m map[string]any) { m["ttl"] = "5 mins"; m["body_length"] = false }, ""},
	}
	for i, c := range cases {
		m := base()
		c.set(m)
		p, err := DecodeParams(m)
		if c.want == "" {
			if err != nil {
				t.Errorf("case %d: %v", i, err)
			} else if i == 7 && p.TTL != 5*time.Minute {
				t.Errorf("ttl %v", p.TTL)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: %v, want %q", i, err, c.want)
		}
	}
}
