package shaping

import (
	"context"
	"fmt"
	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// ourDefaultShaping is the embedded file kumopolicy serves in place of
// KumoMTA's /opt/kumomta/share/policy-extras/shaping.toml.
var ourDefaultShaping = filepath.Join("..", "..", "..", "etc", "policy", "shaping.toml")

// kumoBundledShaping returns the path of the shaping.toml bundled with the
// pinned KumoMTA corpus in ../shared (a skip on a clone without it, a
// failure in CI).
func kumoBundledShaping(t *testing.T) string {
	t.Helper()
	return sharedref.CorpusFile(t, "assets/policy-extras/shaping.toml")
}

// comparisonDNS gives every domain block of both files an MX host of its
// own (so mx_rollup blocks become sites), and, for every provider match
// entry of both files, a probe domain that the entry matches; plus a probe
// whose MX hosts use all of a provider's suffixes at once, and a domain no
// provider matches. It returns the DNS and the probe domains.
func comparisonDNS(paths ...string) (fakeDNS, []string, error) {
	dns := fakeDNS{}
	var probes []string
	add := func(domain string, hosts ...string) {
		site := "site-of-" + domain
		if _, seen := dns[domain]; !seen {
			probes = append(probes, domain)
		}
		dns[domain] = struct {
			site  string
			hosts []string
		}{site, hosts}
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, nil, err
		}
		doc, err := ParseTOML(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %v", p, err)
		}
		for _, key := range doc.Keys() {
			if key != "provider" {
				add(key, "mx."+key+".")
				continue
			}
			provs, _ := doc.Value(key).(*plain.Map)
			for _, name := range provs.Keys() {
				pt, _ := provs.Value(name).(*plain.Map)
				mv, _ := pt.Get("match")
				matches, err := parseMatches(mv)
				if err != nil {
					return nil, nil, fmt.Errorf("%s: provider %s: %v", p, name, err)
				}
				var all []string
				for i, m := range matches {
					probe := fmt.Sprintf("probe-%s-%d.test", name, i)
					switch m.Kind {
					case DomainSuffix:
						add("probe"+m.Value, "mx.unrelated.test.")
					case MXSuffix:
						add(probe, "mx1"+m.Value+".")
						all = append(all, "mx2"+m.Value+".")
					case HostName:
						add(probe, m.Value+".")
						all = append(all, m.Value+".")
					}
				}
				if len(all) > 1 {
					add(fmt.Sprintf("probe-%s-all.test", name), all...)
				}
			}
		}
	}
	add("unmatched.test", "mx.unmatched.test.")
	return dns, probes, nil
}

// reporter is the part of *testing.T the comparison uses, so that a test
// can check the comparison itself.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestEmbeddedDefaultMatchesKumoMTA requires kumopolicy's embedded default
// shaping data to have the same effective values as KumoMTA's bundled
// shaping.toml: the same default, domain, site and provider blocks (no
// more, no fewer, providers in the same order), each with the same
// parameters, sources and automation rules, and the same resolved egress
// parameters for every domain and provider of the file, for every source
// either file names. Text, comments and key order within a block may
// differ; values are compared as KumoMTA interprets them ("3 days" and
// "72h" are the same duration).
func TestEmbeddedDefaultMatchesKumoMTA(t *testing.T) {
	compareFiles(t, kumoBundledShaping(t), ourDefaultShaping)
}

// compareFiles reports every difference in effective values between the
// shaping files at theirsPath (KumoMTA's) and oursPath.
func compareFiles(t reporter, theirsPath, oursPath string) {
	t.Helper()
	dns, probes, err := comparisonDNS(theirsPath, oursPath)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	env := DefaultEnv(dns)
	load := func(p string) *Shaping {
		t.Helper()
		s, err := Load(context.Background(), []string{p}, DefaultOptions(), env)
		if err != nil {
			t.Errorf("loading %s: %v", p, err)
			return nil
		}
		if errs := s.Errors(); len(errs) > 0 {
			t.Errorf("loading %s: errors %v", p, errs)
			return nil
		}
		return s
	}
	theirs, ours := load(theirsPath), load(oursPath)
	if theirs == nil || ours == nil {
		return
	}

	// The comparison must cover something: KumoMTA's file has domains,
	// rolled-up sites and providers.
	if len(theirs.byDomain.keys) < 2 || len(theirs.bySite.keys) == 0 || len(theirs.providers) == 0 {
		t.Errorf("KumoMTA's file loaded as %d domain blocks, %d sites, %d providers; the comparison would prove nothing",
			len(theirs.byDomain.keys), len(theirs.bySite.keys), len(theirs.providers))
		return
	}

	// Blocks: the same set, each with the same content.
	compareBlockMaps(t, "domain", theirs.byDomain, ours.byDomain)
	compareBlockMaps(t, "site", theirs.bySite, ours.bySite)
	if !reflect.DeepEqual(theirs.siteOf, ours.siteOf) {
		t.Errorf("domains rolled up to sites: KumoMTA's %v, ours %v", theirs.siteOf, ours.siteOf)
	}
	var theirNames, ourNames []string
	for _, p := range theirs.providers {
		theirNames = append(theirNames, p.Name)
	}
	for _, p := range ours.providers {
		ourNames = append(ourNames, p.Name)
	}
	if !reflect.DeepEqual(theirNames, ourNames) {
		t.Errorf("providers (in matching order): KumoMTA's %v, ours %v", theirNames, ourNames)
	}
	for _, tp := range theirs.providers {
		if op, ok := ours.byName[tp.Name]; ok {
			compareProviders(t, tp, op)
		}
	}

	// Resolution: every domain block, every provider probe, a domain
	// nothing matches and a name that is not a DNS name (default only),
	// for every source either file names.
	domains := append([]string{"not a domain"}, probes...)
	sources := map[string]bool{"unspecified": true}
	for _, s := range append(theirs.ReferencedSourceNames(), ours.ReferencedSourceNames()...) {
		sources[s] = true
	}
	ctx := context.Background()
	for _, d := range domains {
		site := d
		if e, ok := dns[d]; ok {
			site = e.site
		}
		for src := range sources {
			q := Query{Domain: d, Source: src, Site: site}
			what := fmt.Sprintf("resolve(%q, %q, %q)", d, src, site)
			compareParams(t, what, theirs.Resolve(ctx, q, dns, nil), ours.Resolve(ctx, q, dns, nil))
		}
	}
}

func compareBlockMaps(t reporter, kind string, theirs, ours blockMap) {
	t.Helper()
	tk, ok := sortedCopy(theirs.keys), sortedCopy(ours.keys)
	if !reflect.DeepEqual(tk, ok) {
		t.Errorf("%s blocks: KumoMTA's %q, ours %q", kind, tk, ok)
	}
	for _, k := range theirs.keys {
		ob, found := ours.get(k)
		if !found {
			continue
		}
		tb := theirs.m[k]
		what := fmt.Sprintf("%s %q", kind, k)
		if tb.MxRollup != ob.MxRollup || tb.ReplaceBase != ob.ReplaceBase {
			t.Errorf("%s: mx_rollup/replace_base: KumoMTA's %v/%v, ours %v/%v", what, tb.MxRollup, tb.ReplaceBase, ob.MxRollup, ob.ReplaceBase)
		}
		compareParams(t, what, tb.Params, ob.Params)
		compareSources(t, what, tb.Sources, ob.Sources)
		compareRules(t, what, tb.Automation, ob.Automation)
	}
}

func compareProviders(t reporter, tp, op *Provider) {
	t.Helper()
	what := "provider " + tp.Name
	if !reflect.DeepEqual(tp.Matches, op.Matches) {
		t.Errorf("%s: match: KumoMTA's %v, ours %v", what, tp.Matches, op.Matches)
	}
	if tp.ConnectionLimit != op.ConnectionLimit {
		t.Errorf("%s: provider_connection_limit: KumoMTA's %q, ours %q", what, tp.ConnectionLimit, op.ConnectionLimit)
	}
	if tp.MaxMessageRate != op.MaxMessageRate {
		t.Errorf("%s: provider_max_message_rate: KumoMTA's %q, ours %q", what, tp.MaxMessageRate, op.MaxMessageRate)
	}
	if tp.ReplaceBase != op.ReplaceBase {
		t.Errorf("%s: replace_base: KumoMTA's %v, ours %v", what, tp.ReplaceBase, op.ReplaceBase)
	}
	compareParams(t, what, tp.Params, op.Params)
	compareSources(t, what, tp.Sources, op.Sources)
	compareRules(t, what, tp.Automation, op.Automation)
}

func compareSources(t reporter, what string, theirs, ours *plain.Map) {
	t.Helper()
	if tk, ok := sortedCopy(theirs.Keys()), sortedCopy(ours.Keys()); !reflect.DeepEqual(tk, ok) {
		t.Errorf("%s: sources: KumoMTA's %q, ours %q", what, tk, ok)
	}
	for _, name := range theirs.Keys() {
		if ov, ok := ours.Get(name); ok {
			ts := theirs.Value(name).(*plain.Map).Clone()
			ts2 := ov.(*plain.Map).Clone()
			// A provider source's selection rate is not an egress path
			// parameter; compare it as written.
			tr, _ := ts.Get("provider_source_selection_rate")
			or, _ := ts2.Get("provider_source_selection_rate")
			if !reflect.DeepEqual(plain.Unordered(tr, true), plain.Unordered(or, true)) {
				t.Errorf("%s: source %q: provider_source_selection_rate: KumoMTA's %v, ours %v", what, name, tr, or)
			}
			ts.Delete("provider_source_selection_rate")
			ts2.Delete("provider_source_selection_rate")
			compareParams(t, fmt.Sprintf("%s source %q", what, name), ts, ts2)
		}
	}
}

// compareParams requires the same keys, each with a value that means the
// same egress path setting.
func compareParams(t reporter, what string, theirs, ours *plain.Map) {
	t.Helper()
	keys := map[string]bool{}
	for _, k := range append(theirs.Keys(), ours.Keys()...) {
		keys[k] = true
	}
	for _, k := range sortedCopy(mapKeys(keys)) {
		tv, tok := theirs.Get(k)
		ov, ook := ours.Get(k)
		switch {
		case !tok:
			t.Errorf("%s: %s: KumoMTA's sets nothing, ours %v", what, k, plain.Unordered(ov, true))
		case !ook:
			t.Errorf("%s: %s: KumoMTA's %v, ours sets nothing", what, k, plain.Unordered(tv, true))
		default:
			te, terr := effective(k, tv)
			oe, oerr := effective(k, ov)
			if terr != nil || oerr != nil {
				t.Errorf("%s: %s: KumoMTA's %v (%v), ours %v (%v)", what, k, plain.Unordered(tv, true), terr, plain.Unordered(ov, true), oerr)
			} else if !reflect.DeepEqual(te, oe) {
				t.Errorf("%s: %s: KumoMTA's %v (%v), ours %v (%v)", what, k, plain.Unordered(tv, true), te, plain.Unordered(ov, true), oe)
			}
		}
	}
}

// effective is the value a key takes in an egress path config built from
// it alone.
func effective(key string, v any) (any, error) {
	c, err := egress.DecodeEgressPathConfig(map[string]any{key: plain.Unordered(v, true)})
	if err != nil {
		return nil, err
	}
	got, _ := c.Serialize().Get(key)
	if m, ok := got.(*plain.Map); ok {
		return m.Plain(false), nil
	}
	return got, nil
}

// compareRules compares automation rules as KumoMTA interprets them:
// regexes, actions, trigger, duration and match_internal, in order.
func compareRules(t reporter, what string, theirs, ours []*Rule) {
	t.Helper()
	if len(theirs) != len(ours) {
		t.Errorf("%s: %d automation rules in KumoMTA's, %d in ours", what, len(theirs), len(ours))
	}
	for i := range min(len(theirs), len(ours)) {
		tr, or := theirs[i].Serialize().Plain(true), ours[i].Serialize().Plain(true)
		if !reflect.DeepEqual(tr, or) {
			t.Errorf("%s: automation[%d]:\n KumoMTA's %v\n      ours %v", what, i, tr, or)
		}
	}
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// The comparison above is not blind: a changed value, a missing rule, an
// extra provider or a reordered one are each reported.
func TestEmbeddedDefaultComparisonDetectsDifferences(t *testing.T) {
	theirsPath := kumoBundledShaping(t)
	data, err := os.ReadFile(ourDefaultShaping)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	mutations := map[string]func(string) string{
		"changed value": func(s string) string {
			return strings.Replace(s, `data_timeout = "30s"`, `data_timeout = "31s"`, 1)
		},
		"extra provider": func(s string) string {
			return s + "\n[provider.extra]\nmatch = [{ MXSuffix = \".extra.test\" }]\nconnection_limit = 20\n"
		},
		"changed rule": func(s string) string {
			return strings.Replace(s, `regex = "\\[TS?S04\\]"`, `regex = "\\[TS?S05\\]"`, 1)
		},
		"reordered providers": func(s string) string {
			i := strings.Index(s, "[provider.google]")
			j := strings.Index(s, "# Yahoo")
			return s[:i] + s[j:] + s[i:j]
		},
	}
	for name, mutate := range mutations {
		changed := mutate(text)
		if changed == text {
			t.Fatalf("%s: the mutation did not apply; update the test", name)
		}
		p := filepath.Join(t.TempDir(), "shaping.toml")
		if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
		rec := &recorder{}
		compareFiles(rec, theirsPath, p)
		if len(rec.errs) == 0 {
			t.Errorf("%s: no difference reported", name)
		}
	}
}
