package kumopolicy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
	"github.com/kumopolicy/kumopolicy/modules/kumo/tsaclient"
)

// benchRules: a handful of automation rules, the last one matching the
// benchmark's record.
const benchRules = `[["default".automation]]
regex = "mailbox full"
action = "Suspend"
duration = "1 hour"

[["default".automation]]
regex = ["too many connections", "try again later"]
action = "Suspend"
duration = "1 hour"

[["default".automation]]
regex = "451 go away"
action = ["Suspend", {SetConfig={name="max_message_rate", value="3/m"}}]
duration = "1 hour"
`

const benchPublish = "http://127.0.0.1:9"

func benchSetup(b *testing.B) (rules string, msg *loghook.Message, rec *logrecord.Record) {
	b.Helper()
	rules = filepath.Join(b.TempDir(), "rules.toml")
	if err := os.WriteFile(rules, []byte(benchRules), 0o644); err != nil {
		b.Fatal(err)
	}
	raw, _, err := plain.ParseJSON([]byte(automationRecord("451 go away now", 451)), plain.ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rec, err = logrecord.Decode(raw)
	if err != nil {
		b.Fatal(err)
	}
	msg, err = loghook.NewMessage(raw.(map[string]any), rec)
	if err != nil {
		b.Fatal(err)
	}
	return rules, msg, rec
}

// benchHelper measures should_enqueue_log_record, fired as the log-hook
// pipeline fires it (a pooled state, a Message userdata), on a policy
// using the shaping helper found first on searchRoots (none: ours).
func benchHelper(b *testing.B, searchRoots []string) {
	rules, msg, _ := benchSetup(b)
	dns := dnstest.New(b)
	dir := b.TempDir()
	h, err := kumopolicy.New(kumopolicy.Config{Policy: "bench.lua", PolicySource: []byte(fmt.Sprintf(`
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
shaping:setup_with_automation { no_default_files = true, extra_files = { %q }, publish = { %q } }
`, rules, benchPublish)), SearchRoots: searchRoots, SystemRoots: []string{}, ShareDir: dir, EtcDir: dir,
		Resolver: []string{dns.Addr}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	policy := kumo.LogHookPolicy(h.Runtime)
	ctx := context.Background()
	hook := tsaclient.HookName(benchPublish)
	ok, err := policy.ShouldEnqueue(ctx, msg, hook)
	if err != nil || !ok {
		b.Fatalf("the record should be accepted: %v %v", ok, err)
	}
	if q, _ := msg.Meta("queue"); q != hook {
		b.Fatalf("queue meta %v", q)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if ok, err := policy.ShouldEnqueue(ctx, msg, hook); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkShouldEnqueueOurHelper: our policy-extras.shaping (native filter
// and match_rules).
func BenchmarkShouldEnqueueOurHelper(b *testing.B) { benchHelper(b, nil) }

// BenchmarkShouldEnqueueKumoHelper: KumoMTA's shaping.lua from the pinned
// corpus, unmodified, on kumopolicy's Lua API.
func BenchmarkShouldEnqueueKumoHelper(b *testing.B) {
	benchHelper(b, []string{filepath.Join(sharedref.Corpus(b), "assets")})
}

// BenchmarkShouldEnqueueNativeMatcher: the native decision alone
// (tsaclient.Filter with the shaping matcher on loaded data), no Lua.
func BenchmarkShouldEnqueueNativeMatcher(b *testing.B) {
	rules, _, rec := benchSetup(b)
	data, err := shaping.Load(context.Background(), []string{rules}, shaping.DefaultOptions(), shaping.DefaultEnv(nil))
	if err != nil {
		b.Fatal(err)
	}
	opts, err := tsaclient.DecodeOptions(map[string]any{"publish": []any{benchPublish}})
	if err != nil {
		b.Fatal(err)
	}
	f := tsaclient.NewFilter(opts, tsaclient.ShapingMatcher{Current: func(context.Context) (*shaping.Shaping, error) { return data, nil }})
	hook := tsaclient.HookName(benchPublish)
	ctx := context.Background()
	if !f.Accept(ctx, hook, rec) {
		b.Fatal("the record should be accepted")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if !f.Accept(ctx, hook, rec) {
			b.Fatal("refused")
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
