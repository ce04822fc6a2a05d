// Package aesblock is the Lua-free core of kumo.crypto's block functions:
// AES-128 or AES-256 (by key length) in ECB or CBC mode with PKCS#7
// padding. CBC output is a fresh random IV followed by the ciphertext, so
// a ciphertext decrypts with the key alone.
package aesblock

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Mode is a block cipher mode, named as KumoMTA names it.
type Mode string

// The supported modes.
const (
	CBC Mode = "Cbc"
	ECB Mode = "Ecb"
)

// ParseMode accepts "Cbc" or "Ecb".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case CBC, ECB:
		return Mode(s), nil
	}
	return "", fmt.Errorf("unknown variant `%s`, expected `Cbc` or `Ecb`", s)
}

func newCipher(key []byte) (cipher.Block, error) {
	if len(key) != 16 && len(key) != 32 {
		return nil, fmt.Errorf("AES keys must be 16 or 32 bytes long (AES-128 or AES-256), this key is %d bytes", len(key))
	}
	return aes.NewCipher(key)
}

// Encrypt pads plaintext and encrypts it with key in mode.
func Encrypt(mode Mode, key, plaintext []byte) ([]byte, error) {
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	n := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := make([]byte, len(plaintext)+n)
	copy(padded, plaintext)
	for i := len(plaintext); i < len(padded); i++ {
		padded[i] = byte(n)
	}
	switch mode {
	case ECB:
		for i := 0; i < len(padded); i += aes.BlockSize {
			block.Encrypt(padded[i:], padded[i:])
		}
		return padded, nil
	case CBC:
		out := make([]byte, aes.BlockSize+len(padded))
		if _, err := rand.Read(out[:aes.BlockSize]); err != nil {
			return nil, err
		}
		cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], padded)
		return out, nil
	}
	return nil, fmt.Errorf("unknown mode %q", mode)
}

// ErrCiphertext reports a ciphertext that is not a whole number of blocks
// or whose padding is wrong (the wrong key, mode or data).
var ErrCiphertext = errors.New("the ciphertext is malformed or was not encrypted with this key and mode")

// Decrypt decrypts ciphertext with key in mode and removes the padding.
func Decrypt(mode Mode, key, ciphertext []byte) ([]byte, error) {
	block, err := newCipher(key)
	if err != nil {
		return nil, err
	}
	var out []byte
	switch mode {
	case ECB:
		if len(ciphertext) == 0 || len(ciphertext)%aes.BlockSize != 0 {
			return nil, ErrCiphertext
		}
		out = make([]byte, len(ciphertext))
		for i := 0; i < len(out); i += aes.BlockSize {
			block.Decrypt(out[i:], ciphertext[i:])
		}
	case CBC:
		if len(ciphertext) < 2*aes.BlockSize || len(ciphertext)%aes.BlockSize != 0 {
			return nil, ErrCiphertext
		}
		out = make([]byte, len(ciphertext)-aes.BlockSize)
		cipher.NewCBCDecrypter(block, ciphertext[:aes.BlockSize]).CryptBlocks(out, ciphertext[aes.BlockSize:])
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, ErrCiphertext
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, ErrCiphertext
		}
	}
	return out[:len(out)-n], nil
}
