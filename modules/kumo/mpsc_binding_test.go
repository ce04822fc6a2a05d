package kumo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
)

const mpscPolicy = `
local kumo = require 'kumo'
kumo.on('main', function(op, v)
  local q = kumo.mpsc.define('test.q', 2)
  if op == 'send' then
    q:send(v)
  elseif op == 'recv_many' then
    local batch = q:recv_many(8)
    local out = {}
    for i, item in ipairs(batch) do out[i] = item.n end
    return table.concat(out, ',')
  elseif op == 'recv' then
    return q:recv()
  end
end)
`

// Items sent from one state are received, in order and as fresh values, in
// another; a receiver waits for the first item.
func TestMpscAcrossStates(t *testing.T) {
	rt := luart.New(luart.Options{PolicyFile: "p.lua", PolicySource: []byte(mpscPolicy), SystemRoots: []string{}, MaxStates: 4})
	kumo.Install(rt, kumo.Services{})
	t.Cleanup(func() { rt.Close() })
	consumer, err := rt.NewStandaloneState()
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	producer, err := rt.NewStandaloneState()
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	got := make(chan any, 1)
	go func() {
		out, _, err := consumer.Fire(context.Background(), "main", lua.LString("recv_many"))
		if err != nil {
			got <- err
			return
		}
		got <- out[0].String()
	}()
	for i := 1; i <= 2; i++ {
		tbl := producer.L.NewTable()
		tbl.RawSetString("n", lua.LNumber(i))
		if _, _, err := producer.Fire(context.Background(), "main", lua.LString("send"), tbl); err != nil {
			t.Fatal(err)
		}
	}
	r := <-got
	if r != "1,2" && r != "1" {
		t.Fatalf("received %v", r)
	}
}

// A receive that waits is interrupted by the dispatch's context.
func TestMpscRecvHonoursContext(t *testing.T) {
	rt := newRuntime(t, mpscPolicy)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := rt.Fire(ctx, "main", "recv")
		done <- err
	}()
	cancel()
	err := <-done
	if err == nil {
		t.Fatal("recv on an empty queue returned after the context ended without an error")
	}
	var te *luart.TimeoutError
	if !errors.As(err, &te) && !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestMpscErrors(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{`local q = kumo.mpsc.define 'e1'; q:send(q)`, "queue:send: cannot memoize a userdata value (MpscQueue)"},
		{`kumo.mpsc.define('e2', 0)`, "the limit must be a non-zero positive integer"},
		{`kumo.mpsc.define('e3'):send(function() end)`, "cannot memoize a function value"},
		{`kumo.mpsc.define('e4'):recv_many(0)`, "LIMIT must be a positive integer"},
		{`local q = kumo.mpsc.define('e5', 1); q:send(1); q:send_timeout(2, 0.01)`, "timed out waiting for room"},
		{`local q = kumo.mpsc.define('e6'); q:close(); q:send(1)`, "queue is closed"},
		{`kumo.mpsc.define('e7').len()`, "expected a queue as self"},
	} {
		rt := newRuntime(t, "local kumo = require 'kumo'\nkumo.on('main', function() "+c.src+" end)")
		_, _, err := rt.Fire(context.Background(), "main")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.src, err, c.want)
		}
	}
}

func TestMpscCloseEndsReceives(t *testing.T) {
	out := runMain(t, `
local kumo = require 'kumo'
kumo.on('main', function()
  local q = kumo.mpsc.define 'closing'
  q:send 'last'
  q:close()
  return q:is_closed(), q:recv(), q:recv(), q:recv_many(4), q:try_send 'x'
end)
`)
	wantValues(t, out, true, "last", nil, nil, false)
}
