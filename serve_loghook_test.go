package kumopolicy_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
)

// serveHookPolicy delivers its log hook's records by adding a ready-queue
// suspension named after the record's id, so a delivery is visible in the
// admin registry.
const serveHookPolicy = `
local kumo = require 'kumo'
kumo.on('init', function()
  kumo.start_http_listener { listen = '127.0.0.1:0' }
  kumo.configure_log_hook { name = 'h' }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
  msg:set_meta('queue', 'h.q')
  return true
end)
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.h' } } }
end)
kumo.on('make.h', function()
  return { send = function(self, msg)
    kumo.api.admin.suspend_ready_q.suspend { name = msg:get_meta('log_record').id, reason = 'delivered' }
    return '200 OK'
  end }
end)
`

const serveRecord = `{"type":"Delivery","id":"rec-1","sender":"s@example.com","recipient":"u@example.com",
"queue":"example.com","site":"s->mx","size":1,"response":{"code":250,"enhanced_code":null,"content":"ok","command":null},
"timestamp":1700000000,"created":1699999990,"num_attempts":0,"bounce_classification":"Uncategorized",
"meta":{},"headers":{},"nodeid":"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"}`

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, b.String()
}

func TestServeLogRecordsReachThePipeline(t *testing.T) {
	base, h, cancel, done := startServe(t, serveHookPolicy)
	if code, body := post(t, base+"/api/log-record/v1", serveRecord); code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if es, _ := h.Services().Admin.ReadyQSuspensions(); len(es) == 1 && es[0].Name == "rec-1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the record was never delivered")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A record that does not decode is the client's fault.
	if code, body := post(t, base+"/api/log-record/v1", `{"type":"NoSuchType"}`); code != 422 || !strings.Contains(body, "log record") {
		t.Fatalf("bad record: %d %s", code, body)
	}
	code, body := get(t, base+"/metrics")
	for _, want := range []string{`kumopolicy_log_hook_received_total{hook="h"} 1`, `kumopolicy_log_hook_enqueued_total{hook="h"} 1`,
		`kumopolicy_log_queue_delivered_total{queue="h.q"} 1`, `kumopolicy_log_queue_queued{queue="h.q"} 0`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics lack %q: %d", want, code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	done <- nil // for the cleanup
	if err := h.Services().LogHooks.SubmitJSON(t.Context(), []byte(serveRecord)); !errors.Is(err, loghook.ErrClosed) {
		t.Fatalf("the pipeline should be closed after Serve: %v", err)
	}
}
