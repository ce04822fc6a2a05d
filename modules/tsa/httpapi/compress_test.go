package httpapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestResponseEncoding(t *testing.T) {
	for _, c := range []struct {
		header []string
		want   string
	}{
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"gzip"}, "gzip"},
		{[]string{"deflate"}, "deflate"},
		{[]string{"GZip"}, "gzip"},
		{[]string{"x-gzip"}, "gzip"},
		{[]string{"br"}, ""},
		{[]string{"identity"}, ""},
		{[]string{"*"}, ""},
		{[]string{"zstd, br"}, ""},
		{[]string{"gzip, deflate"}, "gzip"},
		{[]string{"deflate, gzip"}, "deflate"},
		{[]string{"br, deflate"}, "deflate"},
		{[]string{"gzip;q=0"}, ""},
		{[]string{"gzip;q=0.5, deflate"}, "deflate"},
		{[]string{"gzip;q=0.8", "deflate;q=0.9"}, "deflate"},
		{[]string{"gzip ; q=1.0 , deflate;q=1"}, "gzip"},
		{[]string{"gzip;q=abc"}, ""},
		{[]string{"gzip;q=2"}, ""},
	} {
		if got := responseEncoding(c.header); got != c.want {
			t.Errorf("Accept-Encoding %q: %q, want %q", c.header, got, c.want)
		}
	}
}

// decode undoes a response's Content-Encoding.
func decode(t *testing.T, a answer) string {
	t.Helper()
	var r io.Reader
	var err error
	switch enc := a.header.Get("Content-Encoding"); enc {
	case "":
		return a.body
	case "gzip":
		r, err = gzip.NewReader(strings.NewReader(a.body))
	case "deflate":
		r, err = zlib.NewReader(strings.NewReader(a.body))
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	if err != nil {
		t.Fatalf("%s body: %v", a.header.Get("Content-Encoding"), err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", a.header.Get("Content-Encoding"), err)
	}
	return string(b)
}

func TestResponseCompression(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	// /w/N writes N bytes in two writes; /flush/N flushes after them.
	body := func(n int) string { return strings.Repeat("abcdefghij", 10)[:n] }
	for _, n := range []int{0, 1, 31, 32, 33, 100} {
		n := n
		s.Handle("GET", "/w/"+string(rune('a'+n%26))+itoa(n), Anyone, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, body(n)[:n/2])
			io.WriteString(w, body(n)[n/2:])
		}))
	}
	s.Handle("GET", "/flush", Anyone, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "short")
		w.(http.Flusher).Flush()
		io.WriteString(w, strings.Repeat("x", 40))
	}))
	s.Handle("GET", "/own", Anyone, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz(t, []byte(strings.Repeat("y", 50))))
	}))
	s.Handle("GET", "/length", Anyone, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "40")
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, strings.Repeat("z", 40))
	}))

	get := func(path, remote, accept string) answer {
		h := map[string]string{}
		if accept != "" {
			h["Accept-Encoding"] = accept
		}
		return serve(s, req{method: "GET", path: path, remote: remote, header: h})
	}
	for _, n := range []int{0, 1, 31, 32, 33, 100} {
		path := "/w/" + string(rune('a'+n%26)) + itoa(n)
		for _, enc := range []string{"gzip", "deflate"} {
			a := get(path, "", enc)
			wantEnc := enc
			if n < CompressMinSize {
				wantEnc = ""
			}
			if got := a.header.Get("Content-Encoding"); got != wantEnc {
				t.Errorf("%d-byte body, Accept-Encoding %s: Content-Encoding %q, want %q", n, enc, got, wantEnc)
			}
			if got := decode(t, a); got != body(n) || a.code != 200 {
				t.Errorf("%d-byte body, %s: %d %q", n, enc, a.code, got)
			}
			if wantEnc != "" && (a.header.Get("Vary") != "Accept-Encoding" || a.header.Get("Content-Type") != "text/plain") {
				t.Errorf("%d-byte body, %s: headers %v", n, enc, a.header)
			}
		}
		if a := get(path, "", ""); a.header.Get("Content-Encoding") != "" || a.body != body(n) {
			t.Errorf("%d-byte body without Accept-Encoding: %v %q", n, a.header, a.body)
		}
		if a := get(path, "", "br"); a.header.Get("Content-Encoding") != "" || a.body != body(n) {
			t.Errorf("%d-byte body, Accept-Encoding br: %v %q", n, a.header, a.body)
		}
	}

	// GET /tsa/status is 13 bytes: never compressed.
	if a := get(StatusPath, "", "gzip"); a.body != StatusBody || a.header.Get("Content-Encoding") != "" {
		t.Errorf("status: %v %q", a.header, a.body)
	}
	// A 401 text is long enough, and compressed like any other answer.
	a := get(StatusPath+"x", "", "gzip")
	if a.code != 404 || a.body != "" || a.header.Get("Content-Encoding") != "" {
		t.Errorf("404: %d %v %q", a.code, a.header, a.body)
	}
	s.Handle("GET", "/private", TrustedOnly, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	a = get("/private", "192.0.2.7:1", "deflate")
	if want := "<Unauthenticated>@ ip=192.0.2.7 not permitted GET on http_listener/127.0.0.1:8008/private"; a.code != 401 ||
		a.header.Get("Content-Encoding") != "deflate" || decode(t, a) != want {
		t.Errorf("401: %d %v %q", a.code, a.header, decode(t, a))
	}
	// 405 with an Allow header and an empty body.
	if a := serve(s, req{method: "POST", path: StatusPath, header: map[string]string{"Accept-Encoding": "gzip"}}); a.code != 405 ||
		a.body != "" || a.header.Get("Content-Encoding") != "" || a.header.Get("Allow") != "GET,HEAD" {
		t.Errorf("405: %d %v %q", a.code, a.header, a.body)
	}
	// A body flushed while still short is committed uncompressed.
	if a := get("/flush", "", "gzip"); a.header.Get("Content-Encoding") != "" || a.body != "short"+strings.Repeat("x", 40) {
		t.Errorf("flushed: %v %q", a.header, a.body)
	}
	// A handler that encodes its own body is left alone.
	if a := get("/own", "", "deflate"); a.header.Get("Content-Encoding") != "gzip" || decode(t, a) != strings.Repeat("y", 50) {
		t.Errorf("own encoding: %v %q", a.header, a.body)
	}
	// A declared length is dropped when the body is compressed.
	if a := get("/length", "", "gzip"); a.code != 202 || a.header.Get("Content-Length") != "" || decode(t, a) != strings.Repeat("z", 40) {
		t.Errorf("declared length: %d %v", a.code, a.header)
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// hijackRecorder is a ResponseWriter that can be hijacked.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	a, b := net.Pipe()
	b.Close()
	return a, bufio.NewReadWriter(bufio.NewReader(a), bufio.NewWriter(a)), nil
}

func TestCompressedRouteCanHijack(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	var hjErr error
	s.Handle("GET", "/ws", Anyone, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var conn net.Conn
		conn, _, hjErr = http.NewResponseController(w).Hijack()
		if conn != nil {
			conn.Close()
		}
	}))
	r := httptest.NewRequest("GET", "/ws", nil)
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("Accept-Encoding", "gzip")
	rec := &hijackRecorder{ResponseRecorder: httptest.NewRecorder()}
	s.ServeHTTP(rec, r)
	if hjErr != nil || !rec.hijacked {
		t.Fatalf("hijack through the compressing writer: %v", hjErr)
	}
	if rec.Body.Len() != 0 || bytes.Contains(rec.Body.Bytes(), []byte{0x1f, 0x8b}) {
		t.Errorf("the compressing writer wrote after the hijack: %q", rec.Body.String())
	}
}
