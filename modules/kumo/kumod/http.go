package kumod

import (
	"fmt"
	"os"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// HTTPListener is the parameter table of kumo.start_http_listener
// (KumoMTA's HttpListenerParams).
type HTTPListener struct {
	Hostname         string // default: the machine's host name
	Listen           string // default 127.0.0.1:8000
	UseTLS           bool
	RequestBodyLimit *uint64
	TLSCertificate   *egress.KeySource
	TLSPrivateKey    *egress.KeySource
	TrustedHosts     []string // default 127.0.0.1, ::1
}

// defaultHostname is the machine's host name, or "localhost".
func defaultHostname() string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// DecodeHTTPListener decodes and checks the parameters of
// kumo.start_http_listener.
func DecodeHTTPListener(v any) (*HTTPListener, error) {
	l := &HTTPListener{Listen: "127.0.0.1:8000", TrustedHosts: []string{"127.0.0.1", "::1"}}
	hostnameSet := false
	err := decodeStruct(v, "HttpListenerParams", []field{
		{name: "hostname", set: func(v any) (err error) {
			hostnameSet = true
			l.Hostname, err = plain.DecodeString(v)
			return
		}},
		{name: "listen", set: setString(&l.Listen)},
		{name: "use_tls", set: setBool(&l.UseTLS)},
		{name: "request_body_limit", set: setOptUsize(&l.RequestBodyLimit)},
		{name: "tls_certificate", set: setKeySource(&l.TLSCertificate)},
		{name: "tls_private_key", set: setKeySource(&l.TLSPrivateKey)},
		{name: "trusted_hosts", set: setCIDRSet(&l.TrustedHosts)},
	}, structOpts{})
	if err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if !hostnameSet {
		l.Hostname = defaultHostname()
	}
	if err := CheckListenAddress(l.Listen); err != nil {
		return nil, fmt.Errorf("kumo.start_http_listener: %w", err)
	}
	return l, nil
}

// Data renders the listener parameters as plain data (secrets redacted).
func (l *HTTPListener) Data() map[string]any {
	m := map[string]any{
		"hostname":      l.Hostname,
		"listen":        l.Listen,
		"use_tls":       l.UseTLS,
		"trusted_hosts": stringsToAny(l.TrustedHosts),
	}
	putUint(m, "request_body_limit", l.RequestBodyLimit)
	putKey(m, "tls_certificate", l.TLSCertificate)
	putKey(m, "tls_private_key", l.TLSPrivateKey)
	return m
}
