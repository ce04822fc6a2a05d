package kumo_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

// httpTestServer serves a few routes on 127.0.0.1 for the kumo.http tests.
func httpTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Add("X-Multi", "one")
		w.Header().Add("X-Multi", "two")
		w.Header().Set("X-Reason", "custom phrase ignored")
		fmt.Fprintf(w, "%s %s ct=%s auth=%s x=%s ua=%q body=%s",
			r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Authorization"),
			r.Header.Get("X-Thing"), r.Header.Get("User-Agent"), body)
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/status/"), "%d", &code)
		w.WriteHeader(code)
		fmt.Fprintf(w, "status %d", code)
	})
	mux.HandleFunc("/gzip", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "gzip not accepted", http.StatusBadRequest)
			return
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte("hello, compressed world"))
		zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
		w.Write(buf.Bytes())
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// fireMain runs src's `main` handler with args and returns its results or
// error.
func fireMain(t *testing.T, rt *luart.Runtime, args ...any) ([]any, error) {
	t.Helper()
	out, handled, err := rt.Fire(context.Background(), "main", args...)
	if err == nil && !handled {
		t.Fatal("policy registered no main handler")
	}
	return out, err
}

func mustMain(t *testing.T, src string, args ...any) []any {
	t.Helper()
	out, err := fireMain(t, newRuntime(t, src), args...)
	if err != nil {
		t.Fatalf("main: %v", err)
	}
	return out
}

func TestHTTPRequestAndResponse(t *testing.T) {
	srv := httpTestServer(t)
	out := mustMain(t, `
local kumo = require 'kumo'
kumo.on('main', function(base)
  local client = kumo.http.build_client { timeout = '5s', pool_idle_timeout = 30, connection_verbose = true, unknown_key = 1 }
  local resp = client:post(base .. '/echo')
    :header('Content-Type', 'application/json')
    :headers { ['X-Thing'] = 'thing' }
    :bearer_auth('tok')
    :body('{"a":1}')
    :send()
  local h = resp:headers()
  local multi = {}
  for k, v in pairs(h) do
    if k == 'x-multi' then table.insert(multi, v) end
  end
  local cl = resp:content_length()
  local text = resp:text()
  -- the status stays available after the body was taken
  return resp:status_code(), resp:status_reason(), resp:status_is_success(), text,
    h['x-multi'], h['X-MULTI'], table.concat(multi, ','), cl == #text,
    resp:status_is_client_error(), h['no-such-header'] == nil
end)
`, srv.URL)
	want := []any{int64(200), "OK", true,
		`POST /echo ct=application/json auth=Bearer tok x=thing ua="" body={"a":1}`,
		"one", "one", "one,two", true, false, true}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("got  %#v\nwant %#v", out, want)
	}
}

func TestHTTPBuilderMethods(t *testing.T) {
	srv := httpTestServer(t)
	out := mustMain(t, `
local kumo = require 'kumo'
kumo.on('main', function(base)
  local client = kumo.http.build_client { user_agent = 'kumo-test/1' }
  local a = client:put(base .. '/echo'):basic_auth('user', 'pw'):form_url_encoded { b = 'x y', a = 1 }:timeout(2.5):send():text()
  local b = client:delete(base .. '/echo'):basic_auth('user'):send():text()
  local c = client:get(kumo.http.build_url(base .. '/echo?z=1', { q = 'a&b' })):send():bytes()
  return a, b, c
end)
`, srv.URL)
	want := []any{
		`PUT /echo ct=application/x-www-form-urlencoded auth=Basic dXNlcjpwdw== x= ua="kumo-test/1" body=a=1&b=x+y`,
		`DELETE /echo ct= auth=Basic dXNlcjo= x= ua="kumo-test/1" body=`,
		`GET /echo ct= auth= x= ua="kumo-test/1" body=`,
	}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("got  %q\nwant %q", out, want)
	}
}

func TestHTTPStatusReasonAndNon2xx(t *testing.T) {
	srv := httpTestServer(t)
	out := mustMain(t, `
local kumo = require 'kumo'
kumo.on('main', function(base)
  local client = kumo.http.build_client {}
  local r404 = client:get(base .. '/status/404'):send()
  local r599 = client:get(base .. '/status/599'):send()
  local r503 = client:get(base .. '/status/503'):send()
  local r302 = client:get(base .. '/status/302'):send()
  return r404:status_code(), r404:status_reason(), r404:status_is_success(), r404:status_is_client_error(), r404:text(),
    r599:status_reason() == nil, r503:status_is_server_error(), r302:status_is_redirection()
end)
`, srv.URL)
	want := []any{int64(404), "Not Found", false, true, "status 404", true, true, true}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("got  %#v\nwant %#v", out, want)
	}
}

func TestHTTPGzipBody(t *testing.T) {
	srv := httpTestServer(t)
	out := mustMain(t, `
local kumo = require 'kumo'
kumo.on('main', function(base)
  local resp = kumo.http.build_client({}):get(base .. '/gzip'):send()
  return resp:status_code(), resp:content_length() == nil, resp:text()
end)
`, srv.URL)
	want := []any{int64(200), true, "hello, compressed world"}
	if fmt.Sprint(out) != fmt.Sprint(want) {
		t.Fatalf("got  %#v\nwant %#v", out, want)
	}
}

// TestHTTPErrors checks the error texts Lua code may depend on.
func TestHTTPErrors(t *testing.T) {
	srv := httpTestServer(t)
	rt := newRuntime(t, `
local kumo = require 'kumo'
local function err(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, 'expected an error')
  return tostring(e)
end
kumo.on('main', function(base)
  local client = kumo.http.build_client {}
  local req = client:get(base .. '/echo')
  local resp = req:send()
  local out = {}
  out.second_send = err(req.send, req)
  resp:text()
  out.text_twice = err(resp.text, resp)
  out.headers_after = err(resp.headers, resp)
  out.length_after = err(resp.content_length, resp)
  out.status_after = resp:status_code()
  out.bad_timeout = err(client.get(client, base).timeout, client:get(base), 'soon')
  out.bad_option = err(kumo.http.build_client, { timeout = true })
  out.aws = err(function() client:get(base):aws_sign_v4 {} end)
  out.dot_call = err(client.get, nil, base)
  client:close()
  out.closed = err(client.get, client, base)
  return out
end)
`)
	out, err := fireMain(t, rt, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got := out[0].(map[string]any)
	for key, want := range map[string]string{
		"second_send":   "broken request builder",
		"text_twice":    "broken response wrapper",
		"headers_after": "broken response wrapper",
		"length_after":  "broken response wrapper",
		"bad_timeout":   "invalid timeout duration",
		"bad_option":    "timeout",
		"aws":           "aws_sign_v4 is not supported",
		"dot_call":      "call it with ':'",
		"closed":        "client was closed",
	} {
		if s, _ := got[key].(string); !strings.Contains(s, want) {
			t.Errorf("%s: got %q, want it to contain %q", key, got[key], want)
		}
	}
	if got["status_after"] != int64(200) {
		t.Errorf("status after text(): %#v", got["status_after"])
	}
}

// TestHTTPSendHonoursBudget: a request to a server that never answers ends
// when the handler's time budget does, long before the client's timeout.
func TestHTTPSendHonoursBudget(t *testing.T) {
	srv := httpTestServer(t)
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", SystemRoots: []string{}, Timeout: 300 * time.Millisecond,
		PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('main', function(base)
  kumo.http.build_client({ timeout = '1 hour' }):get(base .. '/slow'):send()
end)
`)})
	kumo.Install(rt, kumo.Services{})
	t.Cleanup(func() { rt.Close() })
	done := make(chan error, 1)
	go func() { _, _, err := rt.Fire(context.Background(), "main", srv.URL); done <- err }()
	select {
	case err := <-done:
		var te *luart.TimeoutError
		if !errors.As(err, &te) {
			t.Fatalf("want a *luart.TimeoutError, got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("send did not end with the handler's budget")
	}
}

func TestHTTPSendTimeout(t *testing.T) {
	srv := httpTestServer(t)
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function(base)
  return pcall(function()
    return kumo.http.build_client({}):get(base .. '/slow'):timeout('50ms'):send()
  end)
end)
`)
	out, err := fireMain(t, rt, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != false || !strings.Contains(fmt.Sprint(out[1]), "timed out") {
		t.Fatalf("got %#v", out)
	}
}

// wsServer is a websocket server on 127.0.0.1. On /subscribe_event_v1 it
// acts on the text commands the client sends: "quiet" (nothing), "spread"
// (sends "a", then "b" a little later), "one" (sends "r1" as a binary
// message), "close" (sends "x" and closes normally); other paths answer
// 404, /untrusted 401.
func newWSServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/subscribe_event_v1":
		case "/untrusted":
			http.Error(w, "no", http.StatusUnauthorized)
			return
		default:
			http.NotFound(w, r)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			_, cmd, err := c.Read(ctx)
			if err != nil {
				return
			}
			switch string(cmd) {
			case "spread":
				c.Write(ctx, websocket.MessageText, []byte("a"))
				time.Sleep(100 * time.Millisecond)
				c.Write(ctx, websocket.MessageText, []byte("b"))
			case "one":
				c.Write(ctx, websocket.MessageBinary, []byte("r1"))
			case "close":
				c.Write(ctx, websocket.MessageText, []byte("x"))
				c.Close(websocket.StatusNormalClosure, "bye")
				return
			}
		}
	}))
	// Handlers end when their client goes away (a hijacked connection is
	// not closed by srv.Close): every stream closes with its runtime.
	t.Cleanup(srv.Close)
	return srv
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func TestWebsocketHandshakeErrors(t *testing.T) {
	srv := newWSServer(t)
	out := mustMain(t, `
local kumo = require 'kumo'
kumo.on('main', function(u404, u401, uhttp)
  local _, e404 = pcall(kumo.http.connect_websocket, u404)
  local _, e401 = pcall(kumo.http.connect_websocket, u401)
  local _, ehttp = pcall(kumo.http.connect_websocket, uhttp)
  return tostring(e404), tostring(e401), tostring(ehttp)
end)
`, wsURL(srv, "/subscribe_suspension_v1"), wsURL(srv, "/untrusted"), srv.URL+"/subscribe_event_v1")
	for i, want := range []string{"HTTP error: 404 Not Found", "HTTP error: 401 Unauthorized", "URL scheme not supported"} {
		if !strings.Contains(out[i].(string), want) {
			t.Errorf("error %d: got %q, want it to contain %q", i, out[i], want)
		}
	}
}

// TestWebsocketStream: recv_batch returns an empty table on a quiet
// interval and does not return at the first message; once the peer closes
// it returns what it has, then raises "websocket closed"; recv gives text
// and binary messages as strings and nil on a closed stream; stream:send
// reaches the server (every step is driven by a sent command).
func TestWebsocketStream(t *testing.T) {
	srv := newWSServer(t)
	out := mustMain(t, `
local kumo = require 'kumo'
kumo.on('main', function(url)
  local stream, resp = kumo.http.connect_websocket(url)
  local out = { handshake = resp:status_code() }
  stream:send('quiet')
  out.quiet = #stream:recv_batch(0.05)
  stream:send('spread')
  out.spread = table.concat(stream:recv_batch('3s'), '|')
  stream:send('one')
  out.one = stream:recv()
  stream:send('close')
  out.closing = table.concat(stream:recv_batch(30), '|')
  local ok, e = pcall(stream.recv_batch, stream, '5s')
  out.after_close = tostring(e)
  out.recv_closed = stream:recv() == nil
  stream:close()
  return out
end)
`, wsURL(srv, "/subscribe_event_v1"))
	got := out[0].(map[string]any)
	want := map[string]any{"handshake": int64(101), "quiet": int64(0), "spread": "a|b", "one": "r1",
		"closing": "x", "recv_closed": true}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %#v, want %#v", k, got[k], v)
		}
	}
	if s, _ := got["after_close"].(string); !strings.Contains(s, "websocket closed") {
		t.Errorf("recv_batch after close: got %q, want it to contain \"websocket closed\"", s)
	}
}

// TestWebsocketRecvHonoursContext: a recv waiting on a quiet stream ends
// when the dispatch's context does.
func TestWebsocketRecvHonoursContext(t *testing.T) {
	srv := newWSServer(t)
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function(url, batch)
  local stream = kumo.http.connect_websocket(url)
  if batch then stream:recv_batch('1 hour') else stream:recv() end
end)
`)
	for _, batch := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		done := make(chan error, 1)
		go func() { _, _, err := rt.Fire(ctx, "main", wsURL(srv, "/subscribe_event_v1"), batch); done <- err }()
		select {
		case err := <-done:
			var te *luart.TimeoutError
			if !errors.As(err, &te) {
				t.Errorf("batch=%v: got %v, want a *luart.TimeoutError", batch, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("batch=%v: recv did not end with the context", batch)
		}
		cancel()
	}
}
