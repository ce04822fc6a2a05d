package httpapi

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

const record = `{"type":"TransientFailure","id":"m1","sender":"a@example.com","recipient":["b@example.net"],
"queue":"example.net","site":"unspecified->mx.example.net@smtp_client","size":12,
"response":{"code":450,"enhanced_code":null,"content":"try later","command":null},
"timestamp":1800000000,"created":1800000000,"num_attempts":0,"bounce_classification":"Uncategorized",
"meta":{},"headers":{},"nodeid":"3f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f"}`

// fakeIngester keeps what it is given; err, when set, is returned instead.
type fakeIngester struct {
	mu   sync.Mutex
	recs []*logrecord.Record
	err  error
}

func (f *fakeIngester) Enqueue(ctx context.Context, r *logrecord.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.recs = append(f.recs, r)
	return nil
}

func (f *fakeIngester) len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.recs)
}

func newServer(t *testing.T, cfg Config) (*Server, *fakeIngester, *Counters) {
	t.Helper()
	f := &fakeIngester{}
	m := &Counters{}
	if cfg.Ingester == nil {
		cfg.Ingester = f
	}
	cfg.Metrics = m
	if cfg.LocalAddr == "" {
		cfg.LocalAddr = "127.0.0.1:8008"
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, f, m
}

type req struct {
	method, path, remote string
	body                 []byte
	header               map[string]string
}

type answer struct {
	code   int
	body   string
	header http.Header
}

func serve(s http.Handler, q req) answer {
	if q.method == "" {
		q.method = http.MethodPost
	}
	if q.path == "" {
		q.path = PublishPath
	}
	r := httptest.NewRequest(q.method, q.path, bytes.NewReader(q.body))
	r.RemoteAddr = "127.0.0.1:40000"
	if q.remote != "" {
		r.RemoteAddr = q.remote
	}
	if q.header == nil {
		q.header = map[string]string{"Content-Type": "application/json"}
	}
	for k, v := range q.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return answer{w.Code, w.Body.String(), w.Result().Header}
}

func gz(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func zl(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestPublishAccepted(t *testing.T) {
	s, f, m := newServer(t, Config{})
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.kumo+json"} {
		a := serve(s, req{body: []byte(record), header: map[string]string{"Content-Type": ct}})
		if a.code != 200 || a.body != "" || a.header.Get("Content-Type") != "" {
			t.Errorf("%s: %d %q %v", ct, a.code, a.body, a.header)
		}
	}
	if f.len() != 4 || f.recs[0].ID != "m1" || f.recs[0].Response.Code != 450 {
		t.Fatalf("ingested %d records: %+v", f.len(), f.recs)
	}
	if v := m.Snapshot(); v.Received != 4 || len(v.Rejected) != 0 {
		t.Errorf("metrics %+v", v)
	}
}

func TestPublishEncodings(t *testing.T) {
	s, f, _ := newServer(t, Config{})
	for enc, body := range map[string][]byte{"gzip": gz(t, []byte(record)), "deflate": zl(t, []byte(record)), "identity": []byte(record)} {
		a := serve(s, req{body: body, header: map[string]string{"Content-Type": "application/json", "Content-Encoding": enc}})
		if a.code != 200 || a.body != "" {
			t.Errorf("%s: %d %q", enc, a.code, a.body)
		}
	}
	if f.len() != 3 {
		t.Fatalf("ingested %d of 3", f.len())
	}
	// Unsupported encodings: 415 with an empty body, before routing, so
	// on unknown paths too.
	for _, enc := range []string{"br", "GZIP", "gzip, deflate", "x-gzip", ""} {
		for _, path := range []string{PublishPath, "/nope"} {
			a := serve(s, req{path: path, body: []byte(record), header: map[string]string{"Content-Type": "application/json", "Content-Encoding": enc}})
			if a.code != 415 || a.body != "" || a.header.Get("Accept-Encoding") != "gzip,deflate" {
				t.Errorf("%q on %s: %d %q %v", enc, path, a.code, a.body, a.header)
			}
		}
	}
	// Corrupt compressed bodies: 400.
	for enc, want := range map[string]string{
		"gzip":    "Failed to buffer the request body: gzip: invalid header",
		"deflate": "Failed to buffer the request body: zlib: invalid header",
	} {
		a := serve(s, req{body: []byte(record), header: map[string]string{"Content-Type": "application/json", "Content-Encoding": enc}})
		if a.code != 400 || a.body != want || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("corrupt %s: %d %q", enc, a.code, a.body)
		}
	}
	truncated := gz(t, []byte(record))
	a := serve(s, req{body: truncated[:len(truncated)-6], header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}})
	if a.code != 400 || a.body != "Failed to buffer the request body: unexpected EOF" {
		t.Errorf("truncated gzip: %d %q", a.code, a.body)
	}
}

func TestPublishRejections(t *testing.T) {
	s, f, m := newServer(t, Config{})
	const plainText = "text/plain; charset=utf-8"
	cases := []struct {
		name   string
		ct     string
		body   string
		code   int
		answer string
	}{
		{"no content type", "", record, 415, "Expected request with `Content-Type: application/json`"},
		{"text", "text/plain", record, 415, "Expected request with `Content-Type: application/json`"},
		{"xml", "application/xml", record, 415, "Expected request with `Content-Type: application/json`"},
		{"jsonl", "application/jsonl", record, 415, "Expected request with `Content-Type: application/json`"},
		{"bad media type", "application/json;;", record, 415, "Expected request with `Content-Type: application/json`"},
		{"empty", "application/json", "", 400, "Failed to parse the request body as JSON: expected a JSON value but found end of input at line 1 column 1"},
		{"unterminated", "application/json", "{", 400, "Failed to parse the request body as JSON: unexpected end of input at line 1 column 2"},
		{"trailing garbage", "application/json", record + " x", 400, "Failed to parse the request body as JSON: trailing characters after the JSON value at line 5 column 73"},
		{"array", "application/json", "[" + record + "]", 422, "Failed to deserialize the JSON body into the target type: invalid type: sequence, expected a log record object"},
		{"missing field", "application/json", strings.Replace(record, `"site":"unspecified->mx.example.net@smtp_client",`, "", 1), 422,
			"Failed to deserialize the JSON body into the target type: missing field `site`"},
		{"bad type", "application/json", strings.Replace(record, `"TransientFailure"`, `"Nope"`, 1), 422,
			"Failed to deserialize the JSON body into the target type: type: unknown variant `Nope`, expected one of `Reception`, `Delivery`, `Bounce`, `TransientFailure`, `Expiration`, `AdminBounce`, `OOB`, `Feedback`, `Rejection`, `AdminRebind`, `DeferredInjectionRebind`, `Delayed`, `XferOut`, `XferIn`, `Any`"},
	}
	for _, c := range cases {
		h := map[string]string{}
		if c.ct != "" {
			h["Content-Type"] = c.ct
		}
		a := serve(s, req{body: []byte(c.body), header: h})
		if a.code != c.code || a.body != c.answer || a.header.Get("Content-Type") != plainText {
			t.Errorf("%s: %d %q (%s), want %d %q", c.name, a.code, a.body, a.header.Get("Content-Type"), c.code, c.answer)
		}
	}
	if f.len() != 0 {
		t.Errorf("%d records ingested from bad requests", f.len())
	}
	v := m.Snapshot()
	if v.Received != 0 || v.Rejected[RejectContentType] != 5 || v.Rejected[RejectJSONSyntax] != 3 || v.Rejected[RejectDecode] != 3 {
		t.Errorf("metrics %+v", v)
	}
}

func TestPublishBodyLimit(t *testing.T) {
	const limit = 1000
	s, f, m := newServer(t, Config{RequestBodyLimit: limit})
	exact := []byte(record + strings.Repeat(" ", limit-len(record)))
	over := append(exact, ' ')
	for name, q := range map[string]req{
		"exact":         {body: exact},
		"exact gzipped": {body: gz(t, exact), header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}},
	} {
		if a := serve(s, q); a.code != 200 {
			t.Errorf("%s: %d %q", name, a.code, a.body)
		}
	}
	const tooLarge = "Failed to buffer the request body: length limit exceeded"
	for name, q := range map[string]req{
		"over":          {body: over},
		"over gzipped":  {body: gz(t, over), header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"}},
		"over deflated": {body: zl(t, over), header: map[string]string{"Content-Type": "application/json", "Content-Encoding": "deflate"}},
	} {
		if len(q.body) <= limit && !strings.HasPrefix(name, "over gz") && !strings.HasPrefix(name, "over def") {
			t.Fatalf("%s: test body not over the limit", name)
		}
		a := serve(s, q)
		if a.code != 413 || a.body != tooLarge || a.header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s: %d %q", name, a.code, a.body)
		}
	}
	// The limit counts decompressed bytes: a small compressed body can be over.
	if small := gz(t, over); len(small) >= limit {
		t.Fatalf("compressed body of %d bytes is not small", len(small))
	}
	if f.len() != 2 || m.Snapshot().Rejected[RejectTooLarge] != 3 {
		t.Errorf("ingested %d, metrics %+v", f.len(), m.Snapshot())
	}
	// The default limit is 2 MiB.
	d, _, _ := newServer(t, Config{})
	big := []byte(record + strings.Repeat(" ", DefaultRequestBodyLimit-len(record)))
	if a := serve(d, req{body: big}); a.code != 200 {
		t.Errorf("2 MiB body: %d %q", a.code, a.body)
	}
	if a := serve(d, req{body: append(big, ' ')}); a.code != 413 || a.body != tooLarge {
		t.Errorf("2 MiB + 1 body: %d %q", a.code, a.body)
	}
}

func TestRoutingAndTrust(t *testing.T) {
	th, err := ParseTrustedHosts([]string{"10.0.0.0/8", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	s, f, m := newServer(t, Config{TrustedHosts: th, LocalAddr: "0.0.0.0:8008"})
	const plainText = "text/plain; charset=utf-8"
	cases := []struct {
		name   string
		q      req
		code   int
		answer string
		ct     string
	}{
		{"trusted v4", req{remote: "10.1.2.3:5555", body: []byte(record)}, 200, "", ""},
		{"trusted v6", req{remote: "[2001:db8::7]:5555", body: []byte(record)}, 200, "", ""},
		{"untrusted v4", req{remote: "192.0.2.1:5555", body: []byte(record)}, 401,
			"<Unauthenticated>@ ip=192.0.2.1 not permitted POST on http_listener/0.0.0.0:8008/publish_log_v1", plainText},
		{"untrusted v6", req{remote: "[2001:db9::1]:5555", body: []byte(record)}, 401,
			"<Unauthenticated>@ ip=2001:db9::1 not permitted POST on http_listener/0.0.0.0:8008/publish_log_v1", plainText},
		{"loopback is not in this list", req{body: []byte(record)}, 401,
			"<Unauthenticated>@ ip=127.0.0.1 not permitted POST on http_listener/0.0.0.0:8008/publish_log_v1", plainText},
		// auth comes before the Content-Type check
		{"untrusted, bad content type", req{remote: "192.0.2.1:5555", body: []byte(record), header: map[string]string{"Content-Type": "text/plain"}}, 401,
			"<Unauthenticated>@ ip=192.0.2.1 not permitted POST on http_listener/0.0.0.0:8008/publish_log_v1", plainText},
		// 404 and 405 come before auth, with empty bodies
		{"unknown path", req{remote: "192.0.2.1:5555", path: "/nope"}, 404, "", ""},
		{"trailing slash", req{path: PublishPath + "/", remote: "10.0.0.1:1"}, 404, "", ""},
		{"escaped path", req{path: "/publish%5flog_v1", remote: "10.0.0.1:1", body: []byte(record)}, 404, "", ""},
		{"GET publish", req{method: "GET", remote: "192.0.2.1:5555"}, 405, "", ""},
		{"POST status", req{path: StatusPath, remote: "192.0.2.1:5555"}, 405, "", ""},
		// the status route is open to anyone
		{"status untrusted", req{method: "GET", path: StatusPath, remote: "192.0.2.1:5555"}, 200, "TSA Daemon OK", plainText},
		{"status trusted", req{method: "GET", path: StatusPath, remote: "10.0.0.1:1"}, 200, "TSA Daemon OK", plainText},
		// HEAD is granted on no route
		{"HEAD status", req{method: "HEAD", path: StatusPath, remote: "10.0.0.1:1"}, 401,
			"<Unauthenticated>@ ip=10.0.0.1 not permitted HEAD on http_listener/0.0.0.0:8008/tsa/status", plainText},
		{"unknown peer", req{remote: "pipe"}, 401,
			"<Unauthenticated>@ ip=pipe not permitted POST on http_listener/0.0.0.0:8008/publish_log_v1", plainText},
	}
	for _, c := range cases {
		a := serve(s, c.q)
		if a.code != c.code || a.body != c.answer || a.header.Get("Content-Type") != c.ct {
			t.Errorf("%s: %d %q (%q), want %d %q (%q)", c.name, a.code, a.body, a.header.Get("Content-Type"), c.code, c.answer, c.ct)
		}
	}
	if a := serve(s, req{method: "GET", remote: "192.0.2.1:5555"}); a.header.Get("Allow") != "POST" {
		t.Errorf("Allow on %s: %q", PublishPath, a.header.Get("Allow"))
	}
	if a := serve(s, req{path: StatusPath}); a.header.Get("Allow") != "GET,HEAD" {
		t.Errorf("Allow on %s: %q", StatusPath, a.header.Get("Allow"))
	}
	if f.len() != 2 || m.Snapshot().Rejected[RejectUnauthorized] != 5 {
		t.Errorf("ingested %d, metrics %+v", f.len(), m.Snapshot())
	}
}

func TestHandleAddsRoutes(t *testing.T) {
	s, _, _ := newServer(t, Config{})
	var got string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := ReadBody(r, 5)
		got = string(b)
		if IsTooLarge(err) {
			w.WriteHeader(413)
		}
	})
	if err := s.Handle("PUT", "/x/y", TrustedOnly, h); err != nil {
		t.Fatal(err)
	}
	if err := s.Handle("PUT", "/x/y", Anyone, h); err == nil || err.Error() != "tsa http api: route PUT /x/y is already registered" {
		t.Errorf("duplicate route: %v", err)
	}
	if err := s.Handle("GET", "x", Anyone, h); err == nil {
		t.Error("a path without / accepted")
	}
	a := serve(s, req{method: "PUT", path: "/x/y", body: gz(t, []byte("hello")), header: map[string]string{"Content-Encoding": "gzip"}})
	if a.code != 200 || got != "hello" {
		t.Errorf("added route: %d, body %q", a.code, got)
	}
	if a := serve(s, req{method: "PUT", path: "/x/y", body: []byte("hello!")}); a.code != 413 {
		t.Errorf("ReadBody over its limit: %d", a.code)
	}
	if a := serve(s, req{method: "PUT", path: "/x/y", remote: "192.0.2.1:1"}); a.code != 401 ||
		a.body != "<Unauthenticated>@ ip=192.0.2.1 not permitted PUT on http_listener/127.0.0.1:8008/x/y" {
		t.Errorf("added route, untrusted: %d %q", a.code, a.body)
	}
}

func TestResourceIDTruncation(t *testing.T) {
	long := "/" + strings.Repeat("a/", 12)
	if got := resourceID("l:1", long); got != "http_listener/l:1/a/a/a/a/a/a/a/a/a/a" {
		t.Errorf("10 components: %s", got)
	}
	if got := resourceID("l:1", "/"+strings.Repeat("b", 300)); got != "http_listener/l:1/"+strings.Repeat("b", 256) {
		t.Errorf("256 bytes: %s", got)
	}
}

func TestPublishQueueFullAndClosed(t *testing.T) {
	closed := &fakeIngester{err: ErrClosed}
	s, _, m := newServer(t, Config{Ingester: closed})
	if a := serve(s, req{body: []byte(record)}); a.code != 503 || a.body != "shutting down, try again later" {
		t.Errorf("closed queue: %d %q", a.code, a.body)
	}
	// A full queue: the server-side bound answers 503; the record is not queued.
	q, release, c := blockingQueue(t)
	defer close(release)
	s, _, m = newServer(t, Config{Ingester: q, EnqueueTimeout: 20 * time.Millisecond})
	if a := serve(s, req{body: []byte(record)}); a.code != 503 || a.body != "ingest queue is full, try again later" {
		t.Errorf("full queue: %d %q", a.code, a.body)
	}
	// A client that gives up while waiting: nothing queued, counted.
	s, _, m = newServer(t, Config{Ingester: q})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", PublishPath, strings.NewReader(record))
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(httptest.NewRecorder(), r)
	if m.Snapshot().Rejected[RejectClientGone] != 1 {
		t.Errorf("metrics %+v", m.Snapshot())
	}
	if q.Depth() != 2 || c.count() != 0 {
		t.Errorf("depth %d, processed %d", q.Depth(), c.count())
	}
}

// listen serves s on a loopback listener of network ("tcp4" or "tcp6").
func listen(t *testing.T, network, addr string, cfg Config) (*httptest.Server, *fakeIngester) {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	cfg.LocalAddr = l.Addr().String()
	f := &fakeIngester{}
	cfg.Ingester = f
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, f
}

func post(t *testing.T, url string, body []byte, enc string) (int, string) {
	t.Helper()
	r, err := http.NewRequest("POST", url+PublishPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if enc != "" {
		r.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLoopbackListeners(t *testing.T) {
	for _, l := range []struct{ network, addr, ip string }{{"tcp4", "127.0.0.1:0", "127.0.0.1"}, {"tcp6", "[::1]:0", "::1"}} {
		t.Run(l.network, func(t *testing.T) {
			// Default trusted_hosts: both loopback addresses.
			srv, f := listen(t, l.network, l.addr, Config{})
			if code, body := post(t, srv.URL, gz(t, []byte(record)), "gzip"); code != 200 || body != "" || f.len() != 1 {
				t.Errorf("trusted loopback: %d %q, %d ingested", code, body, f.len())
			}
			// Loopback not trusted: 401 naming the peer and the bound address.
			th, _ := ParseTrustedHosts([]string{"192.0.2.0/24"})
			srv, f = listen(t, l.network, l.addr, Config{TrustedHosts: th})
			code, body := post(t, srv.URL, []byte(record), "")
			want := "<Unauthenticated>@ ip=" + l.ip + " not permitted POST on http_listener/" + srv.Listener.Addr().String() + "/publish_log_v1"
			if code != 401 || body != want || f.len() != 0 {
				t.Errorf("untrusted loopback: %d %q, want %q", code, body, want)
			}
			resp, err := http.Get(srv.URL + StatusPath)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "TSA Daemon OK" {
				t.Errorf("status from an untrusted peer: %d %q", resp.StatusCode, b)
			}
		})
	}
}

// TestDrainOnClose: concurrent clients post through a real listener into
// a Queue whose partial batches would wait an hour; every record answered
// 200 is processed by the time Close returns.
func TestDrainOnClose(t *testing.T) {
	var processed atomic.Int64
	var seen sync.Map
	q, err := NewQueue(QueueConfig{Capacity: 32, BatchSize: 7, BatchWait: time.Hour, Workers: 3, Process: func(b []*logrecord.Record) {
		for _, r := range b {
			if _, dup := seen.LoadOrStore(r.ID, true); dup {
				t.Errorf("record %s processed twice", r.ID)
			}
		}
		processed.Add(int64(len(b)))
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := &Counters{}
	s, err := NewServer(Config{Ingester: q, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var accepted atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for c := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := strings.Replace(record, `"id":"m1"`, fmt.Sprintf(`"id":"%d-%d"`, c, i), 1)
				resp, err := http.Post(srv.URL+PublishPath, "application/json", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 200:
					accepted.Add(1)
				case resp.StatusCode == 503 && string(b) == ShuttingDownText:
					return
				default:
					t.Errorf("%d %q", resp.StatusCode, b)
					return
				}
			}
		}()
	}
	waitFor(t, "some traffic", func() bool { return accepted.Load() >= 200 })
	if err := q.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := processed.Load()
	close(stop)
	wg.Wait()
	if got != accepted.Load() || got < 200 {
		t.Fatalf("processed %d records when Close returned, %d were answered 200", got, accepted.Load())
	}
	if v := m.Snapshot(); v.Received != uint64(got) {
		t.Errorf("Received %d, processed %d", v.Received, got)
	}
	if err := q.Enqueue(context.Background(), rec(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestNewServerErrors(t *testing.T) {
	if _, err := NewServer(Config{}); err == nil || err.Error() != "tsa http api: Ingester is required" {
		t.Errorf("no ingester: %v", err)
	}
	if _, err := NewServer(Config{Ingester: &fakeIngester{}, RequestBodyLimit: -1}); err == nil ||
		err.Error() != "tsa http api: request_body_limit -1 is negative" {
		t.Errorf("negative limit: %v", err)
	}
}
