package shaping

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

// The merge rules of KumoMTA's shaping data: how a later layer's parameters
// combine with what is already there, at load time (across files) and at
// query time (default → providers → site → domain → sources).

// additionalMaps are the parameters whose tables merge key by key instead of
// being replaced whole.
var additionalMaps = map[string]bool{
	"additional_connection_limits":      true,
	"additional_message_rate_throttles": true,
	"additional_source_selection_rates": true,
}

// mergeTable merges src into dst: for each key of src, in order, the
// additional_* tables merge entry by entry when both sides are tables;
// every other value replaces dst's whole value (nested tables included).
// An existing key keeps its position; new keys are appended.
func mergeTable(dst, src *plain.Map) { mergeTableTracked(dst, src, nil) }

// mergeTableTracked is mergeTable that, when tr is not nil, records in
// tr.into which definition set each value and what it replaced. Only
// loading tracks; the query-time merge passes nil and pays nothing.
func mergeTableTracked(dst, src *plain.Map, tr *tracker) {
	for _, k := range src.Keys() {
		sv := src.Value(k)
		if additionalMaps[k] {
			if dt, ok := dst.Value(k).(*plain.Map); ok {
				if st, ok := sv.(*plain.Map); ok {
					for _, ik := range st.Keys() {
						if tr != nil {
							old, had := dt.Get(ik)
							tr.set(tr.prefix+k+pathSep+ik, old, had)
						}
						dt.Set(ik, plain.Clone(st.Value(ik)))
					}
					continue
				}
			}
		}
		if tr != nil {
			old, had := dst.Get(k)
			path := tr.prefix + k
			if had && additionalMaps[k] {
				tr.into.forget(path + pathSep) // the entries' trails go with the table
			}
			tr.set(path, old, had)
		}
		dst.Set(k, plain.Clone(sv))
	}
}

// Block is a domain, site or default block: its parameters plus the
// special keys KumoMTA strips from them.
type Block struct {
	// Name is the domain key the block was first stored under (for a site,
	// the first domain that resolved to it; "default" for the default block).
	Name string
	// MxRollup: key the block by the site of its MX hosts (default true).
	MxRollup bool
	// ReplaceBase: see mergeBlock; the flag of the first block stored under
	// a key is kept.
	ReplaceBase bool
	// Params are the egress path parameters exactly as written.
	Params *plain.Map
	// Sources maps a source name to its parameter table (ordered).
	Sources *plain.Map
	// Automation holds the block's rules in order.
	Automation []*Rule
	// Origin records every definition of the block (file and block key),
	// in merge order.
	Origin []Origin
	// prov says which of the Origin definitions set each value.
	prov provenance
}

// Origin names one file and block that contributed to a stored block.
type Origin struct {
	File string
	Key  string // the block as a TOML key path: "default", `"example.com"`, `provider."gmail"`
}

func (o Origin) String() string { return o.File + " [" + o.Key + "]" }

func newBlock(name string) *Block {
	return &Block{Name: name, MxRollup: true, Params: plain.NewMap(0), Sources: plain.NewMap(0)}
}

// mergeBlock merges a later block b into a (3.3): with b.ReplaceBase,
// a's parameters, sources and automation become b's; otherwise parameters
// and each source are table-merged and automation is appended. a keeps its
// own Name, MxRollup and ReplaceBase. b's definitions are appended to
// a.Origin and a's provenance records, value by value, which definition
// set what.
func mergeBlock(a, b *Block) {
	offset := len(a.Origin)
	a.Origin = append(a.Origin, b.Origin...)
	if b.ReplaceBase {
		a.Params = b.Params.Clone()
		a.Sources = b.Sources.Clone()
		a.Automation = append([]*Rule(nil), b.Automation...)
		a.prov = b.prov.shifted(offset)
		return
	}
	tr := &tracker{into: &a.prov, from: &b.prov, offset: offset}
	mergeTableTracked(a.Params, b.Params, tr)
	mergeSources(a.Sources, b.Sources, tr)
	a.Automation = append(a.Automation, b.Automation...)
}

// mergeSources table-merges each source of src into the same-named source
// of dst, adding sources dst lacks. tr, when not nil, records provenance.
func mergeSources(dst, src *plain.Map, tr *tracker) {
	for _, name := range src.Keys() {
		st := src.Value(name).(*plain.Map)
		if dt, ok := dst.Value(name).(*plain.Map); ok {
			var sub *tracker
			if tr != nil {
				c := *tr
				c.prefix = sourcePath(name)
				sub = &c
			}
			mergeTableTracked(dt, st, sub)
		} else {
			if tr != nil {
				tr.set(sourcesKey+pathSep+name, nil, false)
			}
			dst.Set(name, st.Clone())
		}
	}
}

// Provider is a provider block.
type Provider struct {
	Name    string
	Matches []Match
	// ConnectionLimit is provider_connection_limit as its display string
	// ("10", "local:5"), or "" when unset.
	ConnectionLimit string
	// MaxMessageRate is provider_max_message_rate in canonical form, or "".
	MaxMessageRate string
	ReplaceBase    bool
	Params         *plain.Map
	Sources        *plain.Map
	Automation     []*Rule
	Origin         []Origin
	// prov says which of the Origin definitions set each value (also
	// provider_connection_limit and provider_max_message_rate).
	prov provenance
	// matchFrom is, for each of Matches, its definition (an index into
	// Origin); nil means every entry is from prov.base.
	matchFrom []int
}

// matchOrigin returns the definition that wrote Matches[i].
func (p *Provider) matchOrigin(i int) Origin {
	if i < len(p.matchFrom) {
		return originAt(p.Origin, p.matchFrom[i])
	}
	return originAt(p.Origin, p.prov.base)
}

// mergeProvider merges a later provider b into a (3.3). As in KumoMTA, a
// later provider_max_message_rate is never merged: the first definition
// wins, even with replace_base.
func mergeProvider(a, b *Provider) {
	offset := len(a.Origin)
	a.Origin = append(a.Origin, b.Origin...)
	if b.ReplaceBase {
		rate, hadRate := a.prov.trail[maxMessageRateKey]
		rateFrom, _ := a.prov.find(maxMessageRateKey)
		a.ConnectionLimit = b.ConnectionLimit
		a.Matches = append([]Match(nil), b.Matches...)
		a.matchFrom = shiftedIndexes(b.matchFrom, offset)
		a.Params = b.Params.Clone()
		a.Sources = b.Sources.Clone()
		a.Automation = append([]*Rule(nil), b.Automation...)
		a.prov = b.prov.shifted(offset)
		if a.MaxMessageRate != "" { // it survives the replacement
			if !hadRate {
				rate = &keyTrail{from: rateFrom}
			}
			a.prov.put(maxMessageRateKey, rate)
		}
		return
	}
	tr := &tracker{into: &a.prov, from: &b.prov, offset: offset}
	if b.ConnectionLimit != "" {
		tr.set(connectionLimitKey, a.ConnectionLimit, a.ConnectionLimit != "")
		a.ConnectionLimit = b.ConnectionLimit
	}
	mergeTableTracked(a.Params, b.Params, tr)
	mergeSources(a.Sources, b.Sources, tr)
	if len(b.Matches) > 0 {
		if a.matchFrom == nil {
			a.matchFrom = make([]int, len(a.Matches), len(a.Matches)+len(b.Matches))
			for i := range a.matchFrom {
				a.matchFrom[i] = a.prov.base
			}
		}
		for i := range b.Matches {
			idx := b.prov.base
			if i < len(b.matchFrom) {
				idx = b.matchFrom[i]
			}
			a.matchFrom = append(a.matchFrom, offset+idx)
		}
	}
	a.Matches = append(a.Matches, b.Matches...)
	a.Automation = append(a.Automation, b.Automation...)
}

func shiftedIndexes(in []int, offset int) []int {
	if in == nil {
		return nil
	}
	out := make([]int, len(in))
	for i, v := range in {
		out[i] = v + offset
	}
	return out
}

// MatchKind is the kind of a provider match entry.
type MatchKind int

const (
	DomainSuffix MatchKind = iota // the queried domain ends with Value
	MXSuffix                      // every MX host ends with Value
	HostName                      // every MX host equals Value
)

func (k MatchKind) String() string {
	switch k {
	case DomainSuffix:
		return "DomainSuffix"
	case MXSuffix:
		return "MXSuffix"
	default:
		return "HostName"
	}
}

// Match is one entry of a provider's match list.
type Match struct {
	Kind  MatchKind
	Value string
}
