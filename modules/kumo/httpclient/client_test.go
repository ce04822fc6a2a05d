package httpclient

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestDecodeOptions(t *testing.T) {
	o, err := DecodeOptions(nil)
	if err != nil || o.Timeout != DefaultTimeout || o.PoolIdleTimeout != DefaultPoolIdleTimeout {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err = DecodeOptions(map[string]any{
		"timeout": "1 minute 30s", "pool_idle_timeout": int64(5), "user_agent": "ua",
		"accept_invalid_certs": true, "connection_verbose": false, "not_a_key": "ignored",
	})
	want := Options{Timeout: 90 * time.Second, PoolIdleTimeout: 5 * time.Second, UserAgent: "ua", AcceptInvalidCerts: true}
	if err != nil || o != want {
		t.Fatalf("got %+v %v, want %+v", o, err, want)
	}
	o, err = DecodeOptions(map[string]any{"timeout": 0.25})
	if err != nil || o.Timeout != 250*time.Millisecond {
		t.Fatalf("fractional seconds: %+v %v", o, err)
	}
	for _, bad := range []map[string]any{{"timeout": "soon"}, {"timeout": true}, {"connection_verbose": "yes"}} {
		if _, err := DecodeOptions(bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := DecodeOptions(map[string]any{"timeout": "soon"}); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("error does not name the field: %v", err)
	}
}

func TestStatusLine(t *testing.T) {
	for code, want := range map[int]string{404: "404 Not Found", 401: "401 Unauthorized", 599: "599 <unknown status code>"} {
		if got := StatusLine(code); got != want {
			t.Errorf("%d: got %q, want %q", code, got, want)
		}
	}
	if got := (&HandshakeError{Status: 404}).Error(); got != "HTTP error: 404 Not Found" {
		t.Errorf("handshake error: %q", got)
	}
}

func TestTextDecoding(t *testing.T) {
	r := &Response{status: 200, header: http.Header{}, body: []byte("\xef\xbb\xbfok \xff\xfe end \xe2\x82")}
	s, err := r.Text()
	if err != nil || s != "ok \ufffd\ufffd end \ufffd" {
		t.Fatalf("got %q %v", s, err)
	}
	if _, err := r.Bytes(); !errors.Is(err, ErrBrokenResponse) {
		t.Fatalf("second read: %v", err)
	}
	// one U+FFFD per maximal malformed subpart (as Python's "replace" too)
	for in, want := range map[string]string{
		"\xf0\x9f\x98x": "\ufffdx", "\xe0\x80": "\ufffd\ufffd", "\xed\xa0\x80": "\ufffd\ufffd\ufffd", "\xf4\x90": "\ufffd\ufffd",
	} {
		if got := toValidUTF8([]byte(in)); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

// TestSendAfterClose: a builder made before the client was closed fails to
// send with ErrClientClosed; a new one cannot be made.
func TestSendAfterClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	c := New(DefaultOptions(), nil)
	req, err := c.NewRequest(http.MethodGet, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, err := req.Send(context.Background()); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("send: %v", err)
	}
	if _, err := c.NewRequest(http.MethodGet, srv.URL); !errors.Is(err, ErrClientClosed) {
		t.Fatalf("new request: %v", err)
	}
	if _, err := New(DefaultOptions(), nil).NewRequest(http.MethodGet, "ftp://127.0.0.1/"); err == nil {
		t.Fatal("ftp URL accepted")
	}
}

func TestBuildURL(t *testing.T) {
	got, err := BuildURL("https://example.com/?existing=value", map[string]string{"b": "2", "a": "1 &"})
	if err != nil || got != "https://example.com/?existing=value&a=1+%26&b=2" {
		t.Fatalf("got %q %v", got, err)
	}
}

// TestStreamEndsWithLifetime: when the lifetime context given to Dial ends
// (the runtime shuts down), the reader stops and Recv reports the close.
func TestStreamEndsWithLifetime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Read(context.Background()) // until the client goes away
	}))
	defer srv.Close()
	lifetime, stop := context.WithCancel(context.Background())
	s, resp, err := Dial(context.Background(), lifetime, "ws"+strings.TrimPrefix(srv.URL, "http"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != http.StatusSwitchingProtocols {
		t.Fatalf("handshake status %d", resp.StatusCode())
	}
	stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, ok, err := s.Recv(ctx); ok || err != nil {
		t.Fatalf("Recv after the lifetime ended: ok=%v err=%v", ok, err)
	}
	if _, err := s.RecvBatch(ctx, time.Hour); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("RecvBatch after the lifetime ended: %v", err)
	}
	if s.ReadError() == nil {
		t.Fatal("no read error recorded")
	}
	if err := s.Send(ctx, []byte("x")); err == nil {
		t.Fatal("Send on a dead stream succeeded")
	}
	s.Close()
}

// TestConnectionVerbose: connection_verbose logs the connection's life at
// debug level under the target "reqwest"; without it nothing is logged.
func TestConnectionVerbose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, verbose := range []bool{false, true} {
		var buf bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o := DefaultOptions()
		o.ConnectionVerbose = verbose
		req, err := New(o, logger).NewRequest(http.MethodGet, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := req.Send(context.Background()); err != nil {
			t.Fatal(err)
		}
		logged := strings.Contains(buf.String(), "target=reqwest") && strings.Contains(buf.String(), "msg=connected")
		if logged != verbose {
			t.Errorf("verbose=%v: log %q", verbose, buf.String())
		}
	}
}
