package kumopolicy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

// servePolicy reads its connection limit from a data file at load time
// (every new state re-reads it) and through an epoch-keyed memoize cache;
// its task adds a ready-queue suspension and then sleeps until cancelled.
const servePolicy = `
local kumo = require 'kumo'
local DATA = %q
local function read_limit()
  local f = assert(io.open(DATA))
  local n = tonumber(f:read('*a'))
  f:close()
  return n
end
local at_load = read_limit()
local cached = kumo.memoize(read_limit, { name = 'limit', ttl = '1h', capacity = 4, invalidate_with_epoch = true })
kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.spawn_task { event_name = 'task', args = {} }
end)
kumo.on('task', function()
  kumo.api.admin.suspend_ready_q.suspend { name = 'from-task', reason = 'task ran' }
  while true do kumo.sleep(60) end
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = at_load, max_deliveries_per_connection = cached() }
end)
`

func startServe(t *testing.T, policy string) (base string, h *kumopolicy.Host, cancel func(), done chan error) {
	t.Helper()
	dns := dnstest.New(t)
	dns.MustAddRR("example.com. 300 IN MX 10 mx.example.com.")
	h, err := kumopolicy.New(kumopolicy.Config{Policy: "serve_test.lua", PolicySource: []byte(policy), SystemRoots: []string{},
		Resolver: []string{dns.Addr}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done = make(chan error, 1)
	go func() {
		done <- h.Serve(ctx, kumopolicy.ServeOptions{OnListen: func(proto, addr string) { addrs <- proto + "://" + addr }})
	}()
	select {
	case base = <-addrs:
	case err := <-done:
		cancel()
		t.Fatalf("Serve returned before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("no listener")
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return base, h, cancel, done
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeEpochRefreshAndSharedRegistry(t *testing.T) {
	data := filepath.Join(t.TempDir(), "limit.txt")
	os.WriteFile(data, []byte("3"), 0o644)
	base, h, _, _ := startServe(t, fmt.Sprintf(servePolicy, data))

	limits := func() (float64, float64) {
		t.Helper()
		code, body := get(t, base+"/api/admin/resolve-egress-path/v1?domain=example.com&source=s1")
		var cfg map[string]any
		if err := json.Unmarshal([]byte(body), &cfg); code != 200 || err != nil {
			t.Fatalf("resolve: %d %s", code, body)
		}
		limit, _ := cfg["connection_limit"].(map[string]any)["limit"].(float64)
		max, _ := cfg["max_deliveries_per_connection"].(float64)
		return limit, max
	}
	if a, b := limits(); a != 3 || b != 3 {
		t.Fatalf("before: %v %v", a, b)
	}
	os.WriteFile(data, []byte("9"), 0o644)
	if a, b := limits(); a != 3 || b != 3 {
		t.Fatalf("without a bump the pooled state and the cache keep the old value: %v %v", a, b)
	}
	resp, err := http.Post(base+"/api/admin/bump-config-epoch", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("bump: %v %v", resp, err)
	}
	resp.Body.Close()
	if a, b := limits(); a != 9 || b != 9 {
		t.Fatalf("after the bump the next resolve reflects the file: %v %v", a, b)
	}

	// The task's suspension (Lua) is visible over HTTP, and one made over
	// HTTP is visible to Go embedders.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body := get(t, base+"/api/admin/suspend-ready-q/v1")
		if strings.Contains(body, `"name":"from-task"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task's suspension never appeared: %s", body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err = http.Post(base+"/api/admin/suspend/v1", "application/json", strings.NewReader(`{"domain":"example.com","reason":"http"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("suspend: %v %v", resp, err)
	}
	resp.Body.Close()
	if es, _ := h.Services().Admin.Suspensions(); len(es) != 1 || es[0].Reason != "http" {
		t.Fatalf("Go side: %+v", es)
	}

	code, body := get(t, base+"/api/admin/resolve-egress-path/v1?domain=example.com&explain=true")
	if code != 200 || !strings.Contains(body, `"site":"mx.example.com"`) || !strings.Contains(body, `"explanation":{"shaped":false`) || !strings.Contains(body, `"from":"lua"`) {
		t.Fatalf("explain: %d %s", code, body)
	}
}

func TestServeStopsCleanly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "limit.txt")
	os.WriteFile(data, []byte("1"), 0o644)
	base, h, cancel, done := startServe(t, fmt.Sprintf(servePolicy, data))
	deadline := time.Now().Add(20 * time.Second)
	for h.RunningTasks() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if h.RunningTasks() != 1 {
		t.Fatalf("the spawned task should be running, got %d", h.RunningTasks())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	done <- nil // for the cleanup
	if n := h.RunningTasks(); n != 0 {
		t.Fatalf("tasks still running after Serve returned: %d", n)
	}
	if _, err := http.Get(base + "/api/check-liveness/v1"); err == nil {
		t.Fatal("the listener should be closed")
	}
}

func TestServeWithoutListenerAndStartupErrors(t *testing.T) {
	h, _ := kumopolicy.New(kumopolicy.Config{Policy: "p.lua", SystemRoots: []string{}, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('init', function() error('init broke') end)`), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	err := h.Serve(context.Background(), kumopolicy.ServeOptions{})
	if err == nil || !strings.Contains(err.Error(), "init: ") || !strings.Contains(err.Error(), "init broke") {
		t.Fatalf("a failing init: %v", err)
	}

	var logs strings.Builder
	h, _ = kumopolicy.New(kumopolicy.Config{Policy: "p.lua", SystemRoots: []string{}, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('init', function() end)`), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := h.Serve(ctx, kumopolicy.ServeOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "no admin listener is configured") {
		t.Fatalf("logs: %s", logs.String())
	}
}
