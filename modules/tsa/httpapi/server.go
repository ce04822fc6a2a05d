package httpapi

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// DefaultRequestBodyLimit is request_body_limit's default: 2 MiB, counted
// after decompression.
const DefaultRequestBodyLimit = 2 * 1024 * 1024

// Access says who may use a route.
type Access int

const (
	// TrustedOnly routes answer 401 to peers outside trusted_hosts.
	TrustedOnly Access = iota
	// Anyone may use the route (GET /tsa/status, the OpenAPI document).
	Anyone
)

// Config configures a Server.
type Config struct {
	// LocalAddr is the listener's bound address as the 401 text names it
	// (http_listener/<LocalAddr>/...), e.g. "0.0.0.0:8008" or "[::1]:8008".
	// Empty: the local address of the request's connection.
	LocalAddr string
	// TrustedHosts may use the TrustedOnly routes. Nil: DefaultTrustedHosts.
	TrustedHosts *TrustedHosts
	// RequestBodyLimit bounds a request body after decompression.
	// 0: DefaultRequestBodyLimit.
	RequestBodyLimit int64
	// Ingester receives the records of POST /publish_log_v1. Required.
	Ingester Ingester
	// EnqueueTimeout bounds how long a publish request waits for room in
	// a full queue; then the record is not queued and the client gets 503
	// (kumod retries a non-2xx answer later). 0: wait as long as the
	// client stays connected, as KumoMTA does.
	EnqueueTimeout time.Duration
	// Metrics receives Received and Rejected counts. Nil: none.
	Metrics Metrics
}

// Server is the daemon's route table: it answers in KumoMTA's order of
// precedence (an unsupported request Content-Encoding, then 404 and 405
// with empty bodies, then the trusted_hosts check, then the route) and
// serves POST /publish_log_v1 and GET /tsa/status. Other routes are added
// with Handle. Safe for concurrent use.
type Server struct {
	cfg     Config
	mu      sync.RWMutex
	routes  map[string]map[string]route // path → method → route
	trusted *TrustedHosts
}

type route struct {
	access  Access
	handler http.Handler
}

// Route paths and texts of the API.
const (
	PublishPath = "/publish_log_v1"
	StatusPath  = "/tsa/status"
	StatusBody  = "TSA Daemon OK"
)

// NewServer returns a Server with the publish and status routes.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Ingester == nil {
		return nil, errors.New("tsa http api: Ingester is required")
	}
	s, err := NewRouter(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Handle(http.MethodPost, PublishPath, TrustedOnly, http.HandlerFunc(s.publish)); err != nil {
		return nil, err
	}
	if err := s.Handle(http.MethodGet, StatusPath, Anyone, http.HandlerFunc(status)); err != nil {
		return nil, err
	}
	return s, nil
}

// NewRouter returns a Server with no routes: the route table, the order
// of answers, trusted_hosts, compression and body limit, for an API of
// another kind (kumopolicy serve's admin API). cfg.Ingester is not used.
func NewRouter(cfg Config) (*Server, error) {
	if cfg.RequestBodyLimit < 0 {
		return nil, fmt.Errorf("tsa http api: request_body_limit %d is negative", cfg.RequestBodyLimit)
	}
	if cfg.RequestBodyLimit == 0 {
		cfg.RequestBodyLimit = DefaultRequestBodyLimit
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	}
	s := &Server{cfg: cfg, routes: map[string]map[string]route{}, trusted: cfg.TrustedHosts}
	if s.trusted == nil {
		t, err := ParseTrustedHosts(DefaultTrustedHosts)
		if err != nil {
			return nil, err
		}
		s.trusted = t
	}
	return s, nil
}

// RequestBodyLimit is the limit a handler should pass to ReadBody.
func (s *Server) RequestBodyLimit() int64 { return s.cfg.RequestBodyLimit }

// Handle adds a route: method on the exact path (no trailing-slash or
// percent-decoding tolerance). A GET route does not serve HEAD: HEAD
// reaches the access check as HEAD, which no route grants, and gets 401.
// The handler sees the request body decompressed, not yet limited: read
// it with ReadBody.
func (s *Server) Handle(method, path string, access Access, h http.Handler) error {
	if method == "" || !strings.HasPrefix(path, "/") || h == nil {
		return fmt.Errorf("tsa http api: bad route %q %q", method, path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.routes[path]
	if m == nil {
		m = map[string]route{}
		s.routes[path] = m
	}
	if _, dup := m[method]; dup {
		return fmt.Errorf("tsa http api: route %s %s is already registered", method, path)
	}
	m[method] = route{access: access, handler: h}
	return nil
}

// RouteInfo names one route of the table.
type RouteInfo struct {
	Method, Path string
	Access       Access
}

// Routes lists the routes added so far, sorted by path and method.
func (s *Server) Routes() []RouteInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []RouteInfo
	for path, methods := range s.routes {
		for m, rt := range methods {
			out = append(out, RouteInfo{Method: m, Path: path, Access: rt.access})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

func status(w http.ResponseWriter, r *http.Request) {
	writeText(w, http.StatusOK, StatusBody)
}

// WriteText answers code with a text/plain body.
func WriteText(w http.ResponseWriter, code int, body string) { writeText(w, code, body) }

// writeText answers code with a text/plain body.
func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// ServeHTTP dispatches r. A response body of at least CompressMinSize
// bytes is compressed (gzip or deflate, fastest level) when the request's
// Accept-Encoding allows one of them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if enc := responseEncoding(r.Header.Values("Accept-Encoding")); enc != "" {
		cw := newCompressWriter(w, enc)
		defer cw.finish()
		w = cw
	}
	path := r.URL.EscapedPath()
	isPublish := path == PublishPath
	if !supportedEncoding(r.Header.Values("Content-Encoding")) {
		if isPublish {
			s.cfg.Metrics.Rejected(RejectContentEncoding)
		}
		w.Header().Set("Accept-Encoding", "gzip,deflate")
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return
	}
	s.mu.RLock()
	methods := s.routes[path]
	rt, ok := methods[r.Method]
	allow := allowHeader(methods)
	s.mu.RUnlock()
	if methods == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	if !ok {
		if _, get := methods[http.MethodGet]; !get || r.Method != http.MethodHead {
			w.Header().Set("Allow", allow)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		// HEAD on a GET route: the access check refuses it to everyone.
		rt = route{access: TrustedOnly}
	}
	peer, peerOK := peerAddr(r)
	trusted := peerOK && s.trusted.Contains(peer) && rt.handler != nil
	if !trusted && (rt.access != Anyone || rt.handler == nil) {
		if isPublish {
			s.cfg.Metrics.Rejected(RejectUnauthorized)
		}
		ip := r.RemoteAddr
		if peerOK {
			ip = peer.Unmap().String()
		}
		writeText(w, http.StatusUnauthorized, fmt.Sprintf("<Unauthenticated>@ ip=%s not permitted %s on %s",
			ip, r.Method, resourceID(s.localAddr(r), path)))
		return
	}
	if enc := r.Header.Get("Content-Encoding"); enc == "gzip" || enc == "deflate" {
		r.Body = &decodingBody{raw: r.Body, gzip: enc == "gzip"}
	}
	rt.handler.ServeHTTP(w, r)
}

func supportedEncoding(values []string) bool {
	switch len(values) {
	case 0:
		return true
	case 1:
		switch values[0] {
		case "gzip", "deflate", "identity":
			return true
		}
	}
	return false
}

func allowHeader(methods map[string]route) string {
	var ms []string
	for m := range methods {
		ms = append(ms, m)
		if m == http.MethodGet {
			ms = append(ms, http.MethodHead)
		}
	}
	sort.Strings(ms)
	return strings.Join(ms, ",")
}

func peerAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr(), true
}

func (s *Server) localAddr(r *http.Request) string {
	if s.cfg.LocalAddr != "" {
		return s.cfg.LocalAddr
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return "*"
}

// resourceID names the request as the 401 text does:
// http_listener/<local-addr>/<path>, the path cut to 256 bytes and 10
// components.
func resourceID(local, path string) string {
	p := strings.TrimPrefix(path, "/")
	if len(p) > 256 {
		p = p[:256]
	}
	if parts := strings.Split(p, "/"); len(parts) > 10 {
		p = strings.Join(parts[:10], "/")
	}
	return "http_listener/" + local + "/" + p
}

// decodingBody decompresses a request body on first read, so that a
// corrupt body is found while reading it (400), after the checks that
// come before.
type decodingBody struct {
	raw  io.ReadCloser
	gzip bool
	dec  io.Reader
	err  error
}

func (b *decodingBody) Read(p []byte) (int, error) {
	if b.dec == nil && b.err == nil {
		if b.gzip {
			b.dec, b.err = gzip.NewReader(b.raw)
		} else {
			b.dec, b.err = zlib.NewReader(b.raw)
		}
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.dec.Read(p)
}

func (b *decodingBody) Close() error { return b.raw.Close() }

// errTooLarge reports a body over the limit.
var errTooLarge = errors.New("length limit exceeded")

// ReadBody reads r's (decompressed) body up to limit bytes. Over the limit
// it returns an error for which IsTooLarge is true.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Header.Get("Content-Encoding") == "" || r.Header.Get("Content-Encoding") == "identity" {
		if r.ContentLength > limit {
			return nil, errTooLarge
		}
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// IsTooLarge reports whether err is ReadBody's over-the-limit error.
func IsTooLarge(err error) bool { return errors.Is(err, errTooLarge) }
