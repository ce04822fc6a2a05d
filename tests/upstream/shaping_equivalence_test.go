package upstream

import (
	"context"
	"encoding/json"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

// equivalencePolicy answers a list of queries with the shaping helper
// found on package.path: KumoMTA's when PREFIX puts the checkout first,
// kumopolicy's embedded one otherwise. For each query it returns the raw
// merged table (skip_make) and the egress path built from it.
const equivalencePolicy = `
PREFIX
local kumo = require 'kumo'
local shaping = require 'policy-extras.shaping'
local shaper = shaping:setup_with_automation { no_default_files = true, extra_files = FILES }

kumo.on('main', function(queries_json)
  local out = {}
  for _, q in ipairs(kumo.json_parse(queries_json)) do
    local ok, mx = pcall(kumo.dns.lookup_mx, q.domain)
    local site = ok and mx.site_name or q.domain
    local raw = shaper.get_egress_path_config(q.domain, q.source, site, true)
    local made = shaper.get_egress_path_config(q.domain, q.source, site)
    table.insert(out, {
      query = q.domain .. ' / ' .. q.source,
      site = site,
      raw = kumo.json_encode(raw),
      made = kumo.json_encode(made),
    })
  end
  -- Which shaping.lua answered: the comparison is only worth something
  -- if the two runs used different helpers.
  return kumo.json_encode(out), debug.getinfo(shaping.setup_with_automation, 'S').source
end)
`

type answer struct {
	Query string `json:"query"`
	Site  string `json:"site"`
	Raw   string `json:"raw"`
	Made  string `json:"made"`
}

func loopbackDNS(t *testing.T) *dnstest.Server {
	srv := dnstest.New(t)
	for i, h := range []string{"gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com", "alt2.gmail-smtp-in.l.google.com"} {
		srv.AddMX("gmail.com", uint16(5+10*i), h, 3600)
		srv.AddMX("googlemail.com", uint16(5+10*i), h, 3600)
	}
	for _, h := range []string{"mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net", "mta7.am0.yahoodns.net"} {
		srv.AddMX("yahoo.com", 1, h, 3600)
	}
	srv.AddMX("hotmail.com", 2, "hotmail-com.olc.protection.outlook.com", 3600)
	srv.AddMX("contoso.com", 0, "contoso-com.mail.protection.outlook.com", 3600)
	for _, d := range []string{"comcast.net", "comcast-alias.example"} {
		srv.AddMX(d, 5, "mx1.comcast.net", 3600)
		srv.AddMX(d, 5, "mx2.comcast.net", 3600)
	}
	srv.AddMX("mail.com", 10, "mx00.mail.com", 3600)
	srv.AddMX("mail.com", 10, "mx01.mail.com", 3600)
	srv.AddMX("orange.fr", 10, "smtp-in.orange.fr", 3600)
	srv.AddMX("icloud.com", 10, "mx01.mail.icloud.com", 3600)
	srv.AddMX("mimecast-customer.example", 10, "eu-smtp-inbound-1.mimecast.com", 3600)
	srv.NoData("smtp.mailgun.com")
	srv.NullMX("example.com")
	return srv
}

// TestShapingHelperEquivalence runs KumoMTA's own, unmodified
// policy-extras/shaping.lua (and its sibling modules) and kumopolicy's
// embedded one over KumoMTA's shipped shaping files plus extra cases,
// against the same loopback DNS, and requires identical answers.
func TestShapingHelperEquivalence(t *testing.T) {
	dir := sharedref.Corpus(t)
	ran(t, "assets/policy-extras/shaping.lua (answers identical to ours)")
	var files []string
	for _, name := range []string{"policy-extras-shaping.toml", "community-shaping.toml"} {
		files = append(files, sharedref.UpstreamData(t, name))
	}
	// testdata/extra-shaping.toml adds what KumoMTA's files do not exercise.
	extra, err := filepath.Abs("testdata/extra-shaping.toml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, extra)
	fileList, _ := json.Marshal(files)
	luaFiles := "{" + strings.Trim(string(fileList), "[]") + "}"

	srv := loopbackDNS(t)
	domains := []string{
		"gmail.com", "googlemail.com", "yahoo.com", "hotmail.com", "contoso.com",
		"comcast.net", "comcast-alias.example", "mail.com", "smtp.mailgun.com", "orange.fr",
		"icloud.com", "mimecast-customer.example", "unknown.example", "example.com",
		"replaced.example", "literal.example", "generator.kumomta.internal",
		"http://127.0.0.1:8008.tsa.kumomta",
	}
	sources := []string{"unspecified", "ip-1", "ip-2", "my source name"}
	var queries []map[string]string
	for _, d := range domains {
		for _, s := range sources {
			queries = append(queries, map[string]string{"domain": d, "source": s})
		}
	}
	qjson, _ := json.Marshal(queries)

	run := func(prefix string) ([]answer, string) {
		src := strings.NewReplacer("PREFIX", prefix, "FILES", luaFiles).Replace(equivalencePolicy)
		rt, err := kumopolicy.New(kumopolicy.Config{Policy: "equivalence.lua", PolicySource: []byte(src), SystemRoots: []string{}, Resolver: []string{srv.Addr}})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		out, _, err := rt.Fire(ctx, "main", string(qjson))
		if err != nil {
			t.Fatalf("%s: %v", prefix, err)
		}
		var answers []answer
		if err := json.Unmarshal([]byte(out[0].(string)), &answers); err != nil {
			t.Fatal(err)
		}
		return answers, out[1].(string)
	}
	upstream, upstreamHelper := run("package.path = '" + dir + "/assets/?.lua;' .. package.path")
	ours, ourHelper := run("-- kumopolicy's embedded policy-extras")
	if !strings.Contains(upstreamHelper, dir+"/assets/policy-extras/shaping.lua") || !strings.Contains(ourHelper, "[embedded]/policy-extras/shaping.lua") {
		t.Fatalf("the runs did not use KumoMTA's and our shaping.lua: %q and %q", upstreamHelper, ourHelper)
	}
	if len(upstream) != len(queries) || len(ours) != len(queries) {
		t.Fatalf("answers: %d upstream, %d ours, %d queries", len(upstream), len(ours), len(queries))
	}
	for i := range queries {
		if !reflect.DeepEqual(upstream[i], ours[i]) {
			t.Errorf("%s differs:\n upstream %+v\n     ours %+v", upstream[i].Query, upstream[i], ours[i])
		}
	}

	// The comparison covers what it claims to: spot-check the answers.
	find := func(q string) answer {
		for _, a := range ours {
			if a.Query == q {
				return a
			}
		}
		t.Fatalf("no answer for %s", q)
		return answer{}
	}
	checks := map[string]string{
		"gmail.com / ip-1":               `"provider_name":"google"`,                          // provider
		"comcast-alias.example / ip-2":   `"max_deliveries_per_connection":5`,                 // site shared by MX, site source
		"literal.example / ip-2":         `"max_message_rate":"7/min"`,                        // mx_rollup=false + source
		"example.com / my source name":   `"connection_limit":5`,                              // domain source
		"replaced.example / unspecified": `{"connection_limit":1,"refresh_strategy":"Epoch"}`, // replace_base discards default
		"unknown.example / unspecified":  `"connection_limit":10`,                             // default only
		"orange.fr / ip-1":               `shaping-provider-orange-ip-1-limit`,                // implied params
		"gmail.com / unspecified":        `"max_deliveries_per_connection":33`,                // site from the extra file
		"yahoo.com / unspecified":        `"max_deliveries_per_connection":20`,                // later replace_base
	}
	for q, want := range checks {
		a := find(q)
		if !strings.Contains(a.Raw, want) {
			t.Errorf("%s: raw %s lacks %s", q, a.Raw, want)
		}
	}
	if a := find("gmail.com / ip-1"); !strings.Contains(a.Raw, `"shaping-provider-google-ip-1-selection-rate":"10/min"`) {
		t.Errorf("provider source selection rate missing: %s", a.Raw)
	}
}
