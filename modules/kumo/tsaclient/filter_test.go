package tsaclient

import (
	"context"
	"errors"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

func TestFilterAccept(t *testing.T) {
	const hook = "http://127.0.0.1:8008.tsa.kumomta"
	opts, err := DecodeOptions(map[string]any{
		"publish":                          []any{"http://127.0.0.1:8008", "http://127.0.0.1:9009"},
		"additional_skip_log_record_types": []any{"Expiration"},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := loadShaping(t, rulesTOML)
	calls := 0
	f := NewFilter(opts, ShapingMatcher{Current: func(context.Context) (*shaping.Shaping, error) {
		calls++
		return data, nil
	}})
	ctx := context.Background()
	match := "go away now"
	for _, c := range []struct {
		name string
		hook string
		rec  []byte
		want bool
	}{
		{"matching record", hook, recordJSON("TransientFailure", "example.com", match, 451, ""), true},
		{"second hook", "http://127.0.0.1:9009.tsa.kumomta", recordJSON("Bounce", "example.com", match, 451, ""), true},
		{"hook not ours", "my-hook", recordJSON("TransientFailure", "example.com", match, 451, ""), false},
		{"received as LogRecord", hook, recordJSON("TransientFailure", "example.com", match, 451, `,"reception_protocol":"LogRecord"`), false},
		{"queue is a publish hook", hook, recordJSON("TransientFailure", "http://127.0.0.1:9009.tsa.kumomta", match, 451, ""), false},
		{"default skipped type", hook, recordJSON("Reception", "example.com", match, 451, ""), false},
		{"additional skipped type", hook, recordJSON("Expiration", "example.com", match, 451, ""), false},
		{"no rule matches", hook, recordJSON("TransientFailure", "example.com", "try later", 451, ""), false},
	} {
		if got := f.Accept(ctx, c.hook, parseRecord(t, c.rec)); got != c.want {
			t.Errorf("%s: Accept = %v, want %v", c.name, got, c.want)
		}
	}
	if calls != 3 {
		t.Errorf("the pre-filter ran %d times, want 3 (only for records passing the other checks)", calls)
	}
	if !f.Owns(hook) || f.Owns("my-hook") {
		t.Error("Owns")
	}
}

func TestFilterPreFilterOffAndErrors(t *testing.T) {
	const hook = "http://127.0.0.1:8008.tsa.kumomta"
	rec := func() *logrecord.Record {
		return parseRecord(t, recordJSON("Delivery", "example.com", "ok", 250, ""))
	}
	off, _ := DecodeOptions(map[string]any{"publish": []any{"http://127.0.0.1:8008"}, "pre_filter": false})
	if !NewFilter(off, nil).Accept(context.Background(), hook, rec()) {
		t.Error("pre_filter=false refused a record no rule matches")
	}
	on, _ := DecodeOptions(map[string]any{"publish": []any{"http://127.0.0.1:8008"}})
	failing := ShapingMatcher{Current: func(context.Context) (*shaping.Shaping, error) { return nil, errors.New("no data") }}
	if NewFilter(on, failing).Accept(context.Background(), hook, rec()) {
		t.Error("a failing load was taken as a match")
	}
	if NewFilter(on, nil).Accept(context.Background(), hook, rec()) {
		t.Error("a nil matcher accepted")
	}
	// A record without recipients fails match_rules: refused.
	r := rec()
	r.Recipients = nil
	m := ShapingMatcher{Current: func(context.Context) (*shaping.Shaping, error) { return loadShaping(t, rulesTOML), nil }}
	if NewFilter(on, m).Accept(context.Background(), hook, r) {
		t.Error("a record match_rules rejects was accepted")
	}
}
