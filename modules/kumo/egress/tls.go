package egress

import (
	"fmt"
	"slices"
	"strings"
)

// OpenSSL options (openssl_options) and rustls cipher suites
// (rustls_cipher_suites), validated by name as KumoMTA does. Neither is
// part of the serialized form of an egress path.

// sslOptionNames are the names KumoMTA accepts in openssl_options: the
// SslOptions flags of rust-openssl built against OpenSSL 3.
var sslOptionNames = []string{
	"DONT_INSERT_EMPTY_FRAGMENTS",
	"IGNORE_UNEXPECTED_EOF",
	"ALL",
	"NO_QUERY_MTU",
	"COOKIE_EXCHANGE",
	"NO_TICKET",
	"NO_SESSION_RESUMPTION_ON_RENEGOTIATION",
	"NO_COMPRESSION",
	"ALLOW_UNSAFE_LEGACY_RENEGOTIATION",
	"SINGLE_ECDH_USE",
	"SINGLE_DH_USE",
	"CIPHER_SERVER_PREFERENCE",
	"TLS_ROLLBACK_BUG",
	"NO_SSLV2",
	"NO_SSLV3",
	"NO_TLSV1",
	"NO_TLSV1_1",
	"NO_TLSV1_2",
	"NO_TLSV1_3",
	"NO_DTLSV1",
	"NO_DTLSV1_2",
	"NO_SSL_MASK",
	"NO_RENEGOTIATION",
	"ENABLE_MIDDLEBOX_COMPAT",
	"PRIORITIZE_CHACHA",
}

// sslOptionsUnlisted are accepted but left out of the error message's list
// of possible values, as KumoMTA's list is built by iterating the flag set,
// which skips flags that are zero under OpenSSL 3 (NO_SSLV2,
// SINGLE_ECDH_USE, SINGLE_DH_USE) or whose bits an earlier flag already
// covered (NO_DTLSV1, NO_DTLSV1_2 share TLS bits; NO_SSL_MASK is their
// union).
var sslOptionsUnlisted = []string{"SINGLE_ECDH_USE", "SINGLE_DH_USE", "NO_SSLV2", "NO_DTLSV1", "NO_DTLSV1_2", "NO_SSL_MASK"}

// sslOptionsHelp is the list of possible values in error messages: sorted
// as KumoMTA sorts it (on the backticked names).
var sslOptionsHelp = func() string {
	var quoted []string
	for _, n := range sslOptionNames {
		if !slices.Contains(sslOptionsUnlisted, n) {
			quoted = append(quoted, "`"+n+"`")
		}
	}
	slices.Sort(quoted)
	return strings.Join(quoted, ", ")
}()

// SSLOptionNames returns every option name openssl_options accepts.
func SSLOptionNames() []string { return slices.Clone(sslOptionNames) }

// ParseOpenSSLOptions validates a list of SslOptions names joined by '|',
// such as "NO_TLSV1|NO_TLSV1_1", and returns the names. Names are
// case-sensitive; an empty name (as in "A||B") is invalid. The error is
// KumoMTA's:
//
//	`X` is not a valid SslOption name. Possible values are `ALL`, ... joined together by the pipe `|` character.
func ParseOpenSSLOptions(list string) ([]string, error) {
	parts := strings.Split(list, "|")
	for _, p := range parts {
		if !slices.Contains(sslOptionNames, p) {
			return nil, fmt.Errorf("`%s` is not a valid SslOption name. Possible values are %s joined together by the pipe `|` character.", p, sslOptionsHelp)
		}
	}
	return parts, nil
}

// rustlsCipherSuites are the suites of rustls's aws-lc-rs provider, by the
// names KumoMTA matches (case-insensitively).
var rustlsCipherSuites = []string{
	"TLS13_AES_256_GCM_SHA384",
	"TLS13_AES_128_GCM_SHA256",
	"TLS13_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

// RustlsCipherSuiteNames returns the valid rustls cipher suite names.
func RustlsCipherSuiteNames() []string { return slices.Clone(rustlsCipherSuites) }

// ParseRustlsCipherSuite finds a rustls cipher suite by name, ignoring ASCII
// case, and returns its canonical name. The error is KumoMTA's:
// “\`X\` is not a valid rustls cipher suite“.
func ParseRustlsCipherSuite(name string) (string, error) {
	for _, s := range rustlsCipherSuites {
		if strings.EqualFold(s, name) && isASCII(name) {
			return s, nil
		}
	}
	return "", fmt.Errorf("`%s` is not a valid rustls cipher suite", name)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
