package daemon_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// logBuf collects log lines for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	d    *daemon.Daemon
	host *kumopolicy.Host
	logs *logBuf
	base string // http://ADDR of the first listener
}

// start runs policy (a file path) in a daemon whose /opt/kumomta is an
// empty directory.
func start(t *testing.T, policy string, opts daemon.Options) *fixture {
	t.Helper()
	empty := t.TempDir()
	logs := &logBuf{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	host, err := kumopolicy.New(kumopolicy.Config{Policy: policy, ShareDir: empty, EtcDir: empty, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	opts.Logger = logger
	if opts.DBPath == "" {
		opts.DBPath = t.TempDir() // not the default under /var/spool
	}
	d, err := daemon.New(host.Runtime, opts)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{d: d, host: host, logs: logs}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	if err := d.Start(context.Background()); err != nil {
		t.Fatalf("start: %v\n%s", err, logs)
	}
	if a := d.Addrs(); len(a) > 0 {
		f.base = "http://" + a[0]
	}
	return f
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// record is a TransientFailure (or other type) log record of time ts.
func record(typ, content string, code int, ts time.Time) []byte {
	return []byte(fmt.Sprintf(`{"type":%q,"id":"1d98076abbbc11ed940250ebf67f93bd","sender":"sender@example.com",`+
		`"recipient":"recip@example.com","queue":"example.com","site":"source2->example.com@smtp_client","size":1024,`+
		`"response":{"code":%d,"enhanced_code":null,"content":%q,"command":null},"peer_address":null,`+
		`"timestamp":%d,"created":%d,"num_attempts":1,"bounce_classification":"Uncategorized","egress_pool":null,`+
		`"egress_source":"source2","feedback_report":null,"meta":{},"headers":{},"delivery_protocol":"ESMTP",`+
		`"reception_protocol":"ESMTP","nodeid":"557f3ad4-2c8c-11ee-976e-782d1c8d2d5d"}`,
		typ, code, content, ts.Unix(), ts.Unix()))
}

func do(t *testing.T, method, url, contentType string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func get(t *testing.T, url string) string {
	t.Helper()
	code, body, _ := do(t, http.MethodGet, url, "", nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return body
}

// poll calls get until ok accepts the body, for up to 10 s (records are
// processed asynchronously).
func poll(t *testing.T, url string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		body := get(t, url)
		if ok(body) || time.Now().After(deadline) {
			return body
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func dial(t *testing.T, base, path string) *websocket.Conn {
	t.Helper()
	// The dial context must outlive the connection: cancelling it closes
	// the upgraded connection.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", path, err, resp)
	}
	c.SetReadLimit(1 << 22)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readFrame(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("websocket frame type %v, want text", typ)
	}
	return string(b)
}

// TestIntegrationFixture runs KumoMTA's unmodified integration-test policy
// with its shaping.toml, as KumoMTA's own TSA test does.
func TestIntegrationFixture(t *testing.T) {
	policy := sharedref.CorpusFile(t, "crates/integration-tests/tsa_init.lua")
	shapingFile := sharedref.CorpusFile(t, "crates/integration-tests/shaping.toml")
	work := t.TempDir()
	data, err := os.ReadFile(shapingFile)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, work, "shaping.toml", string(data))
	dbDir := t.TempDir()
	t.Setenv("KUMO_TSA_TEST_DIR", dbDir)
	t.Chdir(work)

	f := start(t, policy, daemon.Options{})
	if got := f.d.DBPath(); got != dbDir+"/tsa.db" {
		t.Errorf("db path %q, want %q", got, dbDir+"/tsa.db")
	}
	if !strings.Contains(f.logs.String(), "http listener on "+strings.TrimPrefix(f.base, "http://")) ||
		!strings.Contains(f.logs.String(), "initialization complete") {
		t.Errorf("startup lines missing:\n%s", f.logs)
	}
	if strings.HasSuffix(f.base, ":0") {
		t.Fatalf("listener reported port 0: %s", f.base)
	}

	if got := get(t, f.base+"/tsa/status"); got != "TSA Daemon OK" {
		t.Errorf("/tsa/status = %q", got)
	}
	ws := dial(t, f.base, daemon.SubscribeEventPath)

	code, body, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", "application/json",
		record("TransientFailure", "you said 450-go-away", 450, time.Now()))
	if code != http.StatusOK || body != "" {
		t.Fatalf("publish: %d %q", code, body)
	}

	frame := readFrame(t, ws)
	var ev map[string]map[string]any
	if err := json.Unmarshal([]byte(frame), &ev); err != nil || ev["ReadyQSuspension"] == nil {
		t.Fatalf("live event %s (%v)", frame, err)
	}
	if r := ev["ReadyQSuspension"]; r["reason"] != "automation rule: you said 450-go-away" ||
		r["site_name"] != "source2->example.com@smtp_client" || !strings.HasPrefix(r["rule_hash"].(string), "source2->example.com@smtp_client-") {
		t.Errorf("live event %s", frame)
	}

	susp := poll(t, f.base+daemon.SuspendedPath, func(b string) bool { return strings.Contains(b, "site_name") })
	var sj struct {
		ReadyQ []map[string]any `json:"ready_q"`
		SchedQ []map[string]any `json:"sched_q"`
	}
	if err := json.Unmarshal([]byte(susp), &sj); err != nil || len(sj.ReadyQ) != 1 || len(sj.SchedQ) != 0 {
		t.Fatalf("suspended.json %s (%v)", susp, err)
	}
	if sj.ReadyQ[0]["source"] != "source2" || sj.ReadyQ[0]["reason"] != "automation rule: you said 450-go-away" {
		t.Errorf("suspension %v", sj.ReadyQ[0])
	}

	toml := get(t, f.base+daemon.ShapingPath)
	for _, want := range []string{"# Number of entries: 2\n", `max_message_rate = "3/m"`, "max_deliveries_per_connection = 1", `["example.com".sources.source2]`} {
		if !strings.Contains(toml, want) {
			t.Errorf("shaping.toml lacks %q:\n%s", want, toml)
		}
	}
	if got := get(t, f.base+daemon.BouncedPath); got != "[]" {
		t.Errorf("bounced.json = %s", got)
	}

	// A new subscriber gets the snapshot: the ready-q suspension with the
	// bare hash, as KumoMTA sends it.
	snap := readFrame(t, dial(t, f.base, daemon.SubscribeEventPath))
	if !strings.HasPrefix(snap, `{"ReadyQSuspension":{"rule_hash":"`+sj.ReadyQ[0]["rule_hash"].(string)+`"`) {
		t.Errorf("snapshot frame %s", snap)
	}
	legacy := readFrame(t, dial(t, f.base, daemon.SubscribeLegacyPath))
	if !strings.HasPrefix(legacy, `{"ReadyQ":{`) {
		t.Errorf("legacy snapshot frame %s", legacy)
	}

	// Bad requests get their 4xx.
	for _, c := range []struct {
		name, ctype string
		body        string
		code        int
		prefix      string
	}{
		{"content type", "text/plain", `{}`, 415, httpapi.ContentTypeText},
		{"json syntax", "application/json", `{"type":`, 400, httpapi.JSONSyntaxPrefix},
		{"array", "application/json", `[]`, 422, httpapi.DecodePrefix},
	} {
		code, body, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", c.ctype, []byte(c.body))
		if code != c.code || !strings.HasPrefix(body, c.prefix) {
			t.Errorf("%s: %d %q", c.name, code, body)
		}
	}
	if code, body, _ := do(t, http.MethodGet, f.base+daemon.SubscribeEventPath, "", nil); code != 400 || body != "Connection header did not include 'upgrade'" {
		t.Errorf("plain GET of the websocket: %d %q", code, body)
	}
	if code, body, _ := do(t, http.MethodGet, f.base+daemon.OpenAPIPath, "", nil); code != 200 || !json.Valid([]byte(body)) {
		t.Errorf("openapi.json: %d %.80q", code, body)
	}
}

const minimalShaping = `
["default"]
[["default".automation]]
regex = "you said 450-go-away"
action = "Suspend"
duration = "1 hour"
`

// minimalPolicy loads shaping.toml from dir; when dir/broken exists,
// tsa_load_shaping_data fails.
func minimalPolicy(t *testing.T, dir, init string) string {
	t.Helper()
	writeFile(t, dir, "shaping.toml", minimalShaping)
	return writeFile(t, dir, "tsa_init.lua", fmt.Sprintf(`
local kumo = require 'kumo'
local tsa = require 'tsa'
local dir = %q
kumo.on('tsa_init', function()
%s
end)
kumo.on('tsa_load_shaping_data', function()
  local f = io.open(dir .. '/broken')
  if f then
    f:close()
    error('shaping is broken on purpose')
  end
  return kumo.shaping.load { dir .. '/shaping.toml' }
end)
`, dir, init))
}

func TestSeveralListenersTrustAndTLS(t *testing.T) {
	dir := t.TempDir()
	f := start(t, minimalPolicy(t, dir, `
  tsa.start_http_listener { listen = '127.0.0.1:0' }
  tsa.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.0.2.0/24' } }
  tsa.start_http_listener { listen = '127.0.0.1:0', use_tls = true, hostname = 'tsa.test' }
`), daemon.Options{})
	addrs := f.d.Addrs()
	if len(addrs) != 3 {
		t.Fatalf("listeners %v", addrs)
	}
	code, body, _ := do(t, http.MethodGet, "http://"+addrs[1]+daemon.SuspendedPath, "", nil)
	want := "<Unauthenticated>@ ip=127.0.0.1 not permitted GET on http_listener/" + addrs[1] + "/get_suspension_v1/suspended.json"
	if code != 401 || body != want {
		t.Errorf("untrusted: %d %q, want 401 %q", code, body, want)
	}
	if got := get(t, "http://"+addrs[1]+"/tsa/status"); got != httpapi.StatusBody {
		t.Errorf("status from an untrusted peer: %q", got)
	}
	if !strings.Contains(f.logs.String(), "https listener on "+addrs[2]) {
		t.Errorf("no https listener line:\n%s", f.logs)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := client.Get("https://" + addrs[2] + "/tsa/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "tsa.test" {
		t.Errorf("https status: %d %v", resp.StatusCode, resp.TLS)
	}
}

func TestStartErrors(t *testing.T) {
	for _, c := range []struct {
		name, policy, want string
	}{
		{"no shaping handler", `local kumo = require 'kumo'`,
			"in tsa_load_shaping_data event: Event tsa_load_shaping_data has not been registered"},
		{"no value", `local kumo = require 'kumo'
kumo.on('tsa_load_shaping_data', function() end)`,
			"in tsa_load_shaping_data event: Event tsa_load_shaping_data did not return a value"},
		{"unknown key", `local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_load_shaping_data', function() return kumo.shaping.load {} end)
kumo.on('tsa_init', function() tsa.start_http_listener { listen = '127.0.0.1:0', bogus = 1 } end)`,
			"deserialize error: unknown field `bogus`, expected one of `hostname`, `listen`, `use_tls`"},
		{"vault key", `local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_load_shaping_data', function() return kumo.shaping.load {} end)
kumo.on('tsa_init', function() tsa.start_http_listener { listen = '127.0.0.1:0', use_tls = true, tls_certificate = { key_data = 'x' }, tls_private_key = { vault_mount = 'm', vault_path = 'x' } } end)`,
			"HashiCorp Vault key sources are not supported by kumopolicy yet"},
		{"bad listen", `local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_load_shaping_data', function() return kumo.shaping.load {} end)
kumo.on('tsa_init', function() tsa.start_http_listener { listen = '127.0.0.1:notaport' } end)`,
			"listen on 127.0.0.1:notaport"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			host, err := kumopolicy.New(kumopolicy.Config{Policy: writeFile(t, dir, "p.lua", c.policy), ShareDir: dir, EtcDir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			logs := &logBuf{}
			d, err := daemon.New(host.Runtime, daemon.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Shutdown(context.Background())
			err = d.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Start: %v, want %q", err, c.want)
			}
			if !strings.Contains(logs.String(), "problem initializing") || !strings.Contains(logs.String(), "initialization complete") {
				t.Errorf("logs:\n%s", logs)
			}
		})
	}
}

// TestShapingRefreshKeepsRulesOnError: the periodic reload installs new
// rules, and an error keeps the previous ones and is logged.
func TestShapingRefreshKeepsRulesOnError(t *testing.T) {
	dir := t.TempDir()
	f := start(t, minimalPolicy(t, dir, ""), daemon.Options{ShapingRefresh: 10 * time.Millisecond})
	if n := f.d.Engine().Rules().Len(); n != 1 {
		t.Fatalf("rules %d, want 1", n)
	}
	writeFile(t, dir, "shaping.toml", minimalShaping+`
[["default".automation]]
regex = "second"
action = "Bounce"
duration = "1 hour"
`)
	deadline := time.Now().Add(10 * time.Second)
	for f.d.Engine().Rules().Len() != 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := f.d.Engine().Rules().Len(); n != 2 {
		t.Fatalf("after editing the file: rules %d, want 2", n)
	}
	writeFile(t, dir, "broken", "")
	for !strings.Contains(f.logs.String(), "shaping is broken on purpose") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(f.logs.String(), "keeping the previous rules") {
		t.Fatalf("no refresh error logged:\n%s", f.logs)
	}
	if n := f.d.Engine().Rules().Len(); n != 2 {
		t.Errorf("after a failed refresh: rules %d, want the previous 2", n)
	}
}

// TestShutdownDrains: a record answered 200 is processed by Shutdown
// even though its batch was not due yet.
func TestShutdownDrains(t *testing.T) {
	dir := t.TempDir()
	f := start(t, minimalPolicy(t, dir, `tsa.start_http_listener { listen = '127.0.0.1:0' }`),
		daemon.Options{Queue: httpapi.QueueConfig{BatchWait: time.Hour}})
	code, _, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", "application/json",
		record("TransientFailure", "you said 450-go-away", 450, time.Now()))
	if code != 200 {
		t.Fatalf("publish: %d", code)
	}
	if n := len(f.d.Engine().Snapshot(time.Now()).Ready); n != 0 {
		t.Fatalf("processed before its batch was due (%d); the test cannot tell a drain", n)
	}
	if err := f.d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(f.d.Engine().Snapshot(time.Now()).Ready); n != 1 {
		t.Errorf("after shutdown: %d ready-q suspensions, want 1", n)
	}
	if _, err := http.Get(f.base + "/tsa/status"); err == nil {
		t.Errorf("listener still answers after shutdown")
	}
}

// TestSlowSubscriberDropped: a subscriber that does not read is dropped
// once it lags SubscriberBuffer events; ingest goes on and a fresh
// subscriber is served.
func TestSlowSubscriberDropped(t *testing.T) {
	dir := t.TempDir()
	policy := minimalPolicy(t, dir, `tsa.start_http_listener { listen = '127.0.0.1:0' }`)
	// A 64 KiB regex makes every event's reason 64 KiB, so that the socket
	// buffers fill after a few dozen events.
	writeFile(t, dir, "shaping.toml", `
["default"]
[["default".automation]]
regex = "you said 450-go-away|`+strings.Repeat("z", 64*1024)+`"
action = "Suspend"
duration = "1 hour"
`)
	// In memory: with fsynced batches the records accepted before the drop
	// would still be in process when the fresh subscriber connects, and
	// their events would overflow its 2-event buffer too.
	f := start(t, policy, daemon.Options{SubscriberBuffer: 2, DBPath: ":memory:", Queue: httpapi.QueueConfig{BatchWait: time.Millisecond}})
	slow := dial(t, f.base, daemon.SubscribeEventPath)
	_ = slow // never read
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; !strings.Contains(f.logs.String(), "lagged more than") && time.Now().Before(deadline); i++ {
		content := fmt.Sprintf("you said 450-go-away %d", i)
		if code, body, _ := do(t, http.MethodPost, f.base+"/publish_log_v1", "application/json",
			record("TransientFailure", content, 450, time.Now())); code != 200 {
			t.Fatalf("publish %d: %d %s", i, code, body)
		}
	}
	if !strings.Contains(f.logs.String(), "subscriber lagged more than 2 events behind; dropped") {
		t.Fatalf("slow subscriber not dropped:\n%s", f.logs)
	}
	// Records accepted before the drop may still be in flight; their events
	// would overflow the fresh subscriber's 2-event buffer too.
	for f.d.QueueDepth() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	fresh := dial(t, f.base, daemon.SubscribeEventPath)
	if frame := readFrame(t, fresh); !strings.HasPrefix(frame, `{"ReadyQSuspension":`) {
		t.Errorf("fresh subscriber got %s", frame)
	}
}

// TestIPv4WildcardStaysIPv4: 0.0.0.0 is bound IPv4-only and reported as
// such (the 401 text and the harness line name it), not as Go's
// dual-stack [::].
func TestIPv4WildcardStaysIPv4(t *testing.T) {
	dir := t.TempDir()
	f := start(t, minimalPolicy(t, dir, `tsa.start_http_listener { listen = '0.0.0.0:0' }`), daemon.Options{})
	addrs := f.d.Addrs()
	if len(addrs) != 1 || !strings.HasPrefix(addrs[0], "0.0.0.0:") {
		t.Fatalf("listeners %v, want 0.0.0.0:PORT", addrs)
	}
	port := strings.TrimPrefix(addrs[0], "0.0.0.0:")
	if got := get(t, "http://127.0.0.1:"+port+"/tsa/status"); got != httpapi.StatusBody {
		t.Errorf("status %q", got)
	}
}
