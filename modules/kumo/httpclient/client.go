// Package httpclient is the Lua-free core of kumo.http: an HTTP client
// with a connection pool and per-request timeouts, a one-shot request
// builder, responses whose status is captured when they arrive, and a
// websocket stream read by a goroutine of its own.
//
// Error texts are KumoMTA's where Lua code may look at them: "client was
// closed", "broken request builder", "broken response wrapper",
// "websocket closed", and "HTTP error: <code> <reason>" for a websocket
// handshake answered with anything but 101.
package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Defaults of kumo.http.build_client.
const (
	DefaultTimeout         = 60 * time.Second
	DefaultPoolIdleTimeout = 90 * time.Second
)

// Errors whose texts Lua code may depend on.
var (
	ErrClientClosed   = errors.New("client was closed")
	ErrBrokenRequest  = errors.New("broken request builder")
	ErrBrokenResponse = errors.New("broken response wrapper")
	ErrStreamClosed   = errors.New("websocket closed")
)

// Options are kumo.http.build_client's parameters.
type Options struct {
	Timeout            time.Duration // per request, connect to end of body; default 60 s
	PoolIdleTimeout    time.Duration // idle pooled connections are closed after this; default 90 s
	UserAgent          string        // User-Agent of every request; empty sends none
	AcceptInvalidCerts bool          // skip TLS certificate verification
	ConnectionVerbose  bool          // log connection events at debug level (target "reqwest")
}

// DefaultOptions returns the options of build_client{}.
func DefaultOptions() Options {
	return Options{Timeout: DefaultTimeout, PoolIdleTimeout: DefaultPoolIdleTimeout}
}

// DecodeOptions reads build_client's table (plain data). Unknown keys are
// ignored, as KumoMTA does; durations are humantime strings or seconds.
func DecodeOptions(v any) (Options, error) {
	o := DefaultOptions()
	if v == nil {
		return o, nil
	}
	if seq, ok := v.([]any); ok && len(seq) == 0 {
		return o, nil
	}
	m, err := plain.AsMap(v, "struct ClientParams")
	if err != nil {
		return o, err
	}
	obj := plain.NewObject(m)
	dur := func(dst *time.Duration) func(any) error {
		return func(v any) error {
			d, err := plain.DecodeDuration(v)
			*dst = d
			return err
		}
	}
	boolean := func(dst *bool) func(any) error {
		return func(v any) error {
			b, err := plain.DecodeBool(v)
			*dst = b
			return err
		}
	}
	for _, step := range []error{
		obj.Optional("timeout", dur(&o.Timeout)),
		obj.Optional("pool_idle_timeout", dur(&o.PoolIdleTimeout)),
		obj.Optional("user_agent", func(v any) (err error) { o.UserAgent, err = plain.DecodeString(v); return }),
		obj.Optional("accept_invalid_certs", boolean(&o.AcceptInvalidCerts)),
		obj.Optional("connection_verbose", boolean(&o.ConnectionVerbose)),
	} {
		if step != nil {
			return o, step
		}
	}
	return o, nil
}

// Client is a kumo.http client: a connection pool shared by its requests.
// It is safe for concurrent use.
type Client struct {
	opts   Options
	tr     *http.Transport
	hc     *http.Client
	logger *slog.Logger
	closed atomic.Bool
}

// New builds a client. logger receives the connection_verbose diagnostics
// (nil: slog.Default()).
func New(o Options, logger *slog.Logger) *Client {
	if logger == nil {
		logger = slog.Default()
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.IdleConnTimeout = o.PoolIdleTimeout
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns // reqwest keeps every idle connection
	if o.AcceptInvalidCerts {
		tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	}
	return &Client{opts: o, tr: tr, hc: &http.Client{Transport: tr}, logger: logger}
}

// Options returns the client's options.
func (c *Client) Options() Options { return c.opts }

// Close closes the pooled connections; later requests fail with
// ErrClientClosed.
func (c *Client) Close() {
	c.closed.Store(true)
	c.tr.CloseIdleConnections()
}

// Closed reports whether Close was called.
func (c *Client) Closed() bool { return c.closed.Load() }

// NewRequest starts a request builder for method and rawURL.
func (c *Client) NewRequest(method, rawURL string) (*Request, error) {
	if c.Closed() {
		return nil, ErrClientClosed
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("builder error: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("builder error: URL scheme is not allowed: %q", rawURL)
	}
	return &Request{client: c, method: method, url: u, header: http.Header{}, timeout: c.opts.Timeout}, nil
}

// Request is a one-shot request builder.
type Request struct {
	client  *Client
	method  string
	url     *url.URL
	header  http.Header
	body    []byte
	timeout time.Duration
	sent    bool
}

// Header adds a header (a second call with the same name adds a value).
func (r *Request) Header(name, value string) error {
	if r.sent {
		return ErrBrokenRequest
	}
	r.header.Add(name, value)
	return nil
}

// Headers sets each name to its value, replacing earlier values.
func (r *Request) Headers(h map[string]string) error {
	if r.sent {
		return ErrBrokenRequest
	}
	for k, v := range h {
		r.header.Set(k, v)
	}
	return nil
}

// Body sets the request body.
func (r *Request) Body(b []byte) error {
	if r.sent {
		return ErrBrokenRequest
	}
	r.body = b
	return nil
}

// Timeout replaces the client's timeout for this request.
func (r *Request) Timeout(d time.Duration) error {
	if r.sent {
		return ErrBrokenRequest
	}
	r.timeout = d
	return nil
}

// BasicAuth sets an Authorization: Basic header; a nil password sends
// "user:" as reqwest does.
func (r *Request) BasicAuth(user string, password *string) error {
	if r.sent {
		return ErrBrokenRequest
	}
	req := http.Request{Header: http.Header{}}
	pw := ""
	if password != nil {
		pw = *password
	}
	req.SetBasicAuth(user, pw)
	r.header.Set("Authorization", req.Header.Get("Authorization"))
	return nil
}

// BearerAuth sets an Authorization: Bearer header.
func (r *Request) BearerAuth(token string) error {
	if r.sent {
		return ErrBrokenRequest
	}
	r.header.Set("Authorization", "Bearer "+token)
	return nil
}

// FormURLEncoded sets the body to params, application/x-www-form-urlencoded
// (keys sorted, for a stable body).
func (r *Request) FormURLEncoded(params map[string]string) error {
	if r.sent {
		return ErrBrokenRequest
	}
	v := url.Values{}
	for k, s := range params {
		v.Set(k, s)
	}
	r.body = []byte(v.Encode())
	r.header.Set("Content-Type", "application/x-www-form-urlencoded")
	return nil
}

// FormMultipart sets the body to params as multipart/form-data, keys
// sorted; a value that is not valid UTF-8 is sent as an
// application/octet-stream part.
func (r *Request) FormMultipart(params map[string]string) error {
	if r.sent {
		return ErrBrokenRequest
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := params[k]
		if utf8.ValidString(v) {
			if err := w.WriteField(k, v); err != nil {
				return err
			}
			continue
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q`, k)}
		h["Content-Type"] = []string{"application/octet-stream"}
		part, err := w.CreatePart(h)
		if err != nil {
			return err
		}
		if _, err := part.Write([]byte(v)); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	r.body = buf.Bytes()
	r.header.Set("Content-Type", w.FormDataContentType())
	return nil
}

// Send performs the request under ctx and the request's timeout, which
// covers connecting, the response and its whole body; the body is read
// before Send returns. A builder can be sent once: later calls fail with
// ErrBrokenRequest. Non-2xx statuses are not errors.
func (r *Request) Send(ctx context.Context) (*Response, error) {
	if r.sent {
		return nil, ErrBrokenRequest
	}
	r.sent = true
	c := r.client
	if c.Closed() {
		return nil, ErrClientClosed
	}
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	if c.opts.ConnectionVerbose {
		ctx = httptrace.WithClientTrace(ctx, c.trace(r.url))
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		return nil, fmt.Errorf("builder error: %v", err)
	}
	req.Header = r.header.Clone()
	if _, set := req.Header["User-Agent"]; !set {
		req.Header.Set("User-Agent", c.opts.UserAgent) // empty: none sent
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, requestError(r, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, requestError(r, fmt.Errorf("error decoding response body: %w", err))
	}
	return newResponse(resp, data), nil
}

// requestError words a failed request like reqwest: what failed and for
// which URL.
func requestError(r *Request, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	kind := "error sending request"
	if errors.Is(err, context.DeadlineExceeded) {
		kind = "operation timed out"
	} else if errors.Is(err, context.Canceled) {
		kind = "request cancelled"
	}
	return &RequestError{Kind: kind, URL: r.url.String(), Err: err}
}

// RequestError is a failed send.
type RequestError struct {
	Kind string
	URL  string
	Err  error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("%s for url (%s): %v", e.Kind, e.URL, e.Err)
}

func (e *RequestError) Unwrap() error { return e.Err }

func (c *Client) trace(u *url.URL) *httptrace.ClientTrace {
	log := func(msg string, args ...any) {
		c.logger.Debug(msg, append([]any{"target", "reqwest", "url", u.String()}, args...)...)
	}
	return &httptrace.ClientTrace{
		GetConn: func(hostPort string) { log("getting connection", "host", hostPort) },
		GotConn: func(info httptrace.GotConnInfo) {
			log("got connection", "remote", info.Conn.RemoteAddr().String(), "reused", info.Reused)
		},
		ConnectDone: func(network, addr string, err error) {
			if err != nil {
				log("connect failed", "addr", addr, "error", err.Error())
				return
			}
			log("connected", "addr", addr)
		},
		TLSHandshakeDone: func(s tls.ConnectionState, err error) {
			if err != nil {
				log("TLS handshake failed", "error", err.Error())
				return
			}
			log("TLS handshake done", "version", tls.VersionName(s.Version))
		},
	}
}

// BuildURL appends params to base's query, in key order (kumo.http.build_url).
func BuildURL(base string, params map[string]string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("invalid URL %q: %v", base, err)
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(u.RawQuery)
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(params[k]))
	}
	u.RawQuery = b.String()
	return u.String(), nil
}
