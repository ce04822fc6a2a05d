package kumo_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

// runLuaErr runs body inside main and returns the Lua error text.
func runLuaErr(t *testing.T, body string) string {
	t.Helper()
	rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('main', function()\n"+body+"\nend)\n")
	_, _, err := rt.Fire(context.Background(), "main")
	if err == nil {
		t.Fatalf("no error from %s", body)
	}
	return err.Error()
}

func TestDigestBinaryResult(t *testing.T) {
	// The upstream doc example of the BinaryResult fields.
	got := runRegex(t, `
local d = kumo.digest.sha1 'hello'
return tostring(d), d.hex, d.bytes == '\xaa\xf4\xc6\x1d\xdc\xc5\xe8\xa2\xda\xbe\xde\x0f\x3b\x48\x2c\xd9\xae\xa9\x43\x4d',
  d.base32, d.base32_nopad, d.base32hex, d.base64, d.base64_nopad, d.base64url, d.base64url_nopad`)
	want := []any{"aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", true,
		"VL2MMHO4YXUKFWV63YHTWSBM3GXKSQ2N", "VL2MMHO4YXUKFWV63YHTWSBM3GXKSQ2N", "LBQCC7ESONKA5MLURO7JMI1CR6NAIGQD",
		"qvTGHdzF6KLavt4PO0gs2a6pQ00=", "qvTGHdzF6KLavt4PO0gs2a6pQ00", "qvTGHdzF6KLavt4PO0gs2a6pQ00=", "qvTGHdzF6KLavt4PO0gs2a6pQ00"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
}

func TestDigestArguments(t *testing.T) {
	got := runRegex(t, `
return kumo.digest.sha256('ab').hex == kumo.digest.sha256('a', 'b').hex,
  kumo.digest.sha256({1, 2}).hex == kumo.digest.sha256('[1,2]').hex,
  kumo.digest.sha256(3).hex == kumo.digest.sha256('3').hex,
  kumo.digest.sha256().hex,
  kumo.digest.sha512_256('').hex, kumo.digest.sha3_256('').hex, kumo.digest.sha224('').hex`)
	want := []any{true, true, true,
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a",
		"a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
		"d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
}

func TestDigestHMACKeySources(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("your key"), 0o600); err != nil {
		t.Fatal(err)
	}
	got := runRegex(t, `return kumo.digest.hmac_sha256(`+luaQuote(keyFile)+`, 'your message').hex,
  kumo.digest.hmac_sha256({key_data = 'your key'}, 'your message').hex`)
	const want = "87fc1cec5c02f0991ae80f50e98eb2eb5213d07fc40417682a74448ac1deb07c"
	if !reflect.DeepEqual(got, []any{want, want}) {
		t.Fatalf("got %#v", got)
	}
	for body, wantErr := range map[string]string{
		`kumo.digest.hmac_sha1({vault_mount='m', vault_path='p'}, 'x')`: "Vault key sources are not supported",
		`kumo.digest.hmac_sha1({event_name='e', event_args={}}, 'x')`:   "event key sources",
		`kumo.digest.hmac_sha1('/nonexistent/key', 'x')`:                "reading key file",
		`kumo.digest.hmac_sha1(42, 'x')`:                                "KeySource",
		`kumo.digest.sha1(function() end)`:                              "argument 1",
		`return kumo.digest.sha1('x').nope`:                             `no field "nope"`,
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

func TestEncode(t *testing.T) {
	got := runRegex(t, `
local e = kumo.encode
return e.base64_encode('hi?'), e.base64url_nopad_encode('\xfb\xff'), e.base32_encode('f'), e.base32hex_nopad_encode('f'),
  e.hex_encode('\x01\xab'), e.hex_decode('01AB') == '\x01\xab', e.base64_decode('aGk/'),
  e.charset_decode('shift_jis', '\x82\xa0'), e.charset_encode('windows-1251', 'Ж') == '\xc6',
  e.charset_encode('us-ascii', 'a©b', true)`)
	want := []any{"aGk/", "-_8", "MY======", "CO", "01ab", true, "hi?", "あ", true, "ab"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for body, wantErr := range map[string]string{
		`kumo.encode.hex_decode('zz')`:                   "kumo.encode.hex_decode",
		`kumo.encode.base64_decode('@@@')`:               "kumo.encode.base64_decode",
		`kumo.encode.charset_encode('no-such-set', 'x')`: `unsupported charset "no-such-set"`,
		`kumo.encode.charset_encode('us-ascii', '©')`:    "cannot encode",
		`kumo.encode.charset_encode('latin1', '\xff')`:   "not valid UTF-8",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

func TestCryptoAESBlock(t *testing.T) {
	got := runRegex(t, `
local key = {key = {key_data = kumo.encode.hex_decode('000102030405060708090a0b0c0d0e0f')}}
local ct = kumo.crypto.aes_encrypt_block('Ecb', kumo.encode.hex_decode('00112233445566778899aabbccddeeff'), key)
local cbc = kumo.crypto.aes_encrypt_block('Cbc', 'secret', key)
return string.sub(ct.hex, 1, 32), kumo.crypto.aes_decrypt_block('Ecb', ct.bytes, key).hex,
  kumo.crypto.aes_decrypt_block('Cbc', cbc, key).bytes`)
	want := []any{"69c4e0d86a7b0430d8cdb78070b4c55a", "00112233445566778899aabbccddeeff", "secret"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	for body, wantErr := range map[string]string{
		`kumo.crypto.aes_encrypt_block('Gcm', 'x', {key={key_data='1234567890abcdef'}})`: "`Cbc` or `Ecb`",
		`kumo.crypto.aes_encrypt_block('Ecb', 'x', {key={key_data='short'}})`:            "16 or 32 bytes",
		`kumo.crypto.aes_encrypt_block('Ecb', 'x', {})`:                                  "key",
		`kumo.crypto.aes_decrypt_block('Ecb', 'x', {key={key_data='1234567890abcdef'}})`: "malformed",
		`kumo.crypto.aws_sign_v4({})`:                                                    "not supported",
	} {
		if msg := runLuaErr(t, body); !strings.Contains(msg, wantErr) {
			t.Errorf("%s: %s", body, msg)
		}
	}
}

// Key files a policy names under /opt/kumomta/etc are read from where
// --etc-dir moves them, for kumo.digest's HMACs and kumo.crypto's AES
// keys as for every other file a policy names.
func TestDigestAndCryptoKeyFilesFollowTheInstallPathMap(t *testing.T) {
	etc := t.TempDir()
	if err := os.WriteFile(filepath.Join(etc, "hmac.key"), []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(etc, "aes.key"), []byte("0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	rt, _ := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local enc = kumo.crypto.aes_encrypt_block('Ecb', 'hello', { key = '/opt/kumomta/etc/aes.key' })
  local dec = kumo.crypto.aes_decrypt_block('Ecb', enc, { key = { key_data = '0123456789abcdef' } })
  return kumo.digest.hmac_sha256('/opt/kumomta/etc/hmac.key', 'msg').hex,
    kumo.digest.hmac_sha256({ key_data = 'secret' }, 'msg').hex, dec.bytes
end)
`, kumo.Services{Paths: paths.New([2]string{"/opt/kumomta/etc", etc})})
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != out[1] || out[2] != "hello" {
		t.Fatalf("got %v", out)
	}
}
