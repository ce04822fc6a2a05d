package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// tsaFixtureDir prepares a working directory with the corpus's
// integration-test shaping.toml and returns it with the fixture policy.
func tsaFixtureDir(t *testing.T) (work, policy string) {
	t.Helper()
	policy = sharedref.CorpusFile(t, "crates/integration-tests/tsa_init.lua")
	shaping, err := os.ReadFile(sharedref.CorpusFile(t, "crates/integration-tests/shaping.toml"))
	if err != nil {
		t.Fatal(err)
	}
	work = t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "shaping.toml"), shaping, 0o644); err != nil {
		t.Fatal(err)
	}
	return work, policy
}

// startFixtureTSA runs the fixture policy in work with its db dir.
func startFixtureTSA(t *testing.T, work, policy, db string) (*tsaProc, string) {
	t.Helper()
	empty := t.TempDir()
	p := startTSA(t, work, []string{"KUMO_TSA_TEST_DIR=" + db}, "--policy", policy, "--etc-dir", empty, "--share-dir", empty)
	if len(p.addrs) != 1 {
		t.Fatalf("listeners %v:\n%s", p.addrs, p.log())
	}
	return p, "http://" + p.addrs[0]
}

// siteRecord is a record from egress source src to a recipient at domain
// with the given response.
func siteRecord(src, domain string, code int, content string, ts time.Time) string {
	return fmt.Sprintf(`{"type":"TransientFailure","id":"1d98076abbbc11ed940250ebf67f93bd","sender":"sender@example.com",`+
		`"recipient":"recip@%s","queue":%q,"site":"%s->%s@smtp_client","size":1024,`+
		`"response":{"code":%d,"enhanced_code":null,"content":%q,"command":null},"peer_address":null,`+
		`"timestamp":%d,"created":%d,"num_attempts":1,"bounce_classification":"Uncategorized","egress_pool":null,`+
		`"egress_source":%q,"feedback_report":null,"meta":{},"headers":{},"delivery_protocol":"ESMTP",`+
		`"reception_protocol":"ESMTP","nodeid":"557f3ad4-2c8c-11ee-976e-782d1c8d2d5d"}`,
		domain, domain, src, domain, code, content, ts.Unix(), ts.Unix(), src)
}

// shownItems names what a suspended.json, bounced.json or websocket
// frame shows: "site=..." for each ready-queue suspension and
// "bounce=DOMAIN" for each bounce, found anywhere in the JSON.
func shownItems(t *testing.T, body string) []string { return shownItemsAs(t, body, "") }

// shownItemsAs is shownItems with the document's kind: "bounce" for
// bounced.json, a list of bounces.
func shownItemsAs(t *testing.T, body, kind string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	var out []string
	var walk func(kind string, v any)
	walk = func(kind string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				switch {
				case k == "site_name":
					out = append(out, fmt.Sprintf("site=%v", c))
				case k == "domain" && kind == "bounce":
					out = append(out, fmt.Sprintf("bounce=%v", c))
				case k == "SchedQBounce":
					walk("bounce", c)
				default:
					walk(kind, c)
				}
			}
		case []any:
			for _, c := range x {
				walk(kind, c)
			}
		}
	}
	walk(kind, v)
	return out
}

// tomlSections are the table headers of a shaping.toml (one per
// domain/source pair with overrides).
func tomlSections(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "[") {
			out = append(out, "toml="+l)
		}
	}
	return out
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	code, body := httpDo(t, "GET", url, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, code, body)
	}
	return body
}

// served is everything the daemon at base serves now.
func served(t *testing.T, base string) map[string]bool {
	t.Helper()
	set := map[string]bool{}
	for _, s := range shownItems(t, mustGet(t, base+"/get_suspension_v1/suspended.json")) {
		set[s] = true
	}
	for _, s := range shownItemsAs(t, mustGet(t, base+"/get_bounce_v1/bounced.json"), "bounce") {
		set[s] = true
	}
	for _, s := range tomlSections(mustGet(t, base+"/get_config_v1/shaping.toml")) {
		set[s] = true
	}
	return set
}

func missing(shown, now map[string]bool) []string {
	var out []string
	for s := range shown {
		if !now[s] {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// TestTSADaemonBinaryRestartKeepsState: a suspension, its overrides and
// a bounce survive SIGTERM and a restart on the same db path.
func TestTSADaemonBinaryRestartKeepsState(t *testing.T) {
	work, policy := tsaFixtureDir(t)
	db := t.TempDir()
	p, base := startFixtureTSA(t, work, policy, db)
	for _, rec := range []string{
		transientFailure("you said 450-go-away", time.Now()),
		siteRecord("source1", "bounce.example", 550, "you said 550-go-away", time.Now()),
	} {
		if code, body := httpDo(t, "POST", base+"/publish_log_v1", "application/json", rec); code != 200 {
			t.Fatalf("publish: %d %q", code, body)
		}
	}
	// The overrides, the suspension and the bounce appear as the daemon
	// processes the records, not all at once: wait for every one.
	wants := []string{"site=source2->example.com@smtp_client", "bounce=bounce.example", `toml=["example.com".sources.source2]`}
	var before map[string]bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		before = served(t, base)
		if len(missing(setOf(wants), before)) == 0 {
			break
		}
	}
	for _, want := range wants {
		if !before[want] {
			t.Fatalf("before the restart, %s is not served: %v", want, before)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.log())
	}
	p, base = startFixtureTSA(t, work, policy, db)
	if m := missing(before, served(t, base)); len(m) > 0 {
		t.Errorf("lost in the restart: %v\n%s", m, p.log())
	}
	toml := mustGet(t, base+"/get_config_v1/shaping.toml")
	if !strings.Contains(toml, `max_message_rate = "3/m"`) || !strings.Contains(toml, "max_deliveries_per_connection = 1") {
		t.Errorf("shaping.toml after the restart:\n%s", toml)
	}
	p.stop(t)
}

// TestTSADaemonBinarySIGKILLKeepsShown: records are posted in a loop, the
// daemon is killed with SIGKILL in the middle of the load, and the daemon
// restarted on the same db path serves every suspension, bounce and
// override that suspended.json, bounced.json, shaping.toml or the
// websocket showed before the kill.
func TestTSADaemonBinarySIGKILLKeepsShown(t *testing.T) {
	work, policy := tsaFixtureDir(t)
	db := t.TempDir()
	p, base := startFixtureTSA(t, work, policy, db)

	var mu sync.Mutex
	shown := map[string]bool{}
	note := func(items []string) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range items {
			shown[s] = true
		}
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(shown)
	}

	// The websocket: every event read counts as shown.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/subscribe_event_v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 22)
	defer ws.CloseNow()
	wsDone := make(chan struct{})
	go func() {
		defer close(wsDone)
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var v any
			if json.Unmarshal(b, &v) == nil {
				note(shownItems(t, string(b)))
			}
		}
	}()

	// The load: alternately a suspension (with overrides) for a new
	// source and a bounce for a new domain, until the daemon dies.
	const maxRecords = 20000
	posted := make(chan int, 1)
	go func() {
		client := &http.Client{Timeout: 10 * time.Second}
		n := 0
		defer func() { posted <- n }()
		for ; n < maxRecords; n++ {
			var rec string
			if n%2 == 0 {
				rec = siteRecord(fmt.Sprintf("src%d", n), "example.com", 450, "you said 450-go-away", time.Now())
			} else {
				rec = siteRecord("source1", fmt.Sprintf("d%d.example", n), 550, "you said 550-go-away", time.Now())
			}
			resp, err := client.Post(base+"/publish_log_v1", "application/json", strings.NewReader(rec))
			if err != nil {
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return
			}
		}
	}()

	// Read the API while the load runs, and kill once it has shown a
	// good number of entries.
	const target = 60
	for deadline := time.Now().Add(30 * time.Second); count() < target && time.Now().Before(deadline); {
		note(shownItems(t, mustGet(t, base+"/get_suspension_v1/suspended.json")))
		note(shownItemsAs(t, mustGet(t, base+"/get_bounce_v1/bounced.json"), "bounce"))
		note(tomlSections(mustGet(t, base+"/get_config_v1/shaping.toml")))
	}
	if count() < target {
		t.Fatalf("only %d entries shown in 30s:\n%s", count(), p.log())
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p.cmd.Wait()
	n := <-posted
	<-wsDone
	mu.Lock()
	before := shown
	mu.Unlock()
	t.Logf("killed after %d records posted, %d entries shown", n, len(before))

	p, base = startFixtureTSA(t, work, policy, db)
	if m := missing(before, served(t, base)); len(m) > 0 {
		t.Errorf("%d of %d shown entries lost to SIGKILL, e.g. %v\n%s", len(m), len(before), m[:min(len(m), 10)], p.log())
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p.log())
	}
}

func setOf(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}
