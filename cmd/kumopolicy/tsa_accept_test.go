package main

// The TSA daemon's acceptance tests: KumoMTA's unmodified integration-test
// tsa_init.lua and its shaping.toml, run by the built binary, driven over
// HTTP and websockets from 127.0.0.1 only.

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// startFixture runs the corpus's tsa_init.lua with the corpus's
// shaping.toml in its working directory and returns the daemon and the
// base URL of its one listener.
func startFixture(t *testing.T) (*tsaProc, string) {
	t.Helper()
	policy := sharedref.CorpusFile(t, "crates/integration-tests/tsa_init.lua")
	shaping, err := os.ReadFile(sharedref.CorpusFile(t, "crates/integration-tests/shaping.toml"))
	if err != nil {
		t.Fatal(err)
	}
	work, empty, db := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "shaping.toml"), shaping, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startTSA(t, work, []string{"KUMO_TSA_TEST_DIR=" + db}, "--policy", policy, "--etc-dir", empty, "--share-dir", empty)
	if len(p.addrs) != 1 || !strings.HasPrefix(p.addrs[0], "127.0.0.1:") {
		t.Fatalf("listeners %v:\n%s", p.addrs, p.log())
	}
	return p, "http://" + p.addrs[0]
}

// rec is a log record to publish; the zero values of the optional
// fields leave them out.
type rec struct {
	typ        string
	id         string
	recipients []string
	queue      string
	site       string
	source     string // egress_source; "" leaves it out
	code       int
	content    string
	t          time.Time // event_time; timestamp is its whole seconds
}

func (r rec) json(t *testing.T) string {
	t.Helper()
	var recipient any = r.recipients
	if len(r.recipients) == 1 {
		recipient = r.recipients[0]
	}
	m := map[string]any{
		"type": r.typ, "id": r.id, "sender": "sender@example.com", "recipient": recipient,
		"queue": r.queue, "site": r.site, "size": 1024,
		"response":  map[string]any{"code": r.code, "enhanced_code": nil, "content": r.content, "command": nil},
		"timestamp": r.t.Unix(), "created": r.t.Unix(), "event_time": r.t.UTC().Format(time.RFC3339Nano),
		"num_attempts": 1, "bounce_classification": "Uncategorized", "meta": map[string]any{}, "headers": map[string]any{},
		"nodeid": "557f3ad4-2c8c-11ee-976e-782d1c8d2d5d",
	}
	if r.source != "" {
		m["egress_source"] = r.source
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func publish(t *testing.T, base string, r rec) {
	t.Helper()
	if code, body := httpDo(t, "POST", base+"/publish_log_v1", "application/json", r.json(t)); code != 200 || body != "" {
		t.Fatalf("publish %s: %d %q", r.id, code, body)
	}
}

// transient is a TransientFailure from the corpus's sink: code 450 and a
// "you said ..." text selects one of the fixture's default rules.
func transient(id, recipient, queue, site, content string, t time.Time) rec {
	return rec{typ: "TransientFailure", id: id, recipients: []string{recipient}, queue: queue, site: site, code: 450, content: content, t: t}
}

// poll reports whether cond holds within 10 s.
func poll(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// waitFor polls until cond holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	code, body := httpDo(t, "GET", url, "", "")
	if code != 200 {
		t.Fatalf("GET %s: %d %q", url, code, body)
	}
	return body
}

// wsFrames collects the text frames of a websocket subscription.
type wsFrames struct {
	mu     sync.Mutex
	frames []string
}

func (w *wsFrames) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.frames...)
}

func subscribeWS(t *testing.T, base, path string) *wsFrames {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		cancel()
		t.Fatalf("dial %s: %v", path, err)
	}
	w := &wsFrames{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, data, err := c.Read(ctx)
			if err != nil {
				return
			}
			w.mu.Lock()
			w.frames = append(w.frames, string(data))
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		c.CloseNow()
		<-done
	})
	return w
}

var hexHash = regexp.MustCompile(`[0-9a-f]{64}`)

// normHashes replaces every 64-hex rule hash with HEX and returns the
// hashes it replaced.
func normHashes(s string) (string, []string) {
	return hexHash.ReplaceAllString(s, "HEX"), hexHash.FindAllString(s, -1)
}

// TestTSAAcceptTenantCampaignBounceActions: SuspendTenant,
// SuspendCampaign, Bounce, BounceTenant, BounceCampaign and a Delivery
// record matching "OK ids=" give the entries of spec §5, with their exact
// reasons, in suspended.json, bounced.json, the live websocket events and
// a later subscriber's snapshot. A tenant action on a queue without a
// tenant gives nothing but the logged error.
func TestTSAAcceptTenantCampaignBounceActions(t *testing.T) {
	p, base := startFixture(t)
	live := subscribeWS(t, base, "/subscribe_event_v1")
	legacy := subscribeWS(t, base, "/subscribe_suspension_v1")

	// Whole milliseconds: expires renders with exactly 3 fraction digits.
	now := time.Now().UTC().Truncate(time.Second).Add(250 * time.Millisecond)
	e := now.Add(time.Hour).Format("2006-01-02T15:04:05.000Z")
	const site = "unspecified->localhost@smtp_client"
	const dsite = "unspecified->delivery.mx-sink.wezfurlong.org@smtp_client"
	for _, r := range []rec{
		transient("st", "u@st.example", "camp1:tenant1@st.example", site, "you said 450-suspend-tenant", now),
		transient("sc", "u@sc.example", "camp2:tenant2@sc.example!localhost", site, "you said 450-suspend-campaign", now),
		transient("b1", "u@b1.example", "tenant3@b1.example", site, "you said 550-go-away", now),
		transient("b2", "u@b2.example", "b2.example", site, "you said 550-go-away", now),
		transient("bt", "u@bt.example", "camp4:tenant4@bt.example", site, "you said 550-bounce-tenant", now),
		transient("bc", "u@bc.example", "camp5:tenant5@bc.example", site, "you said 550-bounce-campaign", now),
		transient("nt", "u@nt.example", "nt.example", site, "you said 450-suspend-tenant", now),
		{typ: "Delivery", id: "dl", recipients: []string{"u@delivery.mx-sink.wezfurlong.org"}, queue: "delivery.mx-sink.wezfurlong.org",
			site: dsite, code: 250, content: "OK ids=8a5475ccbbc611eda12250ebf67f93bd", t: now},
	} {
		publish(t, base, r)
	}

	ready := `{"rule_hash":"HEX","site_name":"` + dsite + `","reason":"automation rule: OK ids=","source":"unspecified","expires":"` + e + `"}`
	st := `{"rule_hash":"` + site + `-HEX","tenant":"tenant1","domain":"st.example","campaign":null,"reason":"automation rule: you said 450-suspend-tenant tenant=tenant1 domain=st.example","expires":"` + e + `"}`
	sc := `{"rule_hash":"` + site + `-HEX","tenant":"tenant2","domain":"sc.example","campaign":"camp2","reason":"automation rule: you said 450-suspend-campaign tenant=tenant2 domain=sc.example campaign=camp2","expires":"` + e + `"}`
	b2 := `{"rule_hash":"` + site + `-HEX","domain":"b2.example","tenant":null,"campaign":null,"reason":"automation rule: you said 550-go-away domain=b2.example","expires":"` + e + `"}`
	b1 := `{"rule_hash":"` + site + `-HEX","domain":"b1.example","tenant":"tenant3","campaign":null,"reason":"automation rule: you said 550-go-away domain=b1.example tenant=tenant3","expires":"` + e + `"}`
	bt := `{"rule_hash":"` + site + `-HEX","domain":"bt.example","tenant":"tenant4","campaign":null,"reason":"automation rule: you said 550-bounce-tenant domain=bt.example tenant=tenant4","expires":"` + e + `"}`
	bc := `{"rule_hash":"` + site + `-HEX","domain":"bc.example","tenant":"tenant5","campaign":"camp5","reason":"automation rule: you said 550-bounce-campaign domain=bc.example tenant=tenant5 campaign=camp5","expires":"` + e + `"}`
	wantSusp := `{"ready_q":[` + ready + `],"sched_q":[` + st + `,` + sc + `]}`
	wantBounced := `[` + b2 + `,` + b1 + `,` + bt + `,` + bc + `]`

	var susp, bounced string
	if !poll(func() bool {
		susp, _ = normHashes(get(t, base+"/get_suspension_v1/suspended.json"))
		bounced, _ = normHashes(get(t, base+"/get_bounce_v1/bounced.json"))
		return susp == wantSusp && bounced == wantBounced
	}) {
		t.Fatalf("suspended.json:\n%s\nwant\n%s\nbounced.json:\n%s\nwant\n%s\n%s", susp, wantSusp, bounced, wantBounced, p.log())
	}
	waitFor(t, "the no-tenant error", func() bool {
		return strings.Contains(p.log(), "Cannot create tenant based SuspendTenant action because the incoming record queue nt.example has no tenant component")
	})
	// Each action has its own hash (ready-q: hash only; sched-q and
	// bounces: site-hash).
	_, h1 := normHashes(get(t, base+"/get_suspension_v1/suspended.json"))
	_, h2 := normHashes(get(t, base+"/get_bounce_v1/bounced.json"))
	distinct := map[string]bool{}
	for _, h := range append(h1, h2...) {
		distinct[h] = true
	}
	// b1 and b2 share the Bounce rule: 6 rules among 7 entries.
	if len(distinct) != 6 {
		t.Errorf("want 6 distinct rule hashes among %v", append(h1, h2...))
	}

	wantLive := []string{
		`{"ReadyQSuspension":` + strings.Replace(ready, `"HEX"`, `"`+dsite+`-HEX"`, 1) + `}`,
		`{"SchedQSuspension":` + st + `}`, `{"SchedQSuspension":` + sc + `}`,
		`{"SchedQBounce":` + b1 + `}`, `{"SchedQBounce":` + b2 + `}`, `{"SchedQBounce":` + bt + `}`, `{"SchedQBounce":` + bc + `}`,
	}
	sort.Strings(wantLive)
	var got []string
	waitFor(t, "7 live events", func() bool { return len(live.all()) >= len(wantLive) })
	for _, f := range live.all() {
		n, _ := normHashes(f)
		got = append(got, n)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(wantLive, "\n") {
		t.Errorf("live events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLive, "\n"))
	}

	// The legacy subscription gets the suspensions only, as ReadyQ/SchedQ.
	wantLegacy := []string{
		`{"ReadyQ":` + strings.Replace(ready, `"HEX"`, `"`+dsite+`-HEX"`, 1) + `}`,
		`{"SchedQ":` + st + `}`, `{"SchedQ":` + sc + `}`,
	}
	sort.Strings(wantLegacy)
	waitFor(t, "3 legacy events", func() bool { return len(legacy.all()) >= len(wantLegacy) })
	got = nil
	for _, f := range legacy.all() {
		n, _ := normHashes(f)
		got = append(got, n)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(wantLegacy, "\n") {
		t.Errorf("legacy events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLegacy, "\n"))
	}

	// A new subscriber's snapshot: ready-q (bare hash), sched-q, bounces,
	// each in the order of the JSON lists.
	wantSnap := []string{`{"ReadyQSuspension":` + ready + `}`, `{"SchedQSuspension":` + st + `}`, `{"SchedQSuspension":` + sc + `}`,
		`{"SchedQBounce":` + b2 + `}`, `{"SchedQBounce":` + b1 + `}`, `{"SchedQBounce":` + bt + `}`, `{"SchedQBounce":` + bc + `}`}
	snap := subscribeWS(t, base, "/subscribe_event_v1")
	waitFor(t, "the snapshot", func() bool { return len(snap.all()) >= len(wantSnap) })
	got = nil
	for _, f := range snap.all() {
		n, _ := normHashes(f)
		got = append(got, n)
	}
	if strings.Join(got, "\n") != strings.Join(wantSnap, "\n") {
		t.Errorf("snapshot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSnap, "\n"))
	}
}

// TestTSAAcceptStaleRecords: a record whose time plus the rule's duration
// is already past changes nothing, for every rule of the fixture. Each
// record carries a second, empty recipient: its error is logged once the
// record's batch is processed, which tells the test when to look. The
// same record with a fresh time shows that the first recipient would
// have applied.
func TestTSAAcceptStaleRecords(t *testing.T) {
	p, base := startFixture(t)
	live := subscribeWS(t, base, "/subscribe_event_v1")
	processed := func(id string) func() bool {
		return func() bool { return strings.Contains(p.log(), "error processing record: record "+id+": ") }
	}

	fresh := time.Now()
	ctl := transient("control", "u@fresh.example", "camp:tenant@fresh.example", "unspecified->fresh@smtp_client", "you said 450-go-away", fresh)
	ctl.recipients = append(ctl.recipients, "")
	publish(t, base, ctl)
	waitFor(t, "the control record", processed("control"))
	if s := get(t, base+"/get_suspension_v1/suspended.json"); !strings.Contains(s, `"site_name":"unspecified->fresh@smtp_client"`) {
		t.Fatalf("the fresh control record suspended nothing: %s", s)
	}
	if s := get(t, base+"/get_config_v1/shaping.toml"); !strings.Contains(s, `["fresh.example".sources.unspecified]`) {
		t.Fatalf("the fresh control record set no config:\n%s", s)
	}

	// One second beyond the rules' hour.
	stale := time.Now().Add(-time.Hour - time.Second)
	contents := []string{"you said 450-go-away", "you said 450-suspend-campaign", "you said 450-suspend-tenant",
		"you said 550-go-away", "you said 550-bounce-campaign", "you said 550-bounce-tenant"}
	for i, c := range contents {
		r := transient("stale"+string(rune('a'+i)), "u@stale.example", "camp:tenant@stale.example", "unspecified->stale@smtp_client", c, stale)
		r.recipients = append(r.recipients, "")
		publish(t, base, r)
	}
	d := rec{typ: "Delivery", id: "staledl", recipients: []string{"u@delivery.mx-sink.wezfurlong.org", ""}, queue: "delivery.mx-sink.wezfurlong.org",
		site: "unspecified->stale-delivery@smtp_client", code: 250, content: "OK ids=1", t: stale}
	publish(t, base, d)
	for i := range contents {
		waitFor(t, "stale record "+string(rune('a'+i)), processed("stale"+string(rune('a'+i))))
	}
	waitFor(t, "the stale delivery", processed("staledl"))

	if s := get(t, base+"/get_suspension_v1/suspended.json"); strings.Contains(s, "stale") || strings.Contains(s, `"sched_q":[{`) {
		t.Errorf("stale records left suspensions: %s", s)
	}
	if s := get(t, base+"/get_bounce_v1/bounced.json"); s != "[]" {
		t.Errorf("stale records left bounces: %s", s)
	}
	if s := get(t, base+"/get_config_v1/shaping.toml"); strings.Contains(s, "stale") || !strings.HasPrefix(s, "# Generated by tsa-daemon\n# Number of entries: 2\n") {
		t.Errorf("stale records changed shaping.toml:\n%s", s)
	}
	// The control's event may come; none for the stale ones.
	for _, f := range live.all() {
		if strings.Contains(f, "stale") {
			t.Errorf("event for a stale record: %s", f)
		}
	}
}

// TestTSAAcceptStatusFromAnyAddress: /tsa/status answers everyone; the
// other routes answer a peer outside trusted_hosts (the fixture keeps the
// default, loopback 127.0.0.1 and ::1) with 401 and the specified body.
// The untrusted peer is 127.0.0.2, a loopback address Linux routes to lo.
func TestTSAAcceptStatusFromAnyAddress(t *testing.T) {
	p, base := startFixture(t)
	check := func(c *http.Client, who string) {
		t.Helper()
		resp, err := c.Get(base + "/tsa/status")
		if err != nil {
			t.Fatalf("%s: %v", who, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || string(b) != "TSA Daemon OK" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("%s: status %d %q %q", who, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
	check(http.DefaultClient, "trusted 127.0.0.1")

	probe, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("127.0.0.2 is not usable here, so no untrusted peer can be made: %v", err)
	}
	probe.Close()
	untrusted := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
	}).DialContext}}
	defer untrusted.CloseIdleConnections()
	check(untrusted, "untrusted 127.0.0.2")

	for _, c := range []struct{ method, path string }{
		{"GET", "/get_config_v1/shaping.toml"},
		{"GET", "/get_suspension_v1/suspended.json"},
		{"GET", "/get_bounce_v1/bounced.json"},
		{"POST", "/publish_log_v1"},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := untrusted.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := "<Unauthenticated>@ ip=127.0.0.2 not permitted " + c.method + " on http_listener/" + p.addrs[0] + c.path
		if resp.StatusCode != 401 || string(b) != want {
			t.Errorf("untrusted %s %s: %d %q, want 401 %q", c.method, c.path, resp.StatusCode, b, want)
		}
	}
}

// TestTSAAcceptBadRequests: 415, 400, 422 and 413 with their bodies; a
// body of exactly request_body_limit (2 MiB by default) is accepted.
func TestTSAAcceptBadRequests(t *testing.T) {
	_, base := startFixture(t)
	good := transient("ok", "u@example.com", "example.com", "unspecified->example.com@smtp_client", "hello", time.Now()).json(t)
	const limit = 2 * 1024 * 1024
	for _, c := range []struct {
		name, ctype, body string
		code              int
		want              string // exact body, or a prefix when it ends in ": "
	}{
		{"text/plain", "text/plain", good, 415, "Expected request with `Content-Type: application/json`"},
		{"no content type", "", good, 415, "Expected request with `Content-Type: application/json`"},
		{"415 before 413", "text/plain", strings.Repeat(" ", limit+1), 415, "Expected request with `Content-Type: application/json`"},
		{"syntax", "application/json", `{"type":`, 400, "Failed to parse the request body as JSON: "},
		{"trailing garbage", "application/json", good + "x", 400, "Failed to parse the request body as JSON: "},
		{"array", "application/json", "[" + good + "]", 422, "Failed to deserialize the JSON body into the target type: "},
		{"missing field", "application/json", strings.Replace(good, `"queue":`, `"queue_":`, 1), 422, "Failed to deserialize the JSON body into the target type: "},
		{"unknown type", "application/json", strings.Replace(good, `"TransientFailure"`, `"Nonsense"`, 1), 422, "Failed to deserialize the JSON body into the target type: "},
		{"float timestamp", "application/json", regexp.MustCompile(`"timestamp":\d+`).ReplaceAllString(good, `"timestamp":1.5`), 422, "Failed to deserialize the JSON body into the target type: "},
		{"too large", "application/json", good + strings.Repeat(" ", limit+1-len(good)), 413, "Failed to buffer the request body: length limit exceeded"},
		{"exactly the limit", "application/json", good + strings.Repeat(" ", limit-len(good)), 200, ""},
		{"+json with charset", "application/vnd.kumo+json; charset=utf-8", good, 200, ""},
	} {
		code, body := httpDo(t, "POST", base+"/publish_log_v1", c.ctype, c.body)
		ok := code == c.code && body == c.want
		if strings.HasSuffix(c.want, ": ") {
			ok = code == c.code && strings.HasPrefix(body, c.want) && len(body) > len(c.want)
		}
		if !ok {
			t.Errorf("%s: %d %q, want %d %q", c.name, code, body, c.code, c.want)
		}
	}
}

// TestTSAAcceptShapingRoundTrip: the daemon's shaping.toml, loaded by
// kumo.shaping.load in a policy, gives the overrides back for the
// domain (rolled up to its MX site, as mx_rollup = true says) and the
// source of the record, and not for another source.
func TestTSAAcceptShapingRoundTrip(t *testing.T) {
	_, base := startFixture(t)
	now := time.Now()
	publish(t, base, transient("r1", "u@foo.example.com", "foo.example.com", "unspecified->mx.foo.example.com@smtp_client", "you said 450-go-away", now))
	r2 := transient("r2", "u@foo.example.com", "foo.example.com", "src2->mx.foo.example.com@smtp_client", "you said 450-go-away", now)
	r2.source = "src2"
	publish(t, base, r2)
	var doc string
	waitFor(t, "4 overrides", func() bool {
		doc = get(t, base+"/get_config_v1/shaping.toml")
		return strings.HasPrefix(doc, "# Generated by tsa-daemon\n# Number of entries: 4\n")
	})

	dir := t.TempDir()
	gen := writeFile(t, dir, "generated.toml", doc)
	policy := writeFile(t, dir, "policy.lua", `
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  local s = kumo.shaping.load { `+luaQuote(gen)+` }
  for _, e in ipairs(s:get_errors()) do error(e) end
  return kumo.make_egress_path(s:get_egress_path_config(domain, source, site))
end)
`)
	ns := dnstest.New(t)
	ns.AddMX("foo.example.com", 10, "mx.foo.example.com", 300)
	empty := t.TempDir()
	resolve := func(source string) string {
		t.Helper()
		code, out, errs := runCLI("resolve", "--resolver", ns.Addr, "--etc-dir", empty, "--share-dir", empty,
			"--policy", policy, "--source", source, "foo.example.com")
		if code != exitOK {
			t.Fatalf("resolve --source %s: exit %d\n%s", source, code, errs)
		}
		return out
	}
	for _, src := range []string{"unspecified", "src2"} {
		out := resolve(src)
		if !regexp.MustCompile(`(?m)^max_message_rate = "3/m"$`).MatchString(out) || !regexp.MustCompile(`(?m)^max_deliveries_per_connection = 1$`).MatchString(out) {
			t.Errorf("source %s lacks the overrides:\n%s", src, out)
		}
	}
	if out := resolve("other"); strings.Contains(out, `"3/m"`) || regexp.MustCompile(`(?m)^max_deliveries_per_connection = 1$`).MatchString(out) {
		t.Errorf("source other got the overrides:\n%s", out)
	}
}

func luaQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestTSAAcceptGoAway: the first case. A TransientFailure
// "450 you said 450-go-away" gives one ready-queue suspension, the two
// overrides of spec §5.4's example, byte for byte, and a live event.
func TestTSAAcceptGoAway(t *testing.T) {
	_, base := startFixture(t)
	live := subscribeWS(t, base, "/subscribe_event_v1")
	now := time.Now().UTC().Truncate(time.Second).Add(440 * time.Millisecond)
	const site = "unspecified->localhost@smtp_client"
	publish(t, base, transient("ga", "450-go-away@foo.mx-sink.wezfurlong.org", "foo.mx-sink.wezfurlong.org", site, "you said 450-go-away", now))

	e := now.Add(time.Hour)
	ready := `{"rule_hash":"HEX","site_name":"` + site + `","reason":"automation rule: you said 450-go-away","source":"unspecified","expires":"` + e.Format("2006-01-02T15:04:05.000Z") + `"}`
	var susp string
	if !poll(func() bool {
		susp, _ = normHashes(get(t, base+"/get_suspension_v1/suspended.json"))
		return susp != `{"ready_q":[],"sched_q":[]}`
	}) || susp != `{"ready_q":[`+ready+`],"sched_q":[]}` {
		t.Fatalf("suspended.json: %s\nwant ready_q [%s]", susp, ready)
	}
	comment := "# reason: automation rule: you said 450-go-away\n# expires: " + e.Format("2006-01-02T15:04:05.000+00:00") + "\n"
	want := "# Generated by tsa-daemon\n# Number of entries: 2\n\n" +
		"[\"foo.mx-sink.wezfurlong.org\"]\nmx_rollup = true\n\n" +
		"[\"foo.mx-sink.wezfurlong.org\".sources]\n\n" +
		"[\"foo.mx-sink.wezfurlong.org\".sources.unspecified]\n" +
		comment + "max_deliveries_per_connection = 1\n" +
		comment + "max_message_rate = \"3/m\"\n" +
		"\n\n# Generated by tsa-daemon\n# Number of entries: 2\n"
	if got := get(t, base+"/get_config_v1/shaping.toml"); got != want {
		t.Errorf("shaping.toml:\n%s\nwant:\n%s", got, want)
	}
	waitFor(t, "the live event", func() bool { return len(live.all()) >= 1 })
	ev, _ := normHashes(live.all()[0])
	if wantEv := `{"ReadyQSuspension":` + strings.Replace(ready, `"HEX"`, `"`+site+`-HEX"`, 1) + `}`; ev != wantEv || len(live.all()) != 1 {
		t.Errorf("live events %q, want one %s", live.all(), wantEv)
	}
}
