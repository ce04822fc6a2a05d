package httpapi

import (
	"bufio"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// CompressMinSize is the smallest response body that is compressed: the
// daemon compresses a body of at least this many bytes (spec tsa.md §11),
// so "TSA Daemon OK" and the empty bodies are always sent as they are.
const CompressMinSize = 32

// responseEncoding picks the response encoding from Accept-Encoding:
// "gzip" or "deflate" (zlib format, as HTTP's deflate is), the first of
// the two with the highest q-value; "" when neither is acceptable
// (absent, q=0, or only other codings such as br or identity).
func responseEncoding(values []string) string {
	best, bestQ := "", 0.0
	for _, v := range values {
		for _, item := range strings.Split(v, ",") {
			name, params, _ := strings.Cut(item, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			switch name {
			case "x-gzip":
				name = "gzip"
			case "gzip", "deflate":
			default:
				continue
			}
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
					continue
				}
				f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
				if err != nil || f < 0 || f > 1 {
					f = 0 // a malformed weight does not select the coding
				}
				q = f
			}
			if q > bestQ {
				best, bestQ = name, q
			}
		}
	}
	return best
}

// compressWriter compresses a response body of at least CompressMinSize
// bytes. It holds back the status and the first bytes until it knows the
// size: a body that ends (or is flushed) short of the threshold is sent
// uncompressed. A handler that sets Content-Encoding itself, or answers
// 1xx or 204/304, is passed through untouched, and a hijacked connection
// (websocket) is the handler's.
type compressWriter struct {
	w        http.ResponseWriter
	encoding string
	status   int
	buf      []byte
	enc      io.WriteCloser // non-nil once compressing
	decided  bool           // headers sent (compressed or not)
	hijacked bool
}

func newCompressWriter(w http.ResponseWriter, encoding string) *compressWriter {
	return &compressWriter{w: w, encoding: encoding}
}

func (c *compressWriter) Header() http.Header { return c.w.Header() }

func (c *compressWriter) WriteHeader(code int) {
	if c.decided || c.status != 0 {
		return
	}
	if code < 200 {
		c.w.WriteHeader(code) // informational: not the final answer
		return
	}
	c.status = code
	if code == http.StatusNoContent || code == http.StatusNotModified || c.w.Header().Get("Content-Encoding") != "" {
		c.pass()
		return
	}
	if cl := c.w.Header().Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n < CompressMinSize {
			c.pass()
		}
	}
}

// pass sends the headers with the body as it is.
func (c *compressWriter) pass() {
	c.decided = true
	c.w.WriteHeader(c.status)
	if len(c.buf) > 0 {
		c.w.Write(c.buf)
		c.buf = nil
	}
}

// compress sends the headers of a compressed body and starts it.
func (c *compressWriter) compress() error {
	c.decided = true
	h := c.w.Header()
	h.Del("Content-Length")
	h.Del("Accept-Ranges")
	h.Set("Content-Encoding", c.encoding)
	h.Add("Vary", "Accept-Encoding")
	c.w.WriteHeader(c.status)
	if c.encoding == "gzip" {
		c.enc, _ = gzip.NewWriterLevel(c.w, gzip.BestSpeed)
	} else {
		c.enc, _ = zlib.NewWriterLevel(c.w, zlib.BestSpeed)
	}
	buf := c.buf
	c.buf = nil
	_, err := c.enc.Write(buf)
	return err
}

func (c *compressWriter) Write(p []byte) (int, error) {
	if c.hijacked {
		return 0, http.ErrHijacked
	}
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	switch {
	case c.enc != nil:
		return c.enc.Write(p)
	case c.decided:
		return c.w.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= CompressMinSize {
		if err := c.compress(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush sends what is held back: below the threshold the body is
// committed uncompressed, since more of it may never come.
func (c *compressWriter) Flush() {
	if c.hijacked {
		return
	}
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if !c.decided {
		c.pass()
	}
	if f, ok := c.enc.(interface{ Flush() error }); ok {
		f.Flush()
	}
	http.NewResponseController(c.w).Flush()
}

// finish completes the response once the handler has returned.
func (c *compressWriter) finish() {
	if c.hijacked {
		return
	}
	if c.status == 0 {
		c.status = http.StatusOK
		if len(c.buf) == 0 {
			// The handler wrote nothing: let net/http answer as it would.
			return
		}
	}
	if !c.decided {
		c.pass()
	}
	if c.enc != nil {
		c.enc.Close()
	}
}

func (c *compressWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if c.decided {
		return nil, nil, errors.New("tsa http api: cannot hijack a connection whose response has begun")
	}
	conn, brw, err := http.NewResponseController(c.w).Hijack()
	if err == nil {
		c.hijacked = true
	}
	return conn, brw, err
}

// Unwrap gives http.ResponseController the underlying writer.
func (c *compressWriter) Unwrap() http.ResponseWriter { return c.w }
