package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
)

// ListenerParams are the parameters of tsa.start_http_listener and
// kumo.start_http_listener (KumoMTA's HttpListenerParams).
type ListenerParams struct {
	Listen string
	// TrustedHosts: IPs and CIDRs; nil means DefaultTrustedHosts.
	TrustedHosts []string
	UseTLS       bool
	// TLSCertificate and TLSPrivateKey hold PEM data: a file path or
	// inline data (KumoMTA's KeySource; Vault and event sources are not
	// supported yet). With UseTLS and neither set, a self-signed
	// certificate for Hostname is generated.
	TLSCertificate, TLSPrivateKey *egress.KeySource
	// Hostname names the self-signed certificate (default: the machine's).
	Hostname string
	// RequestBodyLimit bounds a request body after decompression
	// (0: DefaultRequestBodyLimit).
	RequestBodyLimit int64
	// Paths moves the key files the policy names (--share-dir,
	// --etc-dir); nil moves nothing.
	Paths *paths.Map
}

// DecodeListenerParams decodes start_http_listener's parameter table
// (plain data) with KumoMTA's HttpListenerParams schema: unknown keys and
// wrongly typed values are errors naming them. An address that cannot be
// bound is reported as a failed bind, as KumoMTA does.
func DecodeListenerParams(data any) (ListenerParams, error) {
	l, err := kumod.DecodeHTTPListener(data)
	if err != nil {
		if rest, ok := strings.CutPrefix(err.Error(), "kumo.start_http_listener: "); ok {
			m, _ := data.(map[string]any)
			listen, _ := m["listen"].(string)
			return ListenerParams{}, fmt.Errorf("listen on %s: %s", listen, rest)
		}
		return ListenerParams{}, err
	}
	return ListenerParamsOf(l)
}

// ListenerParamsOf converts decoded kumod listener parameters (for
// example those the kumod Recorder kept).
func ListenerParamsOf(l *kumod.HTTPListener) (ListenerParams, error) {
	p := ListenerParams{
		Listen:         l.Listen,
		TrustedHosts:   l.TrustedHosts,
		UseTLS:         l.UseTLS,
		TLSCertificate: l.TLSCertificate,
		TLSPrivateKey:  l.TLSPrivateKey,
		Hostname:       l.Hostname,
	}
	if l.RequestBodyLimit != nil {
		if *l.RequestBodyLimit > math.MaxInt64/2 {
			return p, fmt.Errorf("request_body_limit: %d bytes is too large", *l.RequestBodyLimit)
		}
		p.RequestBodyLimit = int64(*l.RequestBodyLimit)
	}
	return p, nil
}

// DefaultListen is start_http_listener's default listen address.
const DefaultListen = "127.0.0.1:8000"

// Listener is a bound, serving HTTP listener.
type Listener struct {
	Proto string // "http" or "https"
	Addr  string // the bound address (the real port when port 0 was asked for)
	srv   *http.Server
}

// Shutdown stops the listener gracefully (http.Server.Shutdown), closing
// it at once if ctx ends first.
func (l *Listener) Shutdown(ctx context.Context) error {
	if err := l.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		l.srv.Close()
		return fmt.Errorf("%s listener on %s: %w", l.Proto, l.Addr, err)
	}
	return nil
}

// Listen binds p.Listen and serves, in a goroutine, the handler newHandler
// builds from a Config holding the bound address, p's trusted hosts and
// p's body limit (its other fields zero). Serve errors go to logErr.
func Listen(p ListenerParams, newHandler func(Config) (http.Handler, error), logErr func(string)) (*Listener, error) {
	if p.Listen == "" {
		p.Listen = DefaultListen
	}
	var trusted *TrustedHosts
	if p.TrustedHosts != nil {
		t, err := ParseTrustedHosts(p.TrustedHosts)
		if err != nil {
			return nil, err
		}
		trusted = t
	}
	var tlsConf *tls.Config
	if p.UseTLS {
		cert, err := loadCertificate(p)
		if err != nil {
			return nil, err
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	} else if p.TLSCertificate != nil || p.TLSPrivateKey != nil {
		return nil, errors.New("tls_certificate and tls_private_key need use_tls = true")
	}
	ln, err := net.Listen(listenNetwork(p.Listen), p.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", p.Listen, err)
	}
	addr := ln.Addr().String()
	h, err := newHandler(Config{LocalAddr: addr, TrustedHosts: trusted, RequestBodyLimit: p.RequestBodyLimit})
	if err != nil {
		ln.Close()
		return nil, err
	}
	proto := "http"
	if tlsConf != nil {
		proto = "https"
		ln = tls.NewListener(ln, tlsConf)
	}
	l := &Listener{Proto: proto, Addr: addr, srv: &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}}
	go func() {
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && logErr != nil {
			logErr(fmt.Sprintf("%s listener on %s: %v", proto, addr, err))
		}
	}()
	return l, nil
}

// listenNetwork binds an IPv4 address IPv4-only, as KumoMTA does (Go's
// "tcp" would turn 0.0.0.0 into a dual-stack [::]); other addresses use
// "tcp", so [::] is dual-stack as on Linux upstream. IPv4 peers of a
// dual-stack listener reach the handlers as IPv4 addresses, so they match
// 127.0.0.1 in trusted_hosts, where upstream sees ::ffff:127.0.0.1 and
// does not.
func listenNetwork(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "tcp"
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() {
		return "tcp4"
	}
	return "tcp"
}

// loadCertificate loads the certificate and key, or makes a self-signed
// certificate when neither is given.
func loadCertificate(p ListenerParams) (tls.Certificate, error) {
	switch {
	case p.TLSCertificate != nil && p.TLSPrivateKey != nil:
		certPEM, err := keySourceBytes("tls_certificate", p.TLSCertificate, p.Paths)
		if err != nil {
			return tls.Certificate{}, err
		}
		keyPEM, err := keySourceBytes("tls_private_key", p.TLSPrivateKey, p.Paths)
		if err != nil {
			return tls.Certificate{}, err
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return c, fmt.Errorf("loading tls_certificate %s and tls_private_key %s: %w", describeKeySource(p.TLSCertificate), describeKeySource(p.TLSPrivateKey), err)
		}
		return c, nil
	case p.TLSCertificate != nil || p.TLSPrivateKey != nil:
		return tls.Certificate{}, errors.New("use_tls: give both tls_certificate and tls_private_key, or neither for a self-signed certificate")
	}
	host := p.Hostname
	if host == "" {
		h, err := os.Hostname()
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("self-signed certificate: no hostname given and the machine's is unknown: %w", err)
		}
		host = h
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// keySourceBytes reads a KeySource: a file (moved by pm) or inline data.
func keySourceBytes(name string, k *egress.KeySource, pm *paths.Map) ([]byte, error) {
	switch k.Kind {
	case egress.KeyFile:
		b, err := os.ReadFile(pm.Local(k.Path))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return b, nil
	case egress.KeyData:
		return []byte(k.Data), nil
	case egress.KeyVault:
		return nil, fmt.Errorf("%s: HashiCorp Vault key sources are not supported by kumopolicy yet; give a file path or {key_data=...}", name)
	default:
		return nil, fmt.Errorf("%s: event key sources are not supported by kumopolicy yet; give a file path or {key_data=...}", name)
	}
}

// describeKeySource names a key source in messages without its secret.
func describeKeySource(k *egress.KeySource) string {
	if k.Kind == egress.KeyFile {
		return k.Path
	}
	return "(inline data)"
}
