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

// httpListenerParams is an HTTPListener being decoded: whether hostname
// was given decides its default.
type httpListenerParams struct {
	HTTPListener
	hostnameSet bool
}

var httpListenerSchema = plain.NewSchema("HttpListenerParams", true, append([]plain.Field[httpListenerParams]{
	{Name: "hostname", Decode: func(p *httpListenerParams, v any) (err error) {
		p.hostnameSet = true
		p.Hostname, err = plain.DecodeString(v)
		return
	}},
}, plain.Embed(func(p *httpListenerParams) *HTTPListener { return &p.HTTPListener }, []plain.Field[HTTPListener]{
	plain.StringField("listen", func(l *HTTPListener) *string { return &l.Listen }),
	plain.BoolField("use_tls", func(l *HTTPListener) *bool { return &l.UseTLS }),
	plain.OptUintField("request_body_limit", 64, func(l *HTTPListener) **uint64 { return &l.RequestBodyLimit }),
	keySourceField("tls_certificate", func(l *HTTPListener) **egress.KeySource { return &l.TLSCertificate }),
	keySourceField("tls_private_key", func(l *HTTPListener) **egress.KeySource { return &l.TLSPrivateKey }),
	cidrSetField("trusted_hosts", func(l *HTTPListener) *[]string { return &l.TrustedHosts }),
})...)...).InKeyOrder()

// DecodeHTTPListener decodes and checks the parameters of
// kumo.start_http_listener.
func DecodeHTTPListener(v any) (*HTTPListener, error) {
	p := &httpListenerParams{HTTPListener: HTTPListener{Listen: "127.0.0.1:8000", TrustedHosts: []string{"127.0.0.1", "::1"}}}
	if err := httpListenerSchema.Decode(p, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	l, hostnameSet := &p.HTTPListener, p.hostnameSet
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
		"trusted_hosts": plain.StringsToAny(l.TrustedHosts),
	}
	putUint(m, "request_body_limit", l.RequestBodyLimit)
	putKey(m, "tls_certificate", l.TLSCertificate)
	putKey(m, "tls_private_key", l.TLSPrivateKey)
	return m
}
