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
	// TLSCertificate and TLSPrivateKey are PEM file paths. With UseTLS and
	// neither set, a self-signed certificate for Hostname is generated.
	TLSCertificate, TLSPrivateKey string
	// Hostname names the self-signed certificate (default: the machine's).
	Hostname string
	// RequestBodyLimit bounds a request body after decompression
	// (0: httpapi.DefaultRequestBodyLimit).
	RequestBodyLimit int64
}

var listenerKeys = []string{"listen", "trusted_hosts", "use_tls", "tls_certificate", "tls_private_key", "hostname", "request_body_limit"}

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

// parseListenerParams decodes start_http_listener's table; unknown keys
// and wrongly typed values are errors naming them.
func parseListenerParams(v lua.LValue) (ListenerParams, error) {
	p := ListenerParams{Listen: DefaultListen}
	t, ok := v.(*lua.LTable)
	if !ok {
		return p, fmt.Errorf("expected a table of parameters, got %s", v.Type())
	}
	var err error
	t.ForEach(func(k, val lua.LValue) {
		if err != nil {
			return
		}
		key, ok := k.(lua.LString)
		if !ok {
			err = fmt.Errorf("invalid key %s: parameter names are strings", k.String())
			return
		}
		str := func() (string, error) {
			if s, ok := val.(lua.LString); ok {
				return string(s), nil
			}
			return "", fmt.Errorf("%s: expected a string, got %s", key, val.Type())
		}
		switch key {
		case "listen":
			p.Listen, err = str()
		case "hostname":
			p.Hostname, err = str()
		case "use_tls":
			b, ok := val.(lua.LBool)
			if !ok {
				err = fmt.Errorf("use_tls: expected a boolean, got %s", val.Type())
				return
			}
			p.UseTLS = bool(b)
		case "tls_certificate", "tls_private_key":
			if _, isTable := val.(*lua.LTable); isTable {
				err = fmt.Errorf("%s: key sources given as a table (inline data, HashiCorp Vault) are not supported yet; give a file path", key)
				return
			}
			var s string
			if s, err = str(); err == nil {
				if key == "tls_certificate" {
					p.TLSCertificate = s
				} else {
					p.TLSPrivateKey = s
				}
			}
		case "trusted_hosts":
			lt, ok := val.(*lua.LTable)
			if !ok {
				err = fmt.Errorf("trusted_hosts: expected a list of IPs and CIDRs, got %s", val.Type())
				return
			}
			hosts := []string{}
			for i := 1; i <= lt.Len(); i++ {
				s, ok := lt.RawGetInt(i).(lua.LString)
				if !ok {
					err = fmt.Errorf("trusted_hosts[%d]: expected a string, got %s", i, lt.RawGetInt(i).Type())
					return
				}
				hosts = append(hosts, string(s))
			}
			p.TrustedHosts = hosts
		case "request_body_limit":
			n, ok := val.(lua.LNumber)
			f := float64(n)
			if !ok || f < 0 || f != math.Trunc(f) || f > math.MaxInt64/2 {
				err = fmt.Errorf("request_body_limit: expected a non-negative whole number of bytes, got %s", val.String())
				return
			}
			p.RequestBodyLimit = int64(f)
		default:
			err = fmt.Errorf("unknown field `%s`, expected one of `%s`", key, strings.Join(listenerKeys, "`, `"))
		}
	})
	return p, err
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
	} else if p.TLSCertificate != "" || p.TLSPrivateKey != "" {
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

// loadCertificate loads the PEM files, or makes a self-signed certificate
// when neither is given.
func loadCertificate(p ListenerParams) (tls.Certificate, error) {
	switch {
	case p.TLSCertificate != "" && p.TLSPrivateKey != "":
		c, err := tls.LoadX509KeyPair(p.TLSCertificate, p.TLSPrivateKey)
		if err != nil {
			return c, fmt.Errorf("loading tls_certificate %s and tls_private_key %s: %w", p.TLSCertificate, p.TLSPrivateKey, err)
		}
		return c, nil
	case p.TLSCertificate != "" || p.TLSPrivateKey != "":
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
