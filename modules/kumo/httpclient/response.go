package httpclient

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Response is a received response. Its status stays available; the body
// is handed out once (Text or Bytes), after which Headers and
// ContentLength fail with ErrBrokenResponse, as KumoMTA's do.
type Response struct {
	status        int
	header        http.Header
	contentLength int64 // -1: unknown
	body          []byte
	consumed      bool
}

func newResponse(resp *http.Response, body []byte) *Response {
	return &Response{status: resp.StatusCode, header: resp.Header, contentLength: resp.ContentLength, body: body}
}

// StatusCode returns the numeric status.
func (r *Response) StatusCode() int { return r.status }

// StatusReason returns the standard reason phrase of the status code (not
// the one the server sent); ok is false for a code without one.
func (r *Response) StatusReason() (reason string, ok bool) {
	return ReasonPhrase(r.status)
}

// ReasonPhrase returns the standard reason phrase of code.
func ReasonPhrase(code int) (string, bool) {
	s := http.StatusText(code)
	return s, s != ""
}

// StatusLine renders code as the http crate displays a status: "404 Not
// Found", or "599 <unknown status code>".
func StatusLine(code int) string {
	reason, ok := ReasonPhrase(code)
	if !ok {
		reason = "<unknown status code>"
	}
	return strconv.Itoa(code) + " " + reason
}

// Header is one response header; names are lower case.
type Header struct{ Name, Value string }

// Headers returns the response headers, names lower-cased and sorted, each
// value of a repeated header as its own entry.
func (r *Response) Headers() ([]Header, error) {
	if r.consumed {
		return nil, ErrBrokenResponse
	}
	names := make([]string, 0, len(r.header))
	for k := range r.header {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []Header
	for _, k := range names {
		lk := strings.ToLower(k)
		for _, v := range r.header[k] {
			out = append(out, Header{lk, v})
		}
	}
	return out, nil
}

// ContentLength returns the length of the body as sent (Content-Length),
// ok false when unknown (no header, or a body decompressed on the way in).
func (r *Response) ContentLength() (n int64, ok bool, err error) {
	if r.consumed {
		return 0, false, ErrBrokenResponse
	}
	if r.contentLength < 0 {
		return 0, false, nil
	}
	return r.contentLength, true, nil
}

// Bytes hands out the raw body, once.
func (r *Response) Bytes() ([]byte, error) {
	if r.consumed {
		return nil, ErrBrokenResponse
	}
	r.consumed = true
	b := r.body
	r.body = nil
	return b, nil
}

// Text hands out the body decoded as text, once: a UTF-8 byte order mark
// is dropped and each malformed sequence becomes U+FFFD. The body is read as
// UTF-8 whatever charset Content-Type names (KumoMTA also decodes other
// charsets; kumopolicy does not yet).
func (r *Response) Text() (string, error) {
	b, err := r.Bytes()
	if err != nil {
		return "", err
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	return toValidUTF8(b), nil
}

// toValidUTF8 replaces each malformed sequence with one U+FFFD, as the
// WHATWG UTF-8 decoder does: a truncated but otherwise valid prefix of a
// sequence counts as one malformed sequence.
func toValidUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			sb.WriteRune(utf8.RuneError)
			b = b[malformedLen(b):]
			continue
		}
		sb.Write(b[:size])
		b = b[size:]
	}
	return sb.String()
}

// malformedLen is the length of the malformed sequence at the start of b:
// its lead byte and the continuation bytes that could still have followed.
func malformedLen(b []byte) int {
	lo, hi, need := byte(0x80), byte(0xBF), 0
	switch c := b[0]; {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c == 0xE0:
		lo, need = 0xA0, 2
	case c == 0xED:
		hi, need = 0x9F, 2
	case c >= 0xE1 && c <= 0xEF:
		need = 2
	case c == 0xF0:
		lo, need = 0x90, 3
	case c == 0xF4:
		hi, need = 0x8F, 3
	case c >= 0xF1 && c <= 0xF3:
		need = 3
	}
	n := 1
	for ; n <= need && n < len(b); n++ {
		if b[n] < lo || b[n] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return n
}
