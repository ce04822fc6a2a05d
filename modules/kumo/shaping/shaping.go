package shaping

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Shaping is loaded, merged shaping data. It is immutable once loaded and
// safe for concurrent use.
type Shaping struct {
	byDomain  blockMap // mx_rollup=false domains, and "default"
	bySite    blockMap // mx_rollup=true domains, keyed by site name
	providers []*Provider
	byName    map[string]*Provider

	// siteAliases lists, per site, every domain stored under it (a domain
	// defined in two files is listed twice).
	siteAliases map[string][]string
	// siteOf maps each mx_rollup=true domain key to its site name.
	siteOf map[string]string
	// compat lists things kumopolicy accepted that KumoMTA would reject.
	compat []Diagnostic
	// diags are the warnings and errors with the file and block they
	// concern, in order.
	diags []Diagnostic

	warnings []string
	errors   []string
}

// blockMap is a map of blocks that keeps first-insertion order.
type blockMap struct {
	keys []string
	m    map[string]*Block
}

func (b *blockMap) get(k string) (*Block, bool) {
	blk, ok := b.m[k]
	return blk, ok
}

// mergeOrInsert merges blk into the block stored under k, or stores it.
func (b *blockMap) mergeOrInsert(k string, blk *Block) {
	if b.m == nil {
		b.m = map[string]*Block{}
	}
	if cur, ok := b.m[k]; ok {
		mergeBlock(cur, blk)
		return
	}
	b.keys = append(b.keys, k)
	b.m[k] = blk
}

func newShaping() *Shaping {
	return &Shaping{byName: map[string]*Provider{}, siteAliases: map[string][]string{}, siteOf: map[string]string{}}
}

func (s *Shaping) mergeProvider(p *Provider) {
	if cur, ok := s.byName[p.Name]; ok {
		mergeProvider(cur, p)
		return
	}
	s.byName[p.Name] = p
	s.providers = append(s.providers, p)
}

// Warnings returns the load warnings, in the order they were found.
func (s *Shaping) Warnings() []string { return append([]string(nil), s.warnings...) }

// Errors returns the load errors (messages pushed at level Error; they do
// not make a load fail).
func (s *Shaping) Errors() []string { return append([]string(nil), s.errors...) }

// CompatWarnings lists what kumopolicy accepted that KumoMTA's own loader
// would reject (for example JSON comments), for validate-shaping.
func (s *Shaping) CompatWarnings() []Diagnostic { return append([]Diagnostic(nil), s.compat...) }

// Diagnostics returns the load warnings and errors with the file and block
// each concerns (when known), in the order they were found.
func (s *Shaping) Diagnostics() []Diagnostic { return append([]Diagnostic(nil), s.diags...) }

// Diagnostic is a load message with its context.
type Diagnostic struct {
	Level   CheckLevel
	Message string
	File    string // "" when not tied to one file
	Block   string // domain key, site, "provider.NAME", or ""
}

// SiteOf returns the site name an mx_rollup=true domain block was stored
// under, if it resolved.
func (s *Shaping) SiteOf(domain string) (string, bool) {
	site, ok := s.siteOf[domain]
	return site, ok
}

// Query is what get_egress_path_config asks: the routing domain, the egress
// source and the ready queue's site name.
type Query struct {
	Domain string
	Source string
	Site   string
}

// Resolve computes the egress path parameters for q, in KumoMTA's order:
// default < providers < provider sources < site < domain (mx_rollup=false)
// < site source < domain source. Values are returned exactly as written
// (no defaults filled in); the result is a fresh table the caller owns.
// When trace is not nil, each layer that contributed is appended to it.
func (s *Shaping) Resolve(ctx context.Context, q Query, mx MXLookup, trace *[]Layer) *plain.Map {
	acc := plain.NewMap(0)
	note := func(l Layer) {
		if trace != nil {
			l.Params = l.Params.Clone()
			*trace = append(*trace, l)
		}
	}

	// 1. default: only its parameters reach the result.
	if def, ok := s.byDomain.get("default"); ok {
		acc = mergeParams(acc, def)
		if trace != nil {
			note(Layer{Kind: "default", Name: "default", Params: def.Params, Origin: def.Origin, prov: &def.prov})
		}
	}

	// 2. providers, only for names that are valid DNS names.
	var withSources []*Provider
	if IsDNSName(q.Domain) {
		mx := onceMX(mx)
		for _, p := range s.providers {
			if !p.domainMatches(ctx, q.Domain, mx) {
				continue
			}
			mergeTable(acc, p.Params)
			implied := p.applyImplied(q.Source, acc)
			if trace != nil {
				note(Layer{Kind: "provider", Name: p.Name, Params: p.Params, Origin: p.Origin, prov: &p.prov})
				note(Layer{Kind: "provider-implied", Name: p.Name, Params: implied, Origin: p.Origin, prov: &p.prov, implied: p.impliedPaths(q.Source, "")})
			}
			if p.Sources.Len() > 0 {
				withSources = append(withSources, p)
			}
		}
	}

	// 3. the matching providers' tables for this source.
	for _, p := range withSources {
		v, ok := p.Sources.Get(q.Source)
		if !ok {
			continue
		}
		src := v.(*plain.Map)
		mergeTable(acc, src)
		implied := p.applyImplied(q.Source, acc)
		if trace != nil {
			prefix := sourcePath(q.Source)
			note(Layer{Kind: "provider-source", Name: p.Name + "/" + q.Source, Params: src, Origin: p.Origin, prov: &p.prov, prefix: prefix})
			note(Layer{Kind: "provider-implied", Name: p.Name, Params: implied, Origin: p.Origin, prov: &p.prov, implied: p.impliedPaths(q.Source, prefix)})
		}
	}

	// 4, 5: the site block, then the mx_rollup=false domain block. The
	// stored replace_base flag of their first definition discards what
	// came before (KumoMTA's query-time behaviour).
	site, haveSite := s.bySite.get(q.Site)
	if haveSite {
		acc = mergeParams(acc, site)
		if trace != nil {
			note(Layer{Kind: "site", Name: q.Site, Params: site.Params, Reset: site.ReplaceBase, Origin: site.Origin, prov: &site.prov})
		}
	}
	dom, haveDomain := s.byDomain.get(q.Domain)
	if haveDomain {
		acc = mergeParams(acc, dom)
		if trace != nil {
			note(Layer{Kind: "domain", Name: q.Domain, Params: dom.Params, Reset: dom.ReplaceBase, Origin: dom.Origin, prov: &dom.prov})
		}
	}

	// 6, 7: their tables for this source.
	if haveSite {
		if src, ok := site.Sources.Get(q.Source); ok {
			mergeTable(acc, src.(*plain.Map))
			if trace != nil {
				note(Layer{Kind: "site-source", Name: q.Site + "/" + q.Source, Params: src.(*plain.Map), Origin: site.Origin, prov: &site.prov, prefix: sourcePath(q.Source)})
			}
		}
	}
	if haveDomain {
		if src, ok := dom.Sources.Get(q.Source); ok {
			mergeTable(acc, src.(*plain.Map))
			if trace != nil {
				note(Layer{Kind: "domain-source", Name: q.Domain + "/" + q.Source, Params: src.(*plain.Map), Origin: dom.Origin, prov: &dom.prov, prefix: sourcePath(q.Source)})
			}
		}
	}
	return acc
}

// mergeParams merges a stored block's parameters into acc at query time
// and returns the result: with the block's replace_base flag, a copy of
// its parameters replaces everything before it.
func mergeParams(acc *plain.Map, b *Block) *plain.Map {
	if b.ReplaceBase {
		return b.Params.Clone()
	}
	mergeTable(acc, b.Params)
	return acc
}

// IsDNSName reports whether name parses as a DNS name the way KumoMTA's
// relaxed parser does: labels of 1-63 bytes made of letters, digits, '_'
// and '-' (not leading), or non-ASCII letters (IDNA), an optional leading
// '*' label, an optional trailing dot, no empty interior labels, at most
// 255 bytes. The TSA hook names (`http://127.0.0.1:8008.tsa.kumomta`) fail.
func IsDNSName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return true // the root
	}
	for i, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		if label == "*" && i == 0 {
			continue
		}
		if label[0] == '-' {
			return false
		}
		for _, r := range label {
			switch {
			case r < utf8.RuneSelf:
				if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
					return false
				}
			case unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError:
				return false
			}
		}
	}
	return true
}
