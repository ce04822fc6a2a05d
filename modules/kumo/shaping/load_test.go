package shaping

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// fakeDNS maps domains to (site, hosts); missing domains are NXDOMAIN.
type fakeDNS map[string]struct {
	site  string
	hosts []string
}

func (f fakeDNS) SiteName(_ context.Context, d string) (string, error) {
	e, ok := f[d]
	if !ok {
		return "", errors.New("MX lookup for " + d + " failed after 1ms: NXDOMAIN")
	}
	return e.site, nil
}

func (f fakeDNS) MXHosts(_ context.Context, d string) ([]string, error) {
	e, ok := f[d]
	if !ok {
		return nil, errors.New("NXDOMAIN")
	}
	return e.hosts, nil
}

var testDNS = fakeDNS{
	"gmail.com":      {"(alt1)?.gmail-smtp-in.l.google.com", []string{"alt1.gmail-smtp-in.l.google.com.", "gmail-smtp-in.l.google.com."}},
	"googlemail.com": {"(alt1)?.gmail-smtp-in.l.google.com", []string{"alt1.gmail-smtp-in.l.google.com.", "gmail-smtp-in.l.google.com."}},
	"yahoo.com":      {"(mta5|mta6|mta7).am0.yahoodns.net", []string{"mta5.am0.yahoodns.net.", "mta6.am0.yahoodns.net.", "mta7.am0.yahoodns.net."}},
	"nullmx.example": {"", []string{"."}},
	"example":        {"example", []string{"example."}},
}

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testEnv() Env { return Env{DNS: testDNS} }

// fixture returns the content of testdata/name.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadMergesFilesInOrder(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.toml": fixture(t, "TestLoadMergesFilesInOrder/a.toml"),
		"b.json": `{
  "default": {"idle_timeout": "5s"},
  "googlemail.com": {"connection_limit": 3},
  "provider": {"google": {"provider_max_message_rate": "99/s", "provider_connection_limit": 7}}
}`,
	})
	s, err := Load(context.Background(), []string{filepath.Join(dir, "a.toml"), filepath.Join(dir, "b.json")}, DefaultOptions(), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	def, _ := s.byDomain.get("default")
	if !reflect.DeepEqual(def.Params.Keys(), []string{"connection_limit", "idle_timeout"}) {
		t.Fatalf("default params %v", def.Params.Keys())
	}
	site, ok := s.bySite.get("(alt1)?.gmail-smtp-in.l.google.com")
	if !ok || site.Name != "gmail.com" {
		t.Fatalf("site %+v", site)
	}
	if !reflect.DeepEqual(site.Params.Plain(true), map[string]any{"max_deliveries_per_connection": int64(50), "connection_limit": int64(3)}) {
		t.Fatalf("site params merged across files wrong: %v", site.Params.Plain(true))
	}
	if !reflect.DeepEqual(s.siteAliases["(alt1)?.gmail-smtp-in.l.google.com"], []string{"gmail.com", "googlemail.com"}) {
		t.Fatalf("aliases %v", s.siteAliases)
	}
	p := s.byName["google"]
	if p.MaxMessageRate != "10/s" || p.ConnectionLimit != "7" {
		t.Fatalf("provider merge: rate %q (first wins) limit %q", p.MaxMessageRate, p.ConnectionLimit)
	}
	if _, ok := s.byDomain.get("literal.example"); !ok {
		t.Fatal("mx_rollup=false domain not stored by name")
	}
	if len(s.Warnings()) != 0 || len(s.Errors()) != 0 {
		t.Fatalf("unexpected messages %v %v", s.Warnings(), s.Errors())
	}
}

func TestLoadMessages(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.toml":    fixture(t, "TestLoadMessages/main.toml"),
		"garbage.conf": "this is [ not toml or json",
	})
	missing := filepath.Join(dir, "missing.toml")
	opts := ValidateShapingOptions()
	s, err := Load(context.Background(), []string{missing, filepath.Join(dir, "garbage.conf"), "https://127.0.0.1:1/never.toml", filepath.Join(dir, "main.toml")}, Options{
		ProviderOverlap: opts.ProviderOverlap, DNSFail: Warn, NullMX: Error, AliasedSite: Warn,
		RemoteLoad: Warn, LocalLoad: Error, SkipRemote: true,
	}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantErrors := []string{
		"local shaping source " + missing + " error: loading data from file " + missing + ": No such file or directory (os error 2)",
		"parsing " + filepath.Join(dir, "garbage.conf") + ": as toml: ",
		"domain nullmx.example has a NULL MX and cannot be used with mx_rollup=true. Ignoring the shaping config for that domain.",
	}
	errs := s.Errors()
	if len(errs) != len(wantErrors) {
		t.Fatalf("errors:\n%s", strings.Join(errs, "\n"))
	}
	for i, w := range wantErrors {
		if !strings.HasPrefix(errs[i], w) {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], w)
		}
	}
	if !strings.Contains(errs[1], ", as json: ") {
		t.Errorf("try-both message lacks the json part: %s", errs[1])
	}
	wantWarnings := []string{
		"Ignoring https://127.0.0.1:1/never.toml because skip_remote is set to true",
		"Entry for domain 'example' consists of a single DNS label. Domain names in TOML sections need to be quoted like '[\"example.com\"]` otherwise the '.' will create a nested table rather than being added to the domain name.",
		"error resolving MX for nxdomain.example: MX lookup for nxdomain.example failed after 1ms: NXDOMAIN. Ignoring the shaping config for that domain.",
		"multiple domain blocks alias to the same site: (alt1)?.gmail-smtp-in.l.google.com: gmail.com, googlemail.com",
		"domain gmail.com is also matched by provider(s): google",
		"domain googlemail.com is also matched by provider(s): google",
	}
	if got := s.Warnings(); !reflect.DeepEqual(got, wantWarnings) {
		t.Fatalf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarnings, "\n"))
	}
	// The null MX and NXDOMAIN blocks were dropped.
	if len(s.bySite.keys) != 2 {
		t.Fatalf("sites %v", s.bySite.keys)
	}
}

func TestLoadIgnoreDropsMessages(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.toml": "[\"nxdomain.example\"]\nconnection_limit = 1\n"})
	s, err := Load(context.Background(), []string{filepath.Join(dir, "a.toml"), filepath.Join(dir, "nope.toml")}, Options{LocalLoad: Ignore}, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings())+len(s.Errors()) != 0 {
		t.Fatalf("Ignore kept messages: %v %v", s.Warnings(), s.Errors())
	}
}

func TestLoadHardErrors(t *testing.T) {
	cases := map[string]struct{ file, body, want string }{
		"toml syntax":  {"bad.toml", "[default\n", "parsing toml from file "},
		"json syntax":  {"bad.json", `{"default": }`, "parsing json from file "},
		"empty json":   {"empty.json", "", "parsing json from file "},
		"block type":   {"t.toml", "\"a.com\" = 5\n", `"a.com": invalid type: integer ` + "`5`"},
		"mx_rollup":    {"t.toml", "[\"a.com\"]\nmx_rollup = \"yes\"\n", "mx_rollup: invalid type: string"},
		"match":        {"t.toml", "[provider.p]\nmatch = [{Suffix = \".x\"}]\n", "unknown variant `Suffix`"},
		"rule regex":   {"t.toml", "[[\"a.com\".automation]]\naction = \"Suspend\"\nduration = \"1h\"\n", "missing field `regex`"},
		"rule action":  {"t.toml", "[[\"a.com\".automation]]\nregex = \"x\"\naction = \"Explode\"\nduration = \"1h\"\n", "\"action\" field expected either a single Action or an array of Actions.\nThe underlying error message is:\nunknown variant `Explode`"},
		"rule trigger": {"t.toml", "[[\"a.com\".automation]]\nregex = \"x\"\naction = \"Suspend\"\ntrigger = \"Later\"\nduration = \"1h\"\n", "unknown variant `Later`"},
		"no duration":  {"t.toml", "[[\"a.com\".automation]]\nregex = \"x\"\naction = \"Bounce\"\n", "missing field `duration`"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{c.file: c.body})
			_, err := Load(context.Background(), []string{filepath.Join(dir, c.file)}, DefaultOptions(), testEnv())
			var he *HardError
			if !errors.As(err, &he) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a HardError containing %q", err, c.want)
			}
		})
	}
}

func TestLoadFinishValidation(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.toml": `
[default]
conection_limit = 10
`})
	env := testEnv()
	env.ValidateParams = func(p *plain.Map) error {
		for _, k := range p.Keys() {
			if k == "conection_limit" {
				return errors.New("unknown field `conection_limit`")
			}
		}
		return nil
	}
	_, err := Load(context.Background(), []string{filepath.Join(dir, "a.toml")}, DefaultOptions(), env)
	if err == nil || err.Error() != "domain: default: interpreting domain 'default' params as EgressPathConfig: unknown field `conection_limit` (defined in "+filepath.Join(dir, "a.toml")+" [default])" {
		t.Fatalf("got %v", err)
	}
}

func TestLoadRemote(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/shaping.toml":
			w.Write([]byte("[default]\nconnection_limit = 42\n"))
		case "/slow.toml":
			time.Sleep(300 * time.Millisecond)
		default:
			http.Error(w, "nope", http.StatusNotFound)
		}
	}))
	defer srv.Close()
	opts := DefaultOptions()
	opts.RemoteLoad = Warn
	opts.HTTPTimeout = 100 * time.Millisecond
	s, err := Load(context.Background(), []string{srv.URL + "/shaping.toml", srv.URL + "/missing.toml", srv.URL + "/slow.toml"}, opts, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	def, ok := s.byDomain.get("default")
	if !ok {
		t.Fatal("remote default not loaded")
	}
	if v, _ := def.Params.Get("connection_limit"); v != int64(42) {
		t.Fatalf("%v", v)
	}
	w := s.Warnings()
	if len(w) != 2 || !strings.Contains(w[0], "failed: status 404 Not Found nope") || !strings.Contains(w[1], "timeout making HTTP request to") {
		t.Fatalf("warnings %q", w)
	}
}

func TestLoadJSONLeniencyIsNoted(t *testing.T) {
	dir := writeFiles(t, map[string]string{"a.json": "{\n // note\n \"default\": {\"connection_limit\": 1,},\n}"})
	s, err := Load(context.Background(), []string{filepath.Join(dir, "a.json")}, DefaultOptions(), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if c := s.CompatWarnings(); len(c) != 1 || !strings.Contains(c[0].Message, "comments and trailing commas") || !strings.Contains(c[0].Message, "KumoMTA") {
		t.Fatalf("compat %v", c)
	}
}

func TestLoadThenResolveReplaceBaseSurprise(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"one.toml": fixture(t, "TestLoadThenResolveReplaceBaseSurprise/one.toml"),
		"two.toml": `
["yahoo.com"]
replace_base = true
max_deliveries_per_connection = 7
`,
	})
	s, err := Load(context.Background(), []string{filepath.Join(dir, "one.toml"), filepath.Join(dir, "two.toml")}, DefaultOptions(), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// First definition has replace_base: default is discarded at query time.
	got := s.Resolve(ctx, Query{"gmail.com", "s", "(alt1)?.gmail-smtp-in.l.google.com"}, testDNS, nil).Plain(true)
	if !reflect.DeepEqual(got, map[string]any{"max_deliveries_per_connection": int64(5)}) {
		t.Fatalf("gmail: %v", got)
	}
	// A later replace_base replaced the stored params but keeps merging over default.
	got = s.Resolve(ctx, Query{"yahoo.com", "s", "(mta5|mta6|mta7).am0.yahoodns.net"}, testDNS, nil).Plain(true)
	if !reflect.DeepEqual(got, map[string]any{"connection_limit": int64(10), "max_deliveries_per_connection": int64(7)}) {
		t.Fatalf("yahoo: %v", got)
	}
}

func TestLint(t *testing.T) {
	dir := writeFiles(t, map[string]string{"p.toml": fixture(t, "TestLint/p.toml")})
	s, err := Load(context.Background(), []string{filepath.Join(dir, "p.toml")}, DefaultOptions(), testEnv())
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, d := range s.Lint() {
		if d.File != filepath.Join(dir, "p.toml") || !strings.HasPrefix(d.Block, "provider.") {
			t.Errorf("diagnostic lacks context: %+v", d)
		}
		msgs = append(msgs, d.Message)
	}
	want := []string{
		`provider 'dotted' match MXSuffix = ".kpnmail.nl." can never match`,
		`provider 'upper' match MXSuffix = ".Google.com" can never match`,
		`provider 'orphan' has no match entries`,
	}
	if len(msgs) != len(want) {
		t.Fatalf("lint:\n%s", strings.Join(msgs, "\n"))
	}
	for i, w := range want {
		if !strings.HasPrefix(msgs[i], w) {
			t.Errorf("lint %d: %s", i, msgs[i])
		}
	}
}
