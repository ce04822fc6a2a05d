package adminapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

type sink struct {
	mu     sync.Mutex
	bodies []string
	err    error
}

func (s *sink) SubmitLogRecords(ctx context.Context, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, string(body))
	return s.err
}

type fixture struct {
	base   string
	reg    *admin.Registry
	bumps  int
	live   error
	sink   *sink
	mu     sync.Mutex
	lastQ  string
	listen *httpapi.Listener
}

func start(t *testing.T, p httpapi.ListenerParams, withSink bool) *fixture {
	t.Helper()
	f := &fixture{reg: admin.New()}
	cfg := Config{
		Registry:  f.reg,
		BumpEpoch: func() { f.mu.Lock(); f.bumps++; f.mu.Unlock() },
		Epoch:     func() uint64 { return 7 },
		Live:      func() error { f.mu.Lock(); defer f.mu.Unlock(); return f.live },
		Resolve: func(ctx context.Context, domain, source, site string, explain bool) (*Resolution, error) {
			f.mu.Lock()
			f.lastQ = domain + "|" + source + site
			f.mu.Unlock()
			if domain == "fail.example" {
				return nil, errors.New("handler failed")
			}
			return &Resolution{Config: map[string]any{"connection_limit": 3}, Data: map[string]any{"explained": true}}, nil
		},
	}
	if withSink {
		f.sink = &sink{}
		cfg.LogRecords = f.sink
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p.Listen == "" {
		p.Listen = "127.0.0.1:0"
	}
	l, err := httpapi.Listen(p, api.Handler, func(s string) { t.Log(s) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Shutdown(context.Background()) })
	f.listen = l
	f.base = "http://" + l.Addr
	return f
}

func do(t *testing.T, method, url, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const js = "application/json"

func TestSuspendReadyQRoutes(t *testing.T) {
	f := start(t, httpapi.ListenerParams{}, false)
	code, body := do(t, "POST", f.base+SuspendReadyPath, js, `{"name":"unspecified->localhost@smtp_client","reason":"too fast","duration":"10m","unknown":1}`)
	if code != 200 {
		t.Fatalf("POST: %d %s", code, body)
	}
	var created struct{ ID string }
	json.Unmarshal([]byte(body), &created)
	if es, _ := f.reg.ReadyQSuspensions(); len(es) != 1 || es[0].ID != created.ID {
		t.Fatalf("registry %+v, created %q", es, body)
	}
	code, body = do(t, "GET", f.base+SuspendReadyPath, "", "")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 1 {
		t.Fatalf("GET: %d %s (%v)", code, body, err)
	}
	for _, k := range []string{"id", "name", "reason", "duration", "expires"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("list entry lacks %q: %s", k, body)
		}
	}
	code, body = do(t, "DELETE", f.base+SuspendReadyPath, js, `{"id":"`+created.ID+`"}`)
	if code != 200 || body != "removed "+created.ID {
		t.Fatalf("DELETE: %d %q", code, body)
	}
	code, body = do(t, "DELETE", f.base+SuspendReadyPath, js, `{"id":"`+created.ID+`"}`)
	if code != 404 || body != "suspend-ready-q entry "+created.ID+" not found" {
		t.Fatalf("DELETE again: %d %q", code, body)
	}
}

func TestSuspendAndBounceRoutes(t *testing.T) {
	f := start(t, httpapi.ListenerParams{}, false)
	code, body := do(t, "POST", f.base+SuspendPath, js, `{"domain":"example.com","reason":"r"}`)
	if code != 200 || !strings.HasPrefix(body, `{"id":"`) {
		t.Fatalf("POST suspend: %d %s", code, body)
	}
	code, body = do(t, "GET", f.base+SuspendPath, "", "")
	if code != 200 || !strings.Contains(body, `"campaign":null`) || !strings.Contains(body, `"domain":"example.com"`) || strings.Contains(body, "expires") {
		t.Fatalf("GET suspend: %d %s", code, body)
	}
	code, body = do(t, "DELETE", f.base+SuspendPath, js, `{"id":"nope"}`)
	if code != 404 || body != "suspend entry nope not found" {
		t.Fatalf("DELETE suspend: %d %q", code, body)
	}
	code, body = do(t, "POST", f.base+BouncePath, js, `{"campaign":"c","reason":"r"}`)
	if code != 200 || !strings.Contains(body, `"bounced":{}`) || !strings.Contains(body, `"total_bounced":0`) {
		t.Fatalf("POST bounce: %d %s", code, body)
	}
	code, body = do(t, "GET", f.base+BouncePath, "", "")
	if code != 200 || !strings.Contains(body, `"routing_domain":null`) || !strings.Contains(body, `"total_bounced":0`) {
		t.Fatalf("GET bounce: %d %s", code, body)
	}
	code, body = do(t, "POST", f.base+BouncePath, js, `{"reason":"r","bogus":1}`)
	if code != 422 || !strings.HasPrefix(body, httpapi.DecodePrefix) || !strings.Contains(body, "unknown field `bogus`") {
		t.Fatalf("strict bounce: %d %q", code, body)
	}
	code, body = do(t, "DELETE", f.base+BouncePath, js, `{"id":"x"}`)
	if code != 404 || body != "bounce entry x not found" {
		t.Fatalf("DELETE bounce: %d %q", code, body)
	}
}

func TestBodyErrors(t *testing.T) {
	f := start(t, httpapi.ListenerParams{RequestBodyLimit: 64}, false)
	if code, body := do(t, "POST", f.base+SuspendPath, "text/plain", `{}`); code != 415 || body != httpapi.ContentTypeText {
		t.Errorf("415: %d %q", code, body)
	}
	if code, body := do(t, "POST", f.base+SuspendPath, js, `{"reason":`); code != 400 || !strings.HasPrefix(body, httpapi.JSONSyntaxPrefix) {
		t.Errorf("400: %d %q", code, body)
	}
	if code, body := do(t, "POST", f.base+SuspendPath, js, `{"reason":5}`); code != 422 || !strings.HasPrefix(body, httpapi.DecodePrefix) {
		t.Errorf("422 type: %d %q", code, body)
	}
	if code, body := do(t, "POST", f.base+SuspendPath, js, `{"domain":"x"}`); code != 422 || !strings.Contains(body, "missing field `reason`") {
		t.Errorf("422 missing: %d %q", code, body)
	}
	if code, body := do(t, "POST", f.base+SuspendPath, js, `{"reason":"`+strings.Repeat("x", 100)+`"}`); code != 413 || body != httpapi.TooLargeText {
		t.Errorf("413: %d %q", code, body)
	}
	if code, _ := do(t, "GET", f.base+"/api/admin/nothing", "", ""); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
	// A gzip request body is decompressed.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(`{"domain":"gz.example","reason":"r"}`))
	zw.Close()
	req, _ := http.NewRequest("POST", f.base+SuspendPath, &zb)
	req.Header.Set("Content-Type", js)
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if es, _ := f.reg.Suspensions(); resp.StatusCode != 200 || len(es) != 1 || *es[0].Domain != "gz.example" {
		t.Errorf("gzip body: %d %+v", resp.StatusCode, es)
	}
}

func TestTrustedHostsAndLiveness(t *testing.T) {
	f := start(t, httpapi.ListenerParams{TrustedHosts: []string{"10.0.0.0/8"}}, true)
	code, body := do(t, "GET", f.base+SuspendReadyPath, "", "")
	want := "<Unauthenticated>@ ip=127.0.0.1 not permitted GET on http_listener/" + f.listen.Addr + "/api/admin/suspend-ready-q/v1"
	if code != 401 || body != want {
		t.Fatalf("untrusted: %d %q, want %q", code, body, want)
	}
	for _, p := range []string{MetricsPath, BumpEpochPath, LogRecordPath, ResolvePath} {
		method := "GET"
		if p == BumpEpochPath || p == LogRecordPath {
			method = "POST"
		}
		if code, _ := do(t, method, f.base+p, js, "{}"); code != 401 {
			t.Errorf("untrusted %s %s: %d", method, p, code)
		}
	}
	if code, body := do(t, "GET", f.base+LivenessPath, "", ""); code != 200 || body != "OK" {
		t.Fatalf("liveness is open to anyone: %d %q", code, body)
	}
	f.mu.Lock()
	f.live = errors.New("shutting down")
	f.mu.Unlock()
	if code, body := do(t, "GET", f.base+LivenessPath, "", ""); code != 503 || body != "shutting down" {
		t.Fatalf("liveness while shutting down: %d %q", code, body)
	}
}

func TestEpochMetricsResolve(t *testing.T) {
	f := start(t, httpapi.ListenerParams{}, false)
	if code, body := do(t, "POST", f.base+BumpEpochPath, "", "anything"); code != 200 || body != "" || f.bumps != 1 {
		t.Fatalf("bump: %d %q bumps=%d", code, body, f.bumps)
	}
	f.reg.SuspendReadyQ(admin.ReadyQRequest{Name: "q", Reason: "r"})
	do(t, "GET", f.base+SuspendReadyPath, "", "")
	code, body := do(t, "GET", f.base+MetricsPath, "", "")
	for _, want := range []string{"kumopolicy_admin_ready_q_suspensions 1", "kumopolicy_config_epoch 7", `kumopolicy_admin_requests_total{code="200",route="/api/admin/suspend-ready-q/v1"} 1`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics lack %q: %d", want, code)
		}
	}
	if code, body := do(t, "GET", f.base+ResolvePath+"?domain=example.com", "", ""); code != 200 || body != `{"connection_limit":3}` || f.lastQ != "example.com|unspecified" {
		t.Errorf("resolve: %d %q %q", code, body, f.lastQ)
	}
	if code, body := do(t, "GET", f.base+ResolvePath+"?domain=example.com&source=s1&site=|mx&explain=true", "", ""); code != 200 || body != `{"explained":true}` || f.lastQ != "example.com|s1|mx" {
		t.Errorf("resolve explain: %d %q %q", code, body, f.lastQ)
	}
	if code, body := do(t, "GET", f.base+ResolvePath, "", ""); code != 400 || body != "missing query parameter `domain`" {
		t.Errorf("resolve without domain: %d %q", code, body)
	}
	if code, body := do(t, "GET", f.base+ResolvePath+"?domain=fail.example", "", ""); code != 500 || body != "handler failed" {
		t.Errorf("resolve error: %d %q", code, body)
	}
}

func TestLogRecordRoute(t *testing.T) {
	f := start(t, httpapi.ListenerParams{}, false)
	if code, body := do(t, "POST", f.base+LogRecordPath, js, `{}`); code != 503 || body != NoLogHookText {
		t.Fatalf("no sink: %d %q", code, body)
	}
	g := start(t, httpapi.ListenerParams{}, true)
	if code, body := do(t, "POST", g.base+LogRecordPath, js, `{"type":"Delivery"}`); code != 200 {
		t.Fatalf("one record: %d %q", code, body)
	}
	if code, body := do(t, "POST", g.base+LogRecordPath, js, `[{"type":"Delivery"},{"type":"Bounce"}]`); code != 200 {
		t.Fatalf("array: %d %q", code, body)
	}
	if code, body := do(t, "POST", g.base+LogRecordPath, js, `[1]`); code != 422 || !strings.HasPrefix(body, httpapi.DecodePrefix) {
		t.Fatalf("not records: %d %q", code, body)
	}
	if len(g.sink.bodies) != 2 || g.sink.bodies[1] != `[{"type":"Delivery"},{"type":"Bounce"}]` {
		t.Fatalf("sink got %q", g.sink.bodies)
	}
	g.sink.err = errors.Join(ErrBadRecord, errors.New("no recipient"))
	if code, _ := do(t, "POST", g.base+LogRecordPath, js, `{}`); code != 422 {
		t.Fatalf("sink's bad record: %d", code)
	}
	g.sink.err = errors.New("queue full")
	if code, body := do(t, "POST", g.base+LogRecordPath, js, `{}`); code != 503 || body != "queue full" {
		t.Fatalf("sink busy: %d %q", code, body)
	}
}
