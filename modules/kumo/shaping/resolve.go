package shaping

import (
	"context"
	"errors"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

var errNoResolver = errors.New("no DNS resolver configured")

// MXLookup resolves the MX host names of a domain for provider matching:
// lowercased FQDNs with a trailing dot (`host.:port` when the domain
// carried a port), preference order, sorted within a preference.
type MXLookup interface {
	MXHosts(ctx context.Context, domain string) ([]string, error)
}

// queryMX looks a domain's MX hosts up at most once for one query, however
// many providers need them.
type queryMX struct {
	inner  MXLookup
	domain string
	hosts  []string
	err    error
	done   bool
}

func onceMX(mx MXLookup) *queryMX { return &queryMX{inner: mx} }

func (q *queryMX) MXHosts(ctx context.Context, domain string) ([]string, error) {
	if q.inner == nil {
		return nil, errNoResolver
	}
	if !q.done || q.domain != domain {
		q.hosts, q.err = q.inner.MXHosts(ctx, domain)
		q.domain, q.done = domain, true
	}
	return q.hosts, q.err
}

// suffixMatches strips one trailing dot from candidate, then tests a plain,
// case-sensitive byte suffix (no label boundaries: "ail.com" matches
// "gmail.com", ".foo.com" does not match "foo.com").
func suffixMatches(candidate, suffix string) bool {
	return strings.HasSuffix(strings.TrimSuffix(candidate, "."), suffix)
}

// hostMatches strips one trailing dot from candidate and compares exactly.
func hostMatches(candidate, name string) bool {
	return strings.TrimSuffix(candidate, ".") == name
}

// domainMatches reports whether provider p applies to domain: a
// DomainSuffix entry that matches decides at once; otherwise, when there
// are MXSuffix or HostName entries, every MX host of the domain must match
// one of them. A lookup failure means no match.
func (p *Provider) domainMatches(ctx context.Context, domain string, mx MXLookup) bool {
	needMX := false
	for _, m := range p.Matches {
		switch m.Kind {
		case DomainSuffix:
			if suffixMatches(domain, m.Value) {
				return true
			}
		default:
			needMX = true
		}
	}
	if !needMX {
		return false
	}
	hosts, err := mx.MXHosts(ctx, domain)
	if err != nil {
		return false
	}
	for _, h := range hosts {
		ok := false
		for _, m := range p.Matches {
			switch m.Kind {
			case MXSuffix:
				ok = suffixMatches(h, m.Value)
			case HostName:
				ok = hostMatches(h, m.Value)
			}
			if ok {
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// applyImplied merges provider p's implied parameters for source into t:
// provider_name, the named additional connection limit and
// message rate, and provider_source_selection_rate moved from t into a
// named additional source selection rate. It returns what it merged.
func (p *Provider) applyImplied(source string, t *plain.Map) *plain.Map {
	implied := plain.NewMap(0)
	implied.Set("provider_name", p.Name)
	prefix := "shaping-provider-" + p.Name + "-" + source
	if p.ConnectionLimit != "" {
		m := plain.NewMap(0)
		m.Set(prefix+"-limit", p.ConnectionLimit)
		implied.Set("additional_connection_limits", m)
	}
	if p.MaxMessageRate != "" {
		m := plain.NewMap(0)
		m.Set(prefix+"-rate", p.MaxMessageRate)
		implied.Set("additional_message_rate_throttles", m)
	}
	if v, ok := t.Get("provider_source_selection_rate"); ok {
		t.Delete("provider_source_selection_rate")
		m := plain.NewMap(0)
		m.Set(prefix+"-selection-rate", v)
		implied.Set("additional_source_selection_rates", m)
	}
	mergeTable(t, implied)
	return implied
}

// impliedPaths maps the entries applyImplied adds for source to the
// provenance paths of the settings that imply them; selectionFrom is the
// path prefix of the table provider_source_selection_rate was taken from.
func (p *Provider) impliedPaths(source, selectionFrom string) map[string]string {
	prefix := "shaping-provider-" + p.Name + "-" + source
	return map[string]string{
		"additional_connection_limits" + pathSep + prefix + "-limit":               connectionLimitKey,
		"additional_message_rate_throttles" + pathSep + prefix + "-rate":           maxMessageRateKey,
		"additional_source_selection_rates" + pathSep + prefix + "-selection-rate": selectionFrom + "provider_source_selection_rate",
	}
}

// Layer names one step of a resolution, for explaining where values came
// from.
type Layer struct {
	Kind   string     // "default", "provider", "provider-source", "site", "domain", "site-source", "domain-source", "provider-implied"
	Name   string     // provider, site or domain name; source name for *-source
	Params *plain.Map // what this layer contributed (after replace_base effects)
	Reset  bool       // the layer discarded everything before it (replace_base)
	// Origin lists every definition of the block the layer comes from;
	// Setting and EntrySetting say which one set a given value.
	Origin []Origin

	prov    *provenance
	prefix  string            // path prefix of Params in prov ("" or a source's)
	implied map[string]string // provider-implied entries: path in Params -> path in prov
}

// Setting returns the file and block that set key in this layer, with the
// values earlier definitions of the block set for it (see Setting).
func (l Layer) Setting(key string) Setting { return l.setting(key) }

// EntrySetting is Setting for one entry of an additional_* table, which
// merge entry by entry.
func (l Layer) EntrySetting(key, entry string) Setting {
	return l.setting(key + pathSep + entry)
}

func (l Layer) setting(path string) Setting {
	if l.prov == nil {
		return Setting{Origin: originAt(l.Origin, 0)}
	}
	if p, ok := l.implied[path]; ok {
		path = p
	} else {
		path = l.prefix + path
	}
	return settingOf(l.Origin, l.prov, path)
}
