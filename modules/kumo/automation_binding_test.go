package kumo_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

// TestAutomationSetupPublishValidate: setup_publish configures one log
// hook per publish URL with the skipped types disabled and back_pressure;
// in validate mode the hooks are only recorded and nothing is started.
func TestAutomationSetupPublishValidate(t *testing.T) {
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", SystemRoots: []string{}, Validating: true, PolicySource: []byte(`
local kumo = require 'kumo'
local auto = kumo.shaping._automation {
  no_default_files = true, publish = { 'http://127.0.0.1:1', 'http://127.0.0.1:2' }, subscribe = { 'http://127.0.0.1:1' },
  skip_log_record_types = { 'Reception' }, additional_skip_log_record_types = { 'Bounce' }, back_pressure = 7,
}
kumo.on('init', function() auto:setup_publish() end)`)})
	t.Cleanup(func() { rt.Close() })
	svc := kumo.Install(rt, kumo.Services{})
	if _, _, err := rt.Fire(context.Background(), "init"); err != nil {
		t.Fatal(err)
	}
	hooks := svc.Recorder.LogHooks()
	if len(hooks) != 2 || hooks[0].Name != "http://127.0.0.1:1.tsa.kumomta" || hooks[1].Name != "http://127.0.0.1:2.tsa.kumomta" {
		t.Fatalf("hooks %+v", hooks)
	}
	var disabled []string
	for name, p := range hooks[0].PerRecord {
		if !p.Enable {
			disabled = append(disabled, name)
		}
	}
	slices.Sort(disabled)
	if fmt.Sprint(disabled) != "[Bounce Reception]" || len(hooks[0].PerRecord) != 2 || hooks[0].BackPressure != 7 {
		t.Fatalf("hook %+v", hooks[0])
	}
	if svc.LogHooks != nil {
		t.Fatal("validate mode has no pipeline")
	}
}

// TestAutomationConnectionSend: send posts the message data to the
// daemon's publish route and returns the disposition; a failure raises
// kumo.reject(400, ...) so the queue retries.
func TestAutomationConnectionSend(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(b))
		w.WriteHeader(status)
		io.WriteString(w, "noted")
	}))
	t.Cleanup(srv.Close)
	rt := newRuntime(t, fmt.Sprintf(`
local kumo = require 'kumo'
local auto = kumo.shaping._automation { no_default_files = true, publish = { %q } }
kumo.on('send', function()
  local conn = auto:connect(%q)
  local msg = { get_data = function() return '{"id":"x"}\n' end }
  local ok, err = pcall(conn.send, conn, msg)
  conn:close()
  if ok then return err end
  return 'raised: ' .. tostring(err)
end)
kumo.on('bad_hook', function() return auto:connect('http://elsewhere.tsa.kumomta') end)`, srv.URL, srv.URL+".tsa.kumomta"))
	out, _, err := rt.Fire(context.Background(), "send")
	if err != nil || len(out) != 1 || out[0] != "200 OK: noted" {
		t.Fatalf("send: %v %v", out, err)
	}
	mu.Lock()
	status = http.StatusServiceUnavailable
	mu.Unlock()
	out, _, err = rt.Fire(context.Background(), "send")
	if err != nil || len(out) != 1 || out[0] != "raised: 400 503 Service Unavailable: noted" {
		t.Fatalf("send failing: %v %v", out, err)
	}
	mu.Lock()
	if len(bodies) != 2 || bodies[0] != "/publish_log_v1 application/json {\"id\":\"x\"}\n" {
		t.Errorf("daemon got %q", bodies)
	}
	mu.Unlock()
	if _, _, err := rt.Fire(context.Background(), "bad_hook"); err == nil || !strings.Contains(err.Error(), "not a publish hook") {
		t.Fatalf("unknown hook: %v", err)
	}
}

func TestAutomationOptionErrors(t *testing.T) {
	for _, c := range []struct{ opts, want string }{
		{`{ publish = { 'tsa:8008' } }`, "publish[1]"},
		{`{ bogus = 1 }`, "bogus"},
		{`{ config_monitor_interval = 'soon' }`, "config_monitor_interval"},
		{`{ subscriber_retry_delay = -1 }`, "subscriber_retry_delay"},
		{`{ load_validation_options = { nope = true } }`, "load_validation_options"},
	} {
		rt := newRuntime(t, `local kumo = require 'kumo'
kumo.on('main', function() kumo.shaping._automation(`+c.opts+`) end)`)
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), "setup_with_automation: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.opts, err)
		}
	}
}
