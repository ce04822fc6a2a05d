// Package dkim is the Lua-free core of kumo.dkim: the signer parameters of
// kumo.dkim.rsa_sha256_signer and kumo.dkim.ed25519_signer decoded
// strictly, private keys loaded from PEM or DER, and messages signed with
// github.com/emersion/go-msgauth/dkim.
//
// Parameters that go-msgauth cannot express (atps, atpsh, body_length,
// reporting) are accepted only at their "off" value; asking for them is a
// clear not-supported error rather than a signature that silently lacks
// them.
package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Algorithm is the signing algorithm of a signer.
type Algorithm int

// The algorithms of kumo.dkim.
const (
	RSASHA256 Algorithm = iota
	Ed25519
)

func (a Algorithm) String() string {
	if a == Ed25519 {
		return "ed25519"
	}
	return "rsa-sha256"
}

// Params are a signer's parameters.
type Params struct {
	Domain              string
	Selector            string
	Headers             []string
	AgentUserIdentifier string
	Expiration          time.Duration // 0: none
	HeaderCanon         string        // "Relaxed" or "Simple"
	BodyCanon           string
	Key                 *egress.KeySource
	TTL                 time.Duration
	OverSign            bool
}

var canonicalization = plain.Enum{Name: "Canon", Variants: []string{"Relaxed", "Simple"}}

var paramFields = []string{
	"domain", "selector", "headers", "atps", "atpsh", "agent_user_identifier", "expiration",
	"body_length", "reporting", "header_canonicalization", "body_canonicalization", "key", "ttl", "over_sign",
}

// DecodeParams decodes a signer's parameter table (plain data); unknown
// fields are errors.
func DecodeParams(v any) (*Params, error) {
	m, err := plain.AsMap(v, "struct SignerParams")
	if err != nil {
		return nil, err
	}
	obj := plain.NewObject(m)
	if err := obj.Unknown(paramFields); err != nil {
		return nil, err
	}
	p := &Params{HeaderCanon: "Relaxed", BodyCanon: "Relaxed", TTL: 300 * time.Second}
	str := func(dst *string) func(any) error {
		return func(v any) (err error) { *dst, err = plain.DecodeString(v); return }
	}
	notSupported := func(name string) func(any) error {
		return func(v any) error {
			if b, ok := v.(bool); ok && !b {
				return nil
			}
			if name == "atps" || name == "atpsh" {
				if _, err := plain.DecodeString(v); err != nil {
					return err
				}
			} else if _, err := plain.DecodeBool(v); err != nil {
				return err
			}
			return plain.Custom("%s is not supported by kumopolicy's DKIM signer (go-msgauth has no such tag)", name)
		}
	}
	for _, step := range []error{
		obj.Required("domain", str(&p.Domain)),
		obj.Required("selector", str(&p.Selector)),
		obj.Required("headers", func(v any) (err error) { p.Headers, err = plain.DecodeStringList(v); return }),
		obj.Optional("atps", notSupported("atps")),
		obj.Optional("atpsh", notSupported("atpsh")),
		obj.Optional("agent_user_identifier", str(&p.AgentUserIdentifier)),
		obj.Optional("expiration", func(v any) error {
			n, err := plain.DecodeUint(v, 64)
			p.Expiration = time.Duration(n) * time.Second
			return err
		}),
		obj.Optional("body_length", notSupported("body_length")),
		obj.Optional("reporting", notSupported("reporting")),
		obj.Optional("header_canonicalization", func(v any) (err error) { p.HeaderCanon, err = canonicalization.Decode(v); return }),
		obj.Optional("body_canonicalization", func(v any) (err error) { p.BodyCanon, err = canonicalization.Decode(v); return }),
		obj.Required("key", func(v any) (err error) { p.Key, err = egress.DecodeKeySource(v); return }),
		obj.Optional("ttl", func(v any) (err error) { p.TTL, err = plain.DecodeDuration(v); return }),
		obj.Optional("over_sign", func(v any) (err error) { p.OverSign, err = plain.DecodeBool(v); return }),
	} {
		if step != nil {
			return nil, step
		}
	}
	if p.Domain == "" {
		return nil, plain.AtField(plain.Custom("must not be empty"), "domain")
	}
	if p.Selector == "" {
		return nil, plain.AtField(plain.Custom("must not be empty"), "selector")
	}
	hasFrom := false
	for _, h := range p.Headers {
		if strings.EqualFold(h, "From") {
			hasFrom = true
		}
	}
	if !hasFrom {
		return nil, plain.AtField(plain.Custom("must include From (RFC 6376 section 5.4)"), "headers")
	}
	return p, nil
}

// ParseKey parses key data for alg: PEM (PKCS#1 "RSA PRIVATE KEY" or
// PKCS#8 "PRIVATE KEY") or DER PKCS#8 / PKCS#1. source names the data in
// errors (a file path, or "key_data").
func ParseKey(alg Algorithm, data []byte, source string) (crypto.Signer, error) {
	der := data
	if block, _ := pem.Decode(data); block != nil {
		der = block.Bytes
	} else if bytes.Contains(data, []byte("-----BEGIN")) {
		return nil, fmt.Errorf("DKIM key %s: malformed PEM data", source)
	}
	var key any
	var err error
	if k, e := x509.ParsePKCS8PrivateKey(der); e == nil {
		key = k
	} else if k, e2 := x509.ParsePKCS1PrivateKey(der); e2 == nil {
		key = k
	} else {
		err = e
	}
	if err != nil {
		return nil, fmt.Errorf("DKIM key %s: not a PKCS#1 or PKCS#8 private key: %v", source, err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if alg != RSASHA256 {
			return nil, fmt.Errorf("DKIM key %s: an RSA key cannot make an %s signature", source, alg)
		}
		return k, nil
	case ed25519.PrivateKey:
		if alg != Ed25519 {
			return nil, fmt.Errorf("DKIM key %s: an Ed25519 key cannot make an %s signature", source, alg)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("DKIM key %s: unsupported key type %T for %s", source, key, alg)
	}
}

// Signer signs messages with one key and set of parameters.
type Signer struct {
	Params *Params
	Alg    Algorithm
	key    crypto.Signer
}

// NewSigner returns a signer of p with key.
func NewSigner(p *Params, alg Algorithm, key crypto.Signer) *Signer {
	return &Signer{Params: p, Alg: alg, key: key}
}

// Sign returns the DKIM-Signature header field (name, value and the
// trailing CRLF) for message, which is signed with CRLF line endings
// (bare LF is taken as CRLF, as it is on the wire). now is the signing
// time (the expiration counts from it).
func (s *Signer) Sign(message []byte, now time.Time) (string, error) {
	p := s.Params
	opts := &msgauth.SignOptions{
		Domain:                 p.Domain,
		Selector:               p.Selector,
		Identifier:             p.AgentUserIdentifier,
		Signer:                 s.key,
		Hash:                   crypto.SHA256,
		HeaderCanonicalization: canon(p.HeaderCanon),
		BodyCanonicalization:   canon(p.BodyCanon),
		HeaderKeys:             p.Headers,
	}
	msg := ToCRLF(message)
	if p.OverSign {
		opts.HeaderKeys = overSign(p.Headers, msg)
	}
	if p.Expiration > 0 {
		opts.Expiration = now.Add(p.Expiration)
	}
	sig, err := msgauth.NewSigner(opts)
	if err != nil {
		return "", fmt.Errorf("dkim signing for %s: %w", p.Domain, err)
	}
	if _, err := sig.Write(msg); err != nil {
		sig.Close()
		return "", fmt.Errorf("dkim signing for %s: %w", p.Domain, err)
	}
	if err := sig.Close(); err != nil {
		return "", fmt.Errorf("dkim signing for %s: %w", p.Domain, err)
	}
	return sig.Signature(), nil
}

func canon(s string) msgauth.Canonicalization {
	if s == "Simple" {
		return msgauth.CanonicalizationSimple
	}
	return msgauth.CanonicalizationRelaxed
}

// overSign lists each of headers N+1 times, N being how often the
// message's header block has it.
func overSign(headers []string, msg []byte) []string {
	count := map[string]int{}
	for _, f := range HeaderNames(msg) {
		count[strings.ToLower(f)]++
	}
	var out []string
	for _, h := range headers {
		for range count[strings.ToLower(h)] + 1 {
			out = append(out, h)
		}
	}
	return out
}

// HeaderNames returns the field names of msg's header block, in order.
func HeaderNames(msg []byte) []string {
	var names []string
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if c := bytes.IndexByte(line, ':'); c > 0 {
			names = append(names, string(bytes.TrimSpace(line[:c])))
		}
	}
	return names
}

// ToCRLF returns b with every bare LF turned into CRLF.
func ToCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte("\n")))
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out = append(out, '\r')
		}
		out = append(out, c)
	}
	return out
}
