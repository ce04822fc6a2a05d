package aesblock

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestECBKnownAnswer(t *testing.T) {
	// FIPS-197 appendix C.1: one block, AES-128.
	key, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f")
	pt, _ := hex.DecodeString("00112233445566778899aabbccddeeff")
	out, err := Encrypt(ECB, key, pt)
	if err != nil {
		t.Fatal(err)
	}
	// A whole block of plaintext gains a whole block of padding.
	if len(out) != 32 || hex.EncodeToString(out[:16]) != "69c4e0d86a7b0430d8cdb78070b4c55a" {
		t.Fatalf("got %x", out)
	}
	back, err := Decrypt(ECB, key, out)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("round trip: %x, %v", back, err)
	}
}

func TestRoundTrips(t *testing.T) {
	for _, keyLen := range []int{16, 32} {
		key := bytes.Repeat([]byte{7}, keyLen)
		for _, mode := range []Mode{ECB, CBC} {
			for _, n := range []int{0, 1, 15, 16, 17, 100} {
				pt := bytes.Repeat([]byte{0xfe}, n)
				ct, err := Encrypt(mode, key, pt)
				if err != nil {
					t.Fatal(err)
				}
				got, err := Decrypt(mode, key, ct)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("%s/%d/%d: %x, %v", mode, keyLen, n, got, err)
				}
			}
		}
	}
}

func TestCBCUsesFreshIV(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 16)
	a, _ := Encrypt(CBC, key, []byte("same"))
	b, _ := Encrypt(CBC, key, []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two CBC encryptions of the same text are equal")
	}
}

func TestErrors(t *testing.T) {
	if _, err := Encrypt(ECB, []byte("short"), []byte("x")); err == nil || !strings.Contains(err.Error(), "16 or 32 bytes") {
		t.Fatalf("key size: %v", err)
	}
	key := bytes.Repeat([]byte{1}, 16)
	other := bytes.Repeat([]byte{2}, 16)
	ct, _ := Encrypt(ECB, key, []byte("hello"))
	if _, err := Decrypt(ECB, other, ct); !errors.Is(err, ErrCiphertext) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := Decrypt(CBC, key, []byte("short")); !errors.Is(err, ErrCiphertext) {
		t.Fatalf("short: %v", err)
	}
	if _, err := ParseMode("Gcm"); err == nil || !strings.Contains(err.Error(), "`Cbc` or `Ecb`") {
		t.Fatalf("mode: %v", err)
	}
}
