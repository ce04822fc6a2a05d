package tsaclient_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/modules/kumo/tsaclient"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

// countingApplier keeps one ready-q suspension per name and counts calls.
type countingApplier struct {
	mu    sync.Mutex
	calls int
	ready map[string]tsaclient.ReadyQSuspension
}

func (a *countingApplier) SuspendReadyQ(s tsaclient.ReadyQSuspension) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	a.ready[s.Name] = s
	return nil
}
func (a *countingApplier) Suspend(tsaclient.SchedQSuspension) error {
	return errors.New("unexpected sched-q suspension")
}
func (a *countingApplier) Bounce(tsaclient.SchedQBounce) error {
	return errors.New("unexpected bounce")
}

func (a *countingApplier) state() (int, map[string]tsaclient.ReadyQSuspension) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]tsaclient.ReadyQSuspension{}
	for k, v := range a.ready {
		out[k] = v
	}
	return a.calls, out
}

// startDaemon runs a TSA daemon in-process on listen with its state under
// db; it returns the daemon and its base URL.
func startDaemon(t *testing.T, dir, listen, db string) (*daemon.Daemon, string) {
	t.Helper()
	rules := filepath.Join(dir, "rules.toml")
	if err := os.WriteFile(rules, []byte(`[["default".automation]]
regex = "451 go away"
action = ["Suspend", {SetConfig={name="max_message_rate", value="3/m"}}]
duration = "1 hour"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "policy.lua")
	if err := os.WriteFile(policy, []byte(fmt.Sprintf(`local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function()
  tsa.start_http_listener { listen = %q }
end)
kumo.on('tsa_load_shaping_data', function()
  return kumo.shaping.load { %q }
end)
`, listen, rules)), 0o644); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	empty := t.TempDir()
	host, err := kumopolicy.New(kumopolicy.Config{Policy: policy, ShareDir: empty, EtcDir: empty, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	d, err := daemon.New(host.Runtime, daemon.Options{Logger: logger, DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d, "http://" + d.Addrs()[0]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func record(content string, code int) []byte {
	ts := time.Now().Unix()
	return []byte(fmt.Sprintf(`{"type":"TransientFailure","id":"1d98076abbbc11ed940250ebf67f93bd","sender":"sender@example.com",`+
		`"recipient":"recip@example.com","queue":"example.com","site":"source2->example.com@smtp_client","size":1024,`+
		`"response":{"code":%d,"enhanced_code":null,"content":%q,"command":null},`+
		`"timestamp":%d,"created":%d,"num_attempts":1,"bounce_classification":"Uncategorized",`+
		`"egress_source":"source2","meta":{},"headers":{},"nodeid":"557f3ad4-2c8c-11ee-976e-782d1c8d2d5d"}`+"\n",
		code, content, ts, ts))
}

// TestPublishSubscribeRestart: a published record matching a Suspend rule
// reaches the Applier as a ready-q suspension; after the daemon restarts
// on the same port and state, the subscriber reconnects and the replayed
// snapshot leaves one entry, not two.
func TestPublishSubscribeRestart(t *testing.T) {
	dir, db := t.TempDir(), filepath.Join(t.TempDir(), "tsa.db")
	d1, base := startDaemon(t, t.TempDir(), "127.0.0.1:0", db)

	a := &countingApplier{ready: map[string]tsaclient.ReadyQSuspension{}}
	sub := &tsaclient.Subscriber{URL: base, Applier: a, RetryDelay: 50 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sub.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	waitFor(t, "the subscription", func() bool { return sub.Connections() == 1 })

	p := tsaclient.NewPublisher(0, 0)
	defer p.Close()
	disp, err := p.Publish(ctx, base, record("go away now", 451))
	if err != nil || disp != "200 OK: " {
		t.Fatalf("publish: %q %v", disp, err)
	}
	waitFor(t, "the suspension", func() bool { _, r := a.state(); return len(r) == 1 })
	_, r := a.state()
	s, ok := r["source2->example.com@smtp_client"]
	if !ok || !strings.HasPrefix(s.Reason, "automation rule: 451 go away (rule_hash=") || !strings.HasSuffix(s.Reason, ")") ||
		s.Expires.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("suspension %+v", r)
	}

	// Restart on the same port with the same state.
	addr := d1.Addrs()[0]
	if err := d1.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls, _ := a.state()
	startDaemon(t, dir, addr, db)
	waitFor(t, "the reconnect", func() bool { return sub.Connections() >= 2 })
	waitFor(t, "the replayed snapshot", func() bool { c, _ := a.state(); return c > calls })
	_, r = a.state()
	if len(r) != 1 {
		t.Errorf("entries after the replay: %+v", r)
	}
	// The snapshot's rule hash is the bare hex, the live event's
	// "<site>-<hex>": both end in the same hex.
	after := r["source2->example.com@smtp_client"]
	if hex := s.Reason[strings.LastIndexByte(s.Reason, '-')+1:]; !strings.HasSuffix(after.Reason, hex) {
		t.Errorf("replayed %q, live %q", after.Reason, s.Reason)
	}
}
