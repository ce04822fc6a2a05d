package daemon

import (
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

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// DefaultListen is start_http_listener's default listen address.
const DefaultListen = "127.0.0.1:8000"

// ListenerParams are tsa.start_http_listener's parameters.
type ListenerParams struct {
	Listen string
	// TrustedHosts: IPs and CIDRs; nil means httpapi.DefaultTrustedHosts.
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
	// (0: httpapi.DefaultRequestBodyLimit).
	RequestBodyLimit int64
}

type listener struct {
	proto string // "http" or "https"
	addr  string // the bound address
	srv   *http.Server
}

func (d *Daemon) openModule(s *luart.State) lua.LValue {
	L := s.L
	mod := L.NewTable()
	mod.RawSetString("start_http_listener", L.NewFunction(d.luaStartListener))
	mod.RawSetString("configure_tsa_db_path", L.NewFunction(d.luaConfigureDBPath))
	return mod
}

func (d *Daemon) luaConfigureDBPath(L *lua.LState) int {
	path := L.CheckString(1)
	d.mu.Lock()
	d.dbPath = path
	d.mu.Unlock()
	return 0
}

func (d *Daemon) luaStartListener(L *lua.LState) int {
	p, err := parseListenerParams(L.Get(1))
	if err != nil {
		L.RaiseError("tsa.start_http_listener: %s", err.Error())
	}
	if _, err := d.StartListener(p); err != nil {
		L.RaiseError("tsa.start_http_listener: %s", err.Error())
	}
	return 0
}

// parseListenerParams decodes start_http_listener's table with the schema
// kumod's start_http_listener shares (KumoMTA's HttpListenerParams):
// unknown keys and wrongly typed values are errors naming them.
func parseListenerParams(v lua.LValue) (ListenerParams, error) {
	if _, ok := v.(*lua.LTable); !ok {
		return ListenerParams{}, fmt.Errorf("expected a table of parameters, got %s", v.Type())
	}
	data, err := luart.ToGo(v)
	if err != nil {
		return ListenerParams{}, err
	}
	l, err := kumod.DecodeHTTPListener(data)
	if err != nil {
		// An address that cannot be bound is reported as a failed bind,
		// as KumoMTA's tsa-daemon does.
		if rest, ok := strings.CutPrefix(err.Error(), "kumo.start_http_listener: "); ok {
			listen, _ := data.(map[string]any)["listen"].(string)
			return ListenerParams{}, fmt.Errorf("listen on %s: %s", listen, rest)
		}
		return ListenerParams{}, err
	}
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

// StartListener binds p.Listen and serves the API on it. It returns the
// bound address (the real port when p.Listen asked for port 0) and logs
// "http listener on ADDR" ("https ..." with TLS).
func (d *Daemon) StartListener(p ListenerParams) (string, error) {
	if p.Listen == "" {
		p.Listen = DefaultListen
	}
	var trusted *httpapi.TrustedHosts
	if p.TrustedHosts != nil {
		t, err := httpapi.ParseTrustedHosts(p.TrustedHosts)
		if err != nil {
			return "", err
		}
		trusted = t
	}
	var tlsConf *tls.Config
	if p.UseTLS {
		cert, err := loadCertificate(p)
		if err != nil {
			return "", err
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	} else if p.TLSCertificate != nil || p.TLSPrivateKey != nil {
		return "", errors.New("tls_certificate and tls_private_key need use_tls = true")
	}
	ln, err := net.Listen(listenNetwork(p.Listen), p.Listen)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", p.Listen, err)
	}
	addr := ln.Addr().String()
	api, err := d.newAPI(httpapi.Config{
		LocalAddr:        addr,
		TrustedHosts:     trusted,
		RequestBodyLimit: p.RequestBodyLimit,
	})
	if err != nil {
		ln.Close()
		return "", err
	}
	proto := "http"
	if tlsConf != nil {
		proto = "https"
		ln = tls.NewListener(ln, tlsConf)
	}
	l := &listener{proto: proto, addr: addr, srv: &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          nil,
	}}
	d.mu.Lock()
	d.listeners = append(d.listeners, l)
	d.mu.Unlock()
	go func() {
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error(fmt.Sprintf("%s listener on %s: %v", proto, addr, err))
		}
	}()
	d.log.Info(fmt.Sprintf("%s listener on %s", proto, addr))
	return addr, nil
}

// newAPI is the route table every listener serves: httpapi's publish and
// status routes, the engine's outputs and websockets, the admin routes,
// /metrics and the OpenAPI document. cfg's Ingester and Metrics are the
// daemon's.
func (d *Daemon) newAPI(cfg httpapi.Config) (*httpapi.Server, error) {
	cfg.Ingester = d.queue
	cfg.Metrics = d.metrics
	api, err := httpapi.NewServer(cfg)
	if err != nil {
		return nil, err
	}
	for _, add := range []func(*httpapi.Server) error{d.addRoutes, d.addMetricsRoute, d.addOpenAPIRoute} {
		if err := add(api); err != nil {
			return nil, err
		}
	}
	return api, nil
}

// loadCertificate loads the certificate and key, or makes a self-signed
// certificate when neither is given.
func loadCertificate(p ListenerParams) (tls.Certificate, error) {
	switch {
	case p.TLSCertificate != nil && p.TLSPrivateKey != nil:
		certPEM, err := keySourceBytes("tls_certificate", p.TLSCertificate)
		if err != nil {
			return tls.Certificate{}, err
		}
		keyPEM, err := keySourceBytes("tls_private_key", p.TLSPrivateKey)
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

// keySourceBytes reads a KeySource: a file or inline data.
func keySourceBytes(name string, k *egress.KeySource) ([]byte, error) {
	switch k.Kind {
	case egress.KeyFile:
		b, err := os.ReadFile(k.Path)
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
