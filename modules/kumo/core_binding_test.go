package kumo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

func TestLogFunctionsFormatAndFilter(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	rt := luart.New(luart.Options{PolicyFile: "p.lua", SystemRoots: []string{}, Logger: logger, PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.log_info('hello', 42, 1.5, nil, true, setmetatable({}, {__tostring = function() return 'TS' end}), 'bad\xff')
  kumo.log_debug('hidden')
  kumo.log_error('oops')
end)
`)})
	kumo.Install(rt, kumo.Services{})
	defer rt.Close()
	if _, _, err := rt.Fire(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, `msg="p.lua:4: hello 42 1.5 nil true TS bad\\xFF"`) {
		t.Errorf("log_info line wrong:\n%s", out)
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line emitted at info level:\n%s", out)
	}
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "p.lua:6: oops") || !strings.Contains(out, "target=lua") {
		t.Errorf("log_error line wrong:\n%s", out)
	}
}

func TestRejectIsRecognisableFromGo(t *testing.T) {
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('send', function(code) kumo.reject(code, 'try later') end)
kumo.on('main', function()
  local ok, err = pcall(kumo.reject, 550, 'no')
  return ok, tostring(err), type(err)
end)
`)
	_, _, err := rt.Fire(context.Background(), "send", 421)
	re, ok := kumo.AsReject(err)
	if !ok {
		t.Fatalf("dispatch error does not carry a RejectError: %T %v", err, err)
	}
	if re.Code != 421 || re.Message != "try later" || !re.Transient() || !re.Disconnect() {
		t.Fatalf("got %+v", re)
	}
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != false || out[1] != "550 no" || out[2] != "userdata" {
		t.Fatalf("pcall(kumo.reject) gave %v", out)
	}
	if _, _, err := rt.Fire(context.Background(), "send", 42); err == nil || !strings.Contains(err.Error(), "between 100 and 599") {
		t.Fatalf("bad code accepted: %v", err)
	}
}

func TestSpawnTaskParams(t *testing.T) {
	cases := []struct{ call, want string }{
		{`kumo.spawn_task{event_name = 'w'}`, "missing field `args`"},
		{`kumo.spawn_task{args = {}}`, "missing field `event_name`"},
		{`kumo.spawn_task{event_name = 'w', args = {}, extra = 1}`, "kumo.spawn_task: unknown field `extra`, expected `event_name` or `args`"},
		{`kumo.spawn_task{event_name = 'w', args = 'x'}`, "kumo.spawn_task: args: invalid type: string \"x\", expected a sequence"},
		{`kumo.spawn_task{event_name = 'w', args = {print}}`, "kumo.spawn_task: args[1]: cannot convert a function value to data"},
		{`kumo.spawn_task('w')`, "expected a table of parameters"},
	}
	for _, c := range cases {
		rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function() `+c.call+` end)
kumo.on('w', function() end)
`)
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.call, err, c.want)
		}
	}
}

func TestSleepAndTimeSleep(t *testing.T) {
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  kumo.sleep(0.01)
  kumo.time.sleep(0.01)
  return kumo.time.sleep == kumo.sleep
end)
kumo.on('long', function() kumo.sleep(60) end)
`)
	out, _, err := rt.Fire(context.Background(), "main")
	if err != nil || out[0] != true {
		t.Fatalf("%v %v", out, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err = rt.Fire(ctx, "long")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sleep not cancelled: %v", err)
	}
}

func TestBumpEpochAndValidationFailed(t *testing.T) {
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function() kumo.bump_config_epoch() kumo.validation_failed() end)
`)
	if _, _, err := rt.Fire(context.Background(), "main"); err != nil {
		t.Fatal(err)
	}
	if rt.Epoch() != 1 || !rt.ValidationFailed() {
		t.Fatalf("epoch=%d failed=%v", rt.Epoch(), rt.ValidationFailed())
	}
}

func TestTracebackShape(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
local function where() return kumo.traceback(0) end
kumo.on('main', function()
  local tb = where()
  local f0, f1 = tb[1], tb[2]
  return f0.what, f0.short_src, f0.curr_line, f1.what, f1.source, f1.curr_line, f1.line_defined, f1.last_line_defined, f1.is_tail_call, f1.event
end)
`)
	want := []any{"C", "[C]", nil, "Lua", "@test_policy.lua", int64(3), int64(3), int64(3), false, "Normal"}
	for i, w := range want {
		if out[i] != w {
			t.Errorf("field %d = %#v, want %#v", i, out[i], w)
		}
	}
}

func TestNotYetSupportedFunctionsSaySo(t *testing.T) {
	rt := newRuntime(t, `
local kumo = require 'kumo'
kumo.on('main', function() kumo.xfer.xfer {} end)
`)
	_, _, err := rt.Fire(context.Background(), "main")
	if err == nil || !strings.Contains(err.Error(), "kumo.xfer.xfer is not supported by kumopolicy yet") {
		t.Fatalf("got %v", err)
	}
}
