package kumo

import (
	"context"
	"fmt"
	"net/http"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/httpclient"
)

// kumo.http: build_client (Client, Request, Response objects), build_url
// and connect_websocket (WebSocketStream), on package httpclient.
//
// Blocking calls (request:send, connect_websocket, stream:recv,
// stream:recv_batch, stream:send) end early, with an error, when the
// calling state's context ends (its time budget, or the dispatch's
// context) or the runtime shuts down. Streams also close when the runtime
// does. Additions over KumoMTA: client:delete(url), stream:send(text) and
// stream:close(). Not supported: request:aws_sign_v4.

const (
	httpClientMetaKey   = "kumopolicy.kumo.http.Client"
	httpRequestMetaKey  = "kumopolicy.kumo.http.Request"
	httpResponseMetaKey = "kumopolicy.kumo.http.Response"
	httpHeadersMetaKey  = "kumopolicy.kumo.http.HeaderMap"
	httpStreamMetaKey   = "kumopolicy.kumo.http.WebSocketStream"
)

// openHTTP installs kumo.http.
func openHTTP(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "http")
	L.SetFuncs(t, map[string]lua.LGFunction{
		"build_client":      httpBuildClient,
		"build_url":         httpBuildURL,
		"connect_websocket": httpConnectWebsocket,
	})
}

// httpCallContext is the context of a blocking call: the state's (its
// budget, the dispatch) ended early by the runtime's shutdown too.
func httpCallContext(L *lua.LState) (context.Context, context.CancelFunc) {
	s := luart.StateOf(L)
	ctx, cancel := context.WithCancel(s.Context())
	stop := context.AfterFunc(s.Runtime().Context(), cancel)
	return ctx, func() { stop(); cancel() }
}

// httpMetatable returns the metatable cached under key, building it with
// the methods (as __index) and name on first use.
func httpMetatable(L *lua.LState, key, name string, methods map[string]lua.LGFunction) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(key).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	idx := L.NewTable()
	L.SetFuncs(idx, methods)
	mt.RawSetString("__index", idx)
	mt.RawSetString("__name", lua.LString(name))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(name))
		return 1
	}))
	L.G.Registry.RawSetString(key, mt)
	return mt
}

func newHTTPUserData(L *lua.LState, v any, mt *lua.LTable) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	L.SetMetatable(ud, mt)
	return ud
}

// checkHTTPObject returns the Go value of the method's receiver (argument
// 1), raising a clear error when it is not a T (a call with `.`).
func checkHTTPObject[T any](L *lua.LState, what, method string) T {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if v, ok := ud.Value.(T); ok {
			return v
		}
	}
	var zero T
	L.RaiseError("%s:%s: expected a %s as self, got %s (call it with ':')", what, method, what, luart.Describe(L.Get(1)))
	return zero
}

// httpStringMap reads argument n as a table of string keys to string (or
// number) values.
func httpStringMap(L *lua.LState, n int, fn string) map[string]string {
	t, ok := L.Get(n).(*lua.LTable)
	if !ok {
		L.RaiseError("%s: expected a table of names to strings, got %s", fn, luart.Describe(L.Get(n)))
	}
	out := map[string]string{}
	t.ForEach(func(k, v lua.LValue) {
		ks, ok := k.(lua.LString)
		if !ok {
			L.RaiseError("%s: keys must be strings, got %s", fn, luart.Describe(k))
		}
		switch x := v.(type) {
		case lua.LString:
			out[string(ks)] = string(x)
		case lua.LNumber:
			out[string(ks)] = formatNumber(float64(x))
		default:
			L.RaiseError("%s: value of %q must be a string, got %s", fn, string(ks), luart.Describe(v))
		}
	})
	return out
}

// httpDuration reads argument n as seconds or a humantime string.
func httpDuration(L *lua.LState, n int, fn string) time.Duration {
	d, err := decodeLuaDuration(L.Get(n))
	if err != nil {
		L.RaiseError("%s: invalid timeout duration: %v", fn, err)
	}
	return d
}

func httpBuildClient(L *lua.LState) int {
	var g any
	if L.GetTop() >= 1 {
		var err error
		if g, err = luart.ToGo(L.Get(1)); err != nil {
			raise(L, fmt.Errorf("kumo.http.build_client: %w", err))
		}
	}
	opts, err := httpclient.DecodeOptions(g)
	if err != nil {
		raise(L, fmt.Errorf("kumo.http.build_client: %w", err))
	}
	c := httpclient.New(opts, luart.StateOf(L).Runtime().Logger())
	L.Push(newHTTPUserData(L, c, httpMetatable(L, httpClientMetaKey, "kumo.http.Client", httpClientMethods)))
	return 1
}

var httpClientMethods = map[string]lua.LGFunction{
	"get":    httpClientRequest(http.MethodGet, "get"),
	"post":   httpClientRequest(http.MethodPost, "post"),
	"put":    httpClientRequest(http.MethodPut, "put"),
	"delete": httpClientRequest(http.MethodDelete, "delete"),
	"close": func(L *lua.LState) int {
		checkHTTPObject[*httpclient.Client](L, "Client", "close").Close()
		return 0
	},
}

func httpClientRequest(method, name string) lua.LGFunction {
	return func(L *lua.LState) int {
		c := checkHTTPObject[*httpclient.Client](L, "Client", name)
		url := L.CheckString(2)
		req, err := c.NewRequest(method, url)
		if err != nil {
			raise(L, err)
		}
		L.Push(newHTTPUserData(L, req, httpMetatable(L, httpRequestMetaKey, "kumo.http.Request", httpRequestMethods)))
		return 1
	}
}

// httpRequestMethods are the builder's methods; each returns the request.
var httpRequestMethods map[string]lua.LGFunction

func init() {
	builder := func(name string, apply func(L *lua.LState, r *httpclient.Request) error) lua.LGFunction {
		return func(L *lua.LState) int {
			r := checkHTTPObject[*httpclient.Request](L, "Request", name)
			if err := apply(L, r); err != nil {
				raise(L, err)
			}
			L.Push(L.Get(1))
			return 1
		}
	}
	httpRequestMethods = map[string]lua.LGFunction{
		"header": builder("header", func(L *lua.LState, r *httpclient.Request) error {
			return r.Header(L.CheckString(2), L.CheckString(3))
		}),
		"headers": builder("headers", func(L *lua.LState, r *httpclient.Request) error {
			return r.Headers(httpStringMap(L, 2, "Request:headers"))
		}),
		"body": builder("body", func(L *lua.LState, r *httpclient.Request) error {
			return r.Body([]byte(L.CheckString(2)))
		}),
		"timeout": builder("timeout", func(L *lua.LState, r *httpclient.Request) error {
			return r.Timeout(httpDuration(L, 2, "Request:timeout"))
		}),
		"basic_auth": builder("basic_auth", func(L *lua.LState, r *httpclient.Request) error {
			user := L.CheckString(2)
			var pw *string
			if L.Get(3) != lua.LNil {
				p := L.CheckString(3)
				pw = &p
			}
			return r.BasicAuth(user, pw)
		}),
		"bearer_auth": builder("bearer_auth", func(L *lua.LState, r *httpclient.Request) error {
			return r.BearerAuth(L.CheckString(2))
		}),
		"form_url_encoded": builder("form_url_encoded", func(L *lua.LState, r *httpclient.Request) error {
			return r.FormURLEncoded(httpStringMap(L, 2, "Request:form_url_encoded"))
		}),
		"form_multipart_data": builder("form_multipart_data", func(L *lua.LState, r *httpclient.Request) error {
			return r.FormMultipart(httpStringMap(L, 2, "Request:form_multipart_data"))
		}),
		"aws_sign_v4": func(L *lua.LState) int {
			L.RaiseError("Request:aws_sign_v4 is not supported by kumopolicy yet")
			return 0
		},
		"send": httpRequestSend,
	}
}

func httpRequestSend(L *lua.LState) int {
	r := checkHTTPObject[*httpclient.Request](L, "Request", "send")
	ctx, cancel := httpCallContext(L)
	defer cancel()
	resp, err := r.Send(ctx)
	if err != nil {
		raise(L, err)
	}
	L.Push(newHTTPResponse(L, resp))
	return 1
}

func newHTTPResponse(L *lua.LState, r *httpclient.Response) *lua.LUserData {
	return newHTTPUserData(L, r, httpMetatable(L, httpResponseMetaKey, "kumo.http.Response", httpResponseMethods))
}

func httpStatusIs(name string, lo int) lua.LGFunction {
	return func(L *lua.LState) int {
		code := checkHTTPObject[*httpclient.Response](L, "Response", name).StatusCode()
		L.Push(lua.LBool(code >= lo && code < lo+100))
		return 1
	}
}

var httpResponseMethods = map[string]lua.LGFunction{
	"status_code": func(L *lua.LState) int {
		L.Push(lua.LNumber(checkHTTPObject[*httpclient.Response](L, "Response", "status_code").StatusCode()))
		return 1
	},
	"status_reason": func(L *lua.LState) int {
		if reason, ok := checkHTTPObject[*httpclient.Response](L, "Response", "status_reason").StatusReason(); ok {
			L.Push(lua.LString(reason))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	},
	"status_is_informational": httpStatusIs("status_is_informational", 100),
	"status_is_success":       httpStatusIs("status_is_success", 200),
	"status_is_redirection":   httpStatusIs("status_is_redirection", 300),
	"status_is_client_error":  httpStatusIs("status_is_client_error", 400),
	"status_is_server_error":  httpStatusIs("status_is_server_error", 500),
	"text": func(L *lua.LState) int {
		s, err := checkHTTPObject[*httpclient.Response](L, "Response", "text").Text()
		if err != nil {
			raise(L, err)
		}
		L.Push(lua.LString(s))
		return 1
	},
	"bytes": func(L *lua.LState) int {
		b, err := checkHTTPObject[*httpclient.Response](L, "Response", "bytes").Bytes()
		if err != nil {
			raise(L, err)
		}
		L.Push(lua.LString(b))
		return 1
	},
	"content_length": func(L *lua.LState) int {
		n, ok, err := checkHTTPObject[*httpclient.Response](L, "Response", "content_length").ContentLength()
		if err != nil {
			raise(L, err)
		}
		if ok {
			L.Push(lua.LNumber(n))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	},
	"headers": func(L *lua.LState) int {
		h, err := checkHTTPObject[*httpclient.Response](L, "Response", "headers").Headers()
		if err != nil {
			raise(L, err)
		}
		L.Push(newHTTPHeaderMap(L, h))
		return 1
	},
}

// httpHeaderMap is a HeaderMap userdata: indexing is case-insensitive and
// gives a header's first value; pairs yields every (name, value), names
// in lower case, a repeated header once per value.
type httpHeaderMap []httpclient.Header

func newHTTPHeaderMap(L *lua.LState, h []httpclient.Header) *lua.LUserData {
	mt, ok := L.G.Registry.RawGetString(httpHeadersMetaKey).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		mt.RawSetString("__name", lua.LString("kumo.http.HeaderMap"))
		mt.RawSetString("__index", L.NewFunction(httpHeaderIndex))
		mt.RawSetString("__pairs", L.NewFunction(httpHeaderPairs))
		mt.RawSetString("__len", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LNumber(len(L.CheckUserData(1).Value.(httpHeaderMap))))
			return 1
		}))
		mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
			L.Push(lua.LString(fmt.Sprintf("kumo.http.HeaderMap(%d entries)", len(L.CheckUserData(1).Value.(httpHeaderMap)))))
			return 1
		}))
		L.G.Registry.RawSetString(httpHeadersMetaKey, mt)
	}
	return newHTTPUserData(L, httpHeaderMap(h), mt)
}

func httpHeaderIndex(L *lua.LState) int {
	h := L.CheckUserData(1).Value.(httpHeaderMap)
	name, ok := L.Get(2).(lua.LString)
	if ok {
		key := http.CanonicalHeaderKey(string(name))
		for _, e := range h {
			if http.CanonicalHeaderKey(e.Name) == key {
				L.Push(lua.LString(e.Value))
				return 1
			}
		}
	}
	L.Push(lua.LNil)
	return 1
}

func httpHeaderPairs(L *lua.LState) int {
	h := L.CheckUserData(1).Value.(httpHeaderMap)
	i := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if i >= len(h) {
			L.Push(lua.LNil)
			return 1
		}
		e := h[i]
		i++
		L.Push(lua.LString(e.Name))
		L.Push(lua.LString(e.Value))
		return 2
	}))
	L.Push(L.Get(1))
	L.Push(lua.LNil)
	return 3
}

func httpBuildURL(L *lua.LState) int {
	base := L.CheckString(1)
	params := map[string]string{}
	if L.Get(2) != lua.LNil {
		params = httpStringMap(L, 2, "kumo.http.build_url")
	}
	u, err := httpclient.BuildURL(base, params)
	if err != nil {
		raise(L, fmt.Errorf("kumo.http.build_url: %w", err))
	}
	L.Push(lua.LString(u))
	return 1
}

func httpConnectWebsocket(L *lua.LState) int {
	url := L.CheckString(1)
	ctx, cancel := httpCallContext(L)
	defer cancel()
	stream, resp, err := httpclient.Dial(ctx, luart.StateOf(L).Runtime().Context(), url)
	if err != nil {
		raise(L, err)
	}
	L.Push(newHTTPUserData(L, stream, httpMetatable(L, httpStreamMetaKey, "kumo.http.WebSocketStream", httpStreamMethods)))
	L.Push(newHTTPResponse(L, resp))
	return 2
}

var httpStreamMethods = map[string]lua.LGFunction{
	"recv": func(L *lua.LState) int {
		s := checkHTTPObject[*httpclient.Stream](L, "WebSocketStream", "recv")
		ctx, cancel := httpCallContext(L)
		defer cancel()
		msg, ok, err := s.Recv(ctx)
		if err != nil {
			L.RaiseError("WebSocketStream:recv interrupted: %v", err)
		}
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LString(msg))
		return 1
	},
	"recv_batch": func(L *lua.LState) int {
		s := checkHTTPObject[*httpclient.Stream](L, "WebSocketStream", "recv_batch")
		d := httpDuration(L, 2, "WebSocketStream:recv_batch")
		ctx, cancel := httpCallContext(L)
		defer cancel()
		batch, err := s.RecvBatch(ctx, d)
		if err == httpclient.ErrStreamClosed {
			raise(L, err)
		}
		if err != nil {
			L.RaiseError("WebSocketStream:recv_batch interrupted: %v", err)
		}
		out := make([]any, len(batch))
		for i, m := range batch {
			out[i] = string(m)
		}
		L.Push(luart.ToLua(L, out))
		return 1
	},
	"send": func(L *lua.LState) int {
		s := checkHTTPObject[*httpclient.Stream](L, "WebSocketStream", "send")
		text := L.CheckString(2)
		ctx, cancel := httpCallContext(L)
		defer cancel()
		if err := s.Send(ctx, []byte(text)); err != nil {
			raise(L, err)
		}
		return 0
	},
	"close": func(L *lua.LState) int {
		checkHTTPObject[*httpclient.Stream](L, "WebSocketStream", "close").Close()
		return 0
	},
}
