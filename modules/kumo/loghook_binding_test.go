package kumo_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook/loghooktest"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
)

const logHookPolicy = `
local kumo = require 'kumo'
local sink = require 'testsink'
kumo.on('init', function()
  kumo.configure_log_hook { name = 'pub', per_record = { Reception = { enable = false } } }
end)
kumo.on('should_enqueue_log_record', function(msg, hook)
  if hook ~= 'pub' then return end
  local rec = msg:get_meta 'log_record'
  if rec.type == 'Bounce' then error('handler broke') end
  assert(msg:get_meta 'reception_protocol' == 'LogRecord')
  if rec.type ~= 'Delivery' then
    msg:set_meta('queue', 'pub.tsa.kumomta')
  end
  msg:set_meta('seen', { n = rec.size, t = rec.type, tenant = msg:get_meta 'tenant_id' })
  return true
end)
kumo.on('get_queue_config', function(domain, tenant, campaign, routing_domain)
  if domain ~= 'pub.tsa.kumomta' then return end
  assert(tenant == nil and campaign == nil and routing_domain == nil)
  return kumo.make_queue_config {
    retry_interval = '1m', max_retry_interval = '4m',
    protocol = { custom_lua = { constructor = 'make.pub' } },
  }
end)
kumo.on('make.pub', function(domain, tenant, campaign)
  local conn = {}
  function conn:send(msg)
    local mode = sink.mode()
    if mode == 'reject450' then kumo.reject(450, 'later') end
    if mode == 'reject550' then kumo.reject(550, 'never') end
    if mode == 'error' then error('daemon unreachable') end
    sink.record(domain, msg:get_data(), kumo.json_encode(msg:get_meta 'seen'),
      tostring(msg:sender()), msg:recipient().domain)
    return '200 OK'
  end
  function conn:close() sink.closed() end
  return conn
end)
`

// sink is the Go side of the test-only `testsink` Lua module.
type sink struct {
	mu     sync.Mutex
	mode   string
	got    [][]string
	closes int
}

func (s *sink) set(mode string) {
	s.mu.Lock()
	s.mode = mode
	s.mu.Unlock()
}

func (s *sink) snapshot() ([][]string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.got...), s.closes
}

func (s *sink) module(st *luart.State) lua.LValue {
	L := st.L
	mod := L.NewTable()
	mod.RawSetString("mode", L.NewFunction(func(L *lua.LState) int {
		s.mu.Lock()
		defer s.mu.Unlock()
		L.Push(lua.LString(s.mode))
		return 1
	}))
	mod.RawSetString("record", L.NewFunction(func(L *lua.LState) int {
		var row []string
		for i := 1; i <= L.GetTop(); i++ {
			row = append(row, L.CheckString(i))
		}
		s.mu.Lock()
		s.got = append(s.got, row)
		s.mu.Unlock()
		return 0
	}))
	mod.RawSetString("closed", L.NewFunction(func(L *lua.LState) int {
		s.mu.Lock()
		s.closes++
		s.mu.Unlock()
		return 0
	}))
	return mod
}

const hookRecord = `{"type":"TransientFailure","id":"abc","sender":"s@example.com","recipient":"user@gmail.com",
"queue":"gmail.com","site":"unspecified->mx@smtp_client","size":1024,
"response":{"code":421,"enhanced_code":{"class":4,"subject":7,"detail":28},"content":"slow down","command":null},
"timestamp":1700000000,"created":1699999990,"num_attempts":1,"bounce_classification":"Uncategorized",
"meta":{"tenant_id":7},"headers":{},"nodeid":"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"}`

func hookRecordOf(typ string) []byte {
	return []byte(strings.Replace(hookRecord, `"TransientFailure"`, `"`+typ+`"`, 1))
}

func waitQueue(t *testing.T, p *loghook.Pipeline, name string, cond func(loghook.QueueStats) bool) loghook.QueueStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := p.Stats().Queues[name]
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: stats never matched: %+v", name, s)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLogHookEndToEnd(t *testing.T) {
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", PolicySource: []byte(logHookPolicy), SystemRoots: []string{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(func() { rt.Close() })
	clock := loghooktest.NewClock()
	pipe := loghook.New(loghook.Options{Policy: kumo.LogHookPolicy(rt), Clock: clock, Logger: rt.Logger(),
		Jitter: func(time.Duration) time.Duration { return 0 }})
	t.Cleanup(func() { pipe.Close() })
	kumo.Install(rt, kumo.Services{LogHooks: pipe})
	sk := &sink{mode: "ok"}
	rt.AddModule("testsink", sk.module)
	ctx := context.Background()
	if _, _, err := rt.Fire(ctx, "init"); err != nil {
		t.Fatal(err)
	}
	if got := pipe.Hooks(); len(got) != 1 || got[0] != "pub" {
		t.Fatalf("hooks %v", got)
	}
	const q = "pub.tsa.kumomta"

	// Delivered: the body is the record's JSON with its integers, the
	// meta came from the record, the connection saw the queue's domain.
	if err := pipe.SubmitJSON(ctx, []byte(hookRecord)); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, pipe, q, func(s loghook.QueueStats) bool { return s.Delivered == 1 })
	got, _ := sk.snapshot()
	row := got[0]
	if row[0] != q || !strings.Contains(row[1], `"size":1024,`) || !strings.Contains(row[1], `"timestamp":1700000000,`) || !strings.HasSuffix(row[1], "}\n") {
		t.Errorf("delivered %q", row[:2])
	}
	if row[2] != `{"n":1024,"t":"TransientFailure","tenant":7}` || row[3] != "s@example.com" || row[4] != "gmail.com" {
		t.Errorf("delivered %q", row[2:])
	}

	// Disabled type, handler error, and a queue whose get_queue_config
	// has no answer (smtp, not supported): nothing reaches the sink.
	for _, typ := range []string{"Reception", "Bounce", "Delivery"} {
		if err := pipe.SubmitJSON(ctx, hookRecordOf(typ)); err != nil {
			t.Fatal(err)
		}
	}
	if h := pipe.Stats().Hooks["pub"]; h.Received != 4 || h.Skipped != 1 || h.Dropped != 2 || h.Enqueued != 1 {
		t.Fatalf("hook stats %+v", h)
	}

	// kumo.reject 450: transient, retried after retry_interval.
	sk.set("reject450")
	if err := pipe.SubmitJSON(ctx, []byte(hookRecord)); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, pipe, q, func(s loghook.QueueStats) bool { return s.Transient == 1 })
	if d := clock.NextWait(t); d != time.Minute {
		t.Fatalf("retry in %v", d)
	}
	sk.set("ok")
	clock.Advance(time.Minute)
	waitQueue(t, pipe, q, func(s loghook.QueueStats) bool { return s.Delivered == 2 })

	// Any other error: transient, and the session ends (close is called).
	_, closes := sk.snapshot()
	sk.set("error")
	if err := pipe.SubmitJSON(ctx, []byte(hookRecord)); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, pipe, q, func(s loghook.QueueStats) bool { return s.Transient == 2 })
	if _, c := sk.snapshot(); c <= closes {
		t.Fatalf("the session did not end after the error (%d closes before, %d after)", closes, c)
	}
	sk.set("reject550")
	clock.Advance(clock.NextWait(t))
	s := waitQueue(t, pipe, q, func(s loghook.QueueStats) bool { return s.Permanent == 1 })
	if s.Queued != 0 || s.Delivered != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestLogHookMessageMethods(t *testing.T) {
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", SystemRoots: []string{}, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('main', function(msg)
  local out = {}
  out.id = #msg:id()
  out.recipients = #msg:recipient_list()
  out.recipient = tostring(msg:recipient())
  out.user = msg:sender().user
  out.data_len = #msg:get_data()
  msg:set_meta('k', { 1, 2, 3 })
  out.k = msg:get_meta('k')
  out.missing = msg:get_meta('nope') == nil
  local ok, err = pcall(function() return msg:parse_mime() end)
  out.header_err = tostring(err)
  ok, err = pcall(function() msg:set_meta('f', function() end) end)
  out.meta_err = tostring(err)
  return out
end)`)})
	t.Cleanup(func() { rt.Close() })
	kumo.Install(rt, kumo.Services{})
	v := map[string]any{}
	for k, x := range map[string]any{"type": "Delivery", "id": "abc", "sender": "s@example.com", "recipient": "user@gmail.com",
		"queue": "gmail.com", "site": "x", "size": int64(1), "response": map[string]any{"code": int64(250), "content": "ok", "command": nil},
		"timestamp": int64(1), "created": int64(1), "num_attempts": int64(0), "bounce_classification": "Uncategorized",
		"meta": map[string]any{}, "headers": map[string]any{}, "nodeid": "d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"} {
		v[k] = x
	}
	rec, err := logrecord.Decode(v)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := loghook.NewMessage(v, rec)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	err = rt.Call(context.Background(), func(s *luart.State) error {
		res, _, err := s.Fire(context.Background(), "main", kumo.NewMessageUserData(s.L, msg))
		if err != nil {
			return err
		}
		out, err = luart.ToGo(res[0])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	if m["id"] != int64(32) || m["recipients"] != int64(1) || m["recipient"] != "user@gmail.com" || m["user"] != "s" || m["missing"] != true {
		t.Errorf("%v", m)
	}
	if k, _ := m["k"].([]any); len(k) != 3 {
		t.Errorf("meta k %v", m["k"])
	}
	if !strings.Contains(m["header_err"].(string), "message:parse_mime is not supported by kumopolicy") {
		t.Errorf("header error %v", m["header_err"])
	}
	if !strings.Contains(m["meta_err"].(string), "set_meta") {
		t.Errorf("meta error %v", m["meta_err"])
	}
}

func TestConfigureLogHookValidateRecordsOnly(t *testing.T) {
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", SystemRoots: []string{}, Validating: true, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('init', function() kumo.configure_log_hook { name = 'pub' } end)`)})
	t.Cleanup(func() { rt.Close() })
	svc := kumo.Install(rt, kumo.Services{})
	if _, _, err := rt.Fire(context.Background(), "init"); err != nil {
		t.Fatal(err)
	}
	if svc.LogHooks != nil || len(svc.Recorder.LogHooks()) != 1 {
		t.Fatalf("validate mode: pipeline %v, recorded %d", svc.LogHooks, len(svc.Recorder.LogHooks()))
	}
	rt2 := luart.New(luart.Options{PolicyFile: "test_policy.lua", SystemRoots: []string{}, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('init', function() kumo.configure_log_hook { name = 'pub', bogus = 1 } end)`)})
	t.Cleanup(func() { rt2.Close() })
	kumo.Install(rt2, kumo.Services{})
	if _, _, err := rt2.Fire(context.Background(), "init"); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown field: %v", err)
	}
}

// KumoMTA's own policy-extras/log_hooks.lua, unmodified, drives a hook
// end to end: pre_init configures it, its should_enqueue_log_record and
// get_queue_config route to its constructor.
func TestLogHookCorpusLogHooksLua(t *testing.T) {
	assets := filepath.Join(sharedref.Corpus(t), "assets")
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", SearchRoots: []string{assets}, SystemRoots: []string{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PolicySource: []byte(`
local kumo = require 'kumo'
local sink = require 'testsink'
local log_hooks = require 'policy-extras.log_hooks'
log_hooks:new {
  name = 'webhook',
  constructor = function(domain, tenant, campaign)
    local connection = {}
    function connection:send(message)
      sink.record(domain, message:get_data())
      return 'ok'
    end
    return connection
  end,
}`)})
	t.Cleanup(func() { rt.Close() })
	pipe := loghook.New(loghook.Options{Policy: kumo.LogHookPolicy(rt), Logger: rt.Logger()})
	t.Cleanup(func() { pipe.Close() })
	kumo.Install(rt, kumo.Services{LogHooks: pipe})
	sk := &sink{}
	rt.AddModule("testsink", sk.module)
	if _, _, err := rt.Fire(context.Background(), "pre_init"); err != nil {
		t.Fatal(err)
	}
	body := "[" + hookRecord + "," + strings.Replace(hookRecord, `"meta":{`, `"reception_protocol":"LogRecord","meta":{`, 1) + "]"
	if err := pipe.SubmitJSON(context.Background(), []byte(body)); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, pipe, "webhook.log_hook", func(s loghook.QueueStats) bool { return s.Delivered == 1 })
	got, _ := sk.snapshot()
	if len(got) != 1 || got[0][0] != "webhook.log_hook" || !strings.Contains(got[0][1], `"id":"abc"`) {
		t.Fatalf("delivered %q", got)
	}
	if h := pipe.Stats().Hooks["webhook"]; h.Received != 2 || h.Skipped != 1 {
		t.Fatalf("hook stats %+v", h)
	}
}

// A constructor that returns nothing, a non-custom_lua queue and a
// batch_size above 1 fail with errors that say so, logged, never a panic.
func TestLogHookDeliveryConfigErrors(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	rt := luart.New(luart.Options{PolicyFile: "test_policy.lua", SystemRoots: []string{}, Logger: logger, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('init', function() kumo.configure_log_hook { name = 'h' } end)
kumo.on('should_enqueue_log_record', function(msg) msg:set_meta('queue', msg:get_meta('log_record').type); return true end)
kumo.on('get_queue_config', function(domain)
  if domain == 'Delivery' then
    return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.nothing' } } }
  elseif domain == 'Bounce' then
    return kumo.make_queue_config { protocol = { custom_lua = { constructor = 'make.nothing', batch_size = 10 } } }
  end
  return kumo.make_queue_config { protocol = { smtp = { mx_list = { 'mx.example.com' } } } }
end)
kumo.on('make.nothing', function() end)
`)})
	t.Cleanup(func() { rt.Close() })
	clock := loghooktest.NewClock()
	pipe := loghook.New(loghook.Options{Policy: kumo.LogHookPolicy(rt), Clock: clock, Logger: logger})
	t.Cleanup(func() { pipe.Close() })
	kumo.Install(rt, kumo.Services{LogHooks: pipe})
	ctx := context.Background()
	if _, _, err := rt.Fire(ctx, "init"); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"Delivery", "Bounce", "TransientFailure"} {
		if err := pipe.SubmitJSON(ctx, hookRecordOf(typ)); err != nil {
			t.Fatal(err)
		}
	}
	waitQueue(t, pipe, "Delivery", func(s loghook.QueueStats) bool { return s.Transient == 1 })
	if h := pipe.Stats().Hooks["h"]; h.Dropped != 2 || h.Enqueued != 1 {
		t.Fatalf("hook stats %+v", h)
	}
	mu.Lock()
	text := logs.String()
	mu.Unlock()
	for _, want := range []string{
		"constructor event 'make.nothing' returned nil, expected a connection table with a send method",
		"custom_lua batch_size 10 is not supported by kumopolicy",
		"the smtp delivery protocol is not supported by kumopolicy",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the log lacks %q:\n%s", want, text)
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}
