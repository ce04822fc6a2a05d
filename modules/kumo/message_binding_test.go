package kumo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/dkim"
	mdns "github.com/miekg/dns"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

func TestMakeMessageHeaderMethods(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local msg = kumo.make_message('from@example.com', 'to@example.net',
    'From: "Some One" <someone@example.com>\r\nTo: a@x.example, b@y.example\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n\tthere\r\nX-Tag: 1\r\nX-Tag: 2\r\n\r\nbody\r\n')
  local from = msg:from_header()
  local to = msg:to_header()
  local ok, single = pcall(function() return to.domain end)
  msg:remove_all_named_headers 'x-tag'
  msg:prepend_header('X-First', 'yes')
  msg:append_header('X-Last', 'ünï')
  msg:set_recipient 'other@example.org'
  return from.user, from.domain, from.email, from.name, tostring(from),
    #to.list, to.list[2].domain, ok, tostring(single):find('not a single simple address', 1, true) ~= nil,
    msg:get_first_named_header_value 'subject',
    #msg:get_all_named_header_values 'X-Tag',
    msg:get_first_named_header_value 'Nope' == nil,
    msg:get_data(), msg:recipient().domain, msg:sender().email,
    msg:get_first_named_header_value 'X-Last'
end)
`)
	wantValues(t, out[:13], "someone", "example.com", "someone@example.com", "Some One",
		`{"name":"Some One","address":"someone@example.com"}`, int64(2), "y.example", false, true,
		"héllo\tthere", int64(0), true,
		"X-First: yes\r\nFrom: \"Some One\" <someone@example.com>\r\nTo: a@x.example, b@y.example\r\nSubject: =?utf-8?q?h=C3=A9llo?=\r\n\tthere\r\nX-Last: =?utf-8?q?=C3=BCn=C3=AF?=\r\n\r\nbody\r\n")
	wantValues(t, out[13:], "example.org", "from@example.com", "ünï")
}

// testKey writes an RSA key as PKCS#1 PEM into dir/name and returns its
// public half as the p= of a DKIM record.
func testKey(t *testing.T, file string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return base64.StdEncoding.EncodeToString(pub)
}

func TestDkimSignVerifiesAgainstDNS(t *testing.T) {
	etc := t.TempDir()
	p := testKey(t, filepath.Join(etc, "dkim", "example.com", "s1.key"))
	srv := dnstest.New(t)
	txt := &mdns.TXT{Hdr: mdns.RR_Header{Name: "s1._domainkey.example.com.", Rrtype: mdns.TypeTXT, Class: mdns.ClassINET, Ttl: 60}}
	rec := "v=DKIM1; k=rsa; p=" + p
	for len(rec) > 0 {
		n := min(len(rec), 255)
		txt.Txt, rec = append(txt.Txt, rec[:n]), rec[n:]
	}
	srv.MustAddRR(txt.String())

	// The key file is named under /opt/kumomta/etc and served from etc,
	// as --etc-dir does.
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local msg = kumo.make_message('someone@example.com', 'x@example.net',
    'From: someone@example.com\nSubject: hello\n\nWoot\n')
  local signer = kumo.dkim.rsa_sha256_signer {
    domain = msg:from_header().domain,
    selector = 's1',
    headers = { 'From', 'Subject' },
    key = '/opt/kumomta/etc/dkim/example.com/s1.key',
  }
  msg:dkim_sign(signer)
  return msg:get_data(), tostring(signer)
end)
`, kumo.Services{Paths: paths.New([2]string{"/opt/kumomta/etc", etc})})
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	data := out[0].(string)
	if !strings.HasPrefix(data, "DKIM-Signature: ") || strings.Contains(data, "\r") {
		t.Fatalf("signed message (LF kept) %q", data)
	}
	if out[1] != "Signer rsa-sha256 example.com/s1" {
		t.Errorf("tostring(signer) = %v", out[1])
	}
	lookup := func(name string) ([]string, error) {
		m := new(mdns.Msg)
		m.SetQuestion(mdns.Fqdn(name), mdns.TypeTXT)
		in, _, err := (&mdns.Client{Net: "tcp"}).Exchange(m, srv.Addr)
		if err != nil {
			return nil, err
		}
		var txts []string
		for _, rr := range in.Answer {
			if r, ok := rr.(*mdns.TXT); ok {
				txts = append(txts, strings.Join(r.Txt, ""))
			}
		}
		return txts, nil
	}
	wire := strings.ReplaceAll(data, "\n", "\r\n")
	vs, err := msgauth.VerifyWithOptions(bytes.NewReader([]byte(wire)), &msgauth.VerifyOptions{LookupTXT: lookup})
	if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.com" {
		t.Fatalf("verification: %v %+v", err, vs)
	}
}

func TestDkimSignerErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{`kumo.dkim.rsa_sha256_signer { domain = 'd', selector = 's', headers = { 'From' }, key = '` + bad + `' }`,
			"kumo.dkim.rsa_sha256_signer: DKIM key " + bad + ": not a PKCS#1 or PKCS#8 private key"},
		{`kumo.dkim.ed25519_signer { domain = 'd', selector = 's', headers = { 'From' }, key = '/never/exists.key' }`,
			"kumo.dkim.ed25519_signer: KeySource failed to load data from file `/never/exists.key`"},
		{`kumo.dkim.rsa_sha256_signer { domain = 'd', selector = 's', headers = { 'From' }, key = { vault_mount = 'm', vault_path = 'p' } }`,
			"not supported by kumopolicy"},
		{`kumo.dkim.rsa_sha256_signer { domain = 'd', selector = 's', headers = { 'From' }, key = '/k', reporting = true }`,
			"reporting is not supported"},
		{`kumo.dkim.rsa_sha256_signer { domain = 'd', headers = { 'From' }, key = '/k' }`, "missing field `selector`"},
		{`kumo.make_message('a@b', 'c@d', 'From: x@y\r\n\r\n'):dkim_sign('nope')`, "message:dkim_sign: expected a Signer"},
		{`kumo.make_message('a@b', 'c@d', 'From: not an address <\r\n\r\n'):from_header()`, "parsing the From header"},
	} {
		rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('main', function() "+c.src+" end)")
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.src, err, c.want)
		}
	}
}

func TestCheckFixConformanceFromLua(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local bad = kumo.make_message('a@example.com', 'b@example.com', 'Subject: x\nDate: now\n\nhi\n')
  local good = kumo.make_message('a@example.com', 'b@example.com', 'Subject: x\r\n\r\nhi\r\n')
  local ok, err = pcall(function() return good:check_fix_conformance('NOPE', '') end)
  return bad:check_fix_conformance('NON_CANONICAL_LINE_ENDINGS', ''),
    good:check_fix_conformance('NON_CANONICAL_LINE_ENDINGS', 'MISSING_MIME_VERSION') == nil,
    good:get_first_named_header_value 'MIME-Version', tostring(err)
end)
`)
	wantValues(t, out[:3], "Message has conformance issues: NON_CANONICAL_LINE_ENDINGS", true, "1.0")
	if !strings.Contains(out[3].(string), `message:check_fix_conformance: invalid conformance issue "NOPE"`) {
		t.Errorf("error %v", out[3])
	}
}

// A key file is read once per signer ttl: replacing it with garbage does
// not affect signers made within the ttl, and does with ttl = 0.
func TestDkimSignerKeyCache(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k.key")
	testKey(t, key)
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function(ttl)
  local ok, err = pcall(kumo.dkim.rsa_sha256_signer, { domain = 'd', selector = 's', headers = { 'From' }, key = '`+key+`', ttl = ttl })
  return ok, tostring(err)
end)
`)
	fire := func(ttl any) []any {
		out, _, err := rt.Fire(context.Background(), "main", ttl)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := fire("1 hour"); out[0] != true {
		t.Fatalf("first load: %v", out)
	}
	if err := os.WriteFile(key, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := fire("1 hour"); out[0] != true {
		t.Errorf("within the ttl the key was read again: %v", out)
	}
	if out := fire(int64(0)); out[0] != false || !strings.Contains(out[1].(string), "not a PKCS#1 or PKCS#8 private key") {
		t.Errorf("ttl 0: %v", out)
	}
}
