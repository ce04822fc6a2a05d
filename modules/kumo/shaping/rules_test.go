package shaping

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/regex"
)

func regexEnv() Env {
	env := testEnv()
	env.CompileRegex = func(p string) (Matcher, error) { return regex.Compile(p) }
	env.Duration = func(v any) (time.Duration, error) {
		switch x := v.(type) {
		case string:
			return time.ParseDuration(x)
		case int64:
			return time.Duration(x) * time.Second, nil
		}
		return 0, nil
	}
	return env
}

func loadRules(t *testing.T) *Shaping {
	t.Helper()
	dir := writeFiles(t, map[string]string{"r.toml": fixture(t, "rules.toml")})
	s, err := Load(context.Background(), []string{filepath.Join(dir, "r.toml")}, DefaultOptions(), regexEnv())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func matchNames(ms []MatchedRule) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Rule.Regex[0])
		if m.WasRollup {
			out[len(out)-1] += "+rollup"
		}
	}
	return out
}

func TestMatchRules(t *testing.T) {
	s := loadRules(t)
	ctx := context.Background()
	rec := RecordView{
		Recipient: "user@gmail.com", EgressSource: "ip-1",
		Site: "ip-1->(alt1)?.gmail-smtp-in.l.google.com@smtp_client",
		Code: 421, Enhanced: &EnhancedCode{4, 7, 28}, Content: "try again\r\nlater RL000010",
	}
	if got := rec.SingleLine(); got != "421 4.7.28 try again later RL000010" {
		t.Fatalf("single line %q", got)
	}
	ms, err := s.MatchRules(ctx, rec, testDNS)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"^(?!.*KumoMTA internal).*RL000010+rollup", "421", "4\\.7\\.28+rollup"}
	if got := matchNames(ms); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}

	// Internal responses only match rules with match_internal.
	rec.Content = "KumoMTA internal: internal thing RL000010"
	ms, _ = s.MatchRules(ctx, rec, testDNS)
	if got := matchNames(ms); !reflect.DeepEqual(got, []string{"internal thing+rollup"}) {
		t.Fatalf("internal: %v", got)
	}

	// mx_rollup=false domain rules come last, not rollup.
	ms, _ = s.MatchRules(ctx, RecordView{Recipient: "<a@literal.example>", Site: "unspecified->literal.example@smtp_client", Code: 550, Content: "literal"}, testDNS)
	if got := matchNames(ms); !reflect.DeepEqual(got, []string{"literal"}) {
		t.Fatalf("literal: %v", got)
	}

	if ms, err := s.MatchRules(ctx, RecordView{Recipient: "Postmaster", Code: 421, Content: "RL000010"}, testDNS); err != nil || len(ms) != 0 {
		t.Fatalf("postmaster: %v %v", ms, err)
	}
	if _, err := s.MatchRules(ctx, RecordView{}, testDNS); err != ErrNoRecipients {
		t.Fatalf("no recipients: %v", err)
	}
	if _, err := s.MatchRules(ctx, RecordView{Recipient: "nodomain"}, testDNS); err == nil {
		t.Fatal("bad recipient accepted")
	}
}

func TestSiteFromQueue(t *testing.T) {
	cases := map[[2]string]string{
		{"ip-1->gmail.com@smtp_client", "ip-1"}:                         "gmail.com",
		{"ip-1->ip-1->x@smtp_client@smtp_client", "ip-1"}:               "x",
		{"unspecified->http://h.tsa.kumomta@lua:make.x", "unspecified"}: "http://h.tsa.kumomta@lua:make.x",
		{"other->x@smtp_client", "ip-1"}:                                "other->x",
	}
	for in, want := range cases {
		if got := SiteFromQueue(in[0], in[1]); got != want {
			t.Errorf("SiteFromQueue(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

func TestRuleSerialize(t *testing.T) {
	s := loadRules(t)
	def, _ := s.byDomain.get("default")
	got := def.Automation[1].Serialize().Plain(true)
	want := map[string]any{
		"regex":          []any{"internal thing", "never"},
		"action":         []any{"Bounce", map[string]any{"SetConfig": map[string]any{"name": "connection_limit", "value": int64(1)}}},
		"trigger":        map[string]any{"Threshold": "2/hr"},
		"duration":       "1h 30m",
		"match_internal": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestHashAndReferencedSources(t *testing.T) {
	body := `
[default]
connection_limit = 1
[default.sources."s0"]
x = 1
["gmail.com".sources."s2"]
y = 1
["gmail.com".sources."s1"]
y = 2
["literal.example"]
mx_rollup = false
[ "literal.example".sources."s1" ]
z = 1
`
	dir := writeFiles(t, map[string]string{"a.toml": body, "b.toml": body, "c.toml": body + "\n[\"yahoo.com\"]\nconnection_limit = 2\n"})
	load := func(f string) *Shaping {
		s, err := Load(context.Background(), []string{filepath.Join(dir, f)}, DefaultOptions(), testEnv())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a, b, c := load("a.toml"), load("b.toml"), load("c.toml")
	if a.Hash() != b.Hash() {
		t.Fatalf("same content, different hash: %s %s", a.Hash(), b.Hash())
	}
	if a.Hash() == c.Hash() {
		t.Fatal("different content, same hash")
	}
	// Warnings are part of the hash.
	a.warnings = append(a.warnings, "x")
	if a.Hash() == b.Hash() {
		t.Fatal("warnings not hashed")
	}
	refs := b.ReferencedSources()
	want := map[string][]string{
		"s0": {"domain:default"},
		"s1": {"site:(alt1)?.gmail-smtp-in.l.google.com", "domain:literal.example"},
		"s2": {"site:(alt1)?.gmail-smtp-in.l.google.com"},
	}
	if !reflect.DeepEqual(refs, want) {
		t.Fatalf("refs %v", refs)
	}
	if got := b.ReferencedSourceNames(); !reflect.DeepEqual(got, []string{"s0", "s1", "s2"}) {
		t.Fatalf("names %v", got)
	}
}
