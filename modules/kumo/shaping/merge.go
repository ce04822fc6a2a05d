package shaping

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
func mergeTable(dst, src *Table) {
	for _, k := range src.keys {
		sv := src.vals[k]
		if additionalMaps[k] {
			if dt, ok := dst.vals[k].(*Table); ok {
				if st, ok := sv.(*Table); ok {
					for _, ik := range st.keys {
						dt.Set(ik, cloneValue(st.vals[ik]))
					}
					continue
				}
			}
		}
		dst.Set(k, cloneValue(sv))
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
	Params *Table
	// Sources maps a source name to its parameter table (ordered).
	Sources *Table
	// Automation holds the block's rules in order.
	Automation []*Rule
	// Origin records where each definition of the block came from.
	Origin []Origin
}

// Origin names one file and block that contributed to a stored block.
type Origin struct {
	File string
	Key  string // the block as a TOML key path: "default", `"example.com"`, `provider."gmail"`
}

func newBlock(name string) *Block {
	return &Block{Name: name, MxRollup: true, Params: NewTable(), Sources: NewTable()}
}

// mergeBlock merges a later block b into a (3.3): with b.ReplaceBase,
// a's parameters, sources and automation become b's; otherwise parameters
// and each source are table-merged and automation is appended. a keeps its
// own Name, MxRollup and ReplaceBase.
func mergeBlock(a, b *Block) {
	a.Origin = append(a.Origin, b.Origin...)
	if b.ReplaceBase {
		a.Params = b.Params.Clone()
		a.Sources = b.Sources.Clone()
		a.Automation = append([]*Rule(nil), b.Automation...)
		return
	}
	mergeTable(a.Params, b.Params)
	mergeSources(a.Sources, b.Sources)
	a.Automation = append(a.Automation, b.Automation...)
}

// mergeSources table-merges each source of src into the same-named source
// of dst, adding sources dst lacks.
func mergeSources(dst, src *Table) {
	for _, name := range src.keys {
		st := src.vals[name].(*Table)
		if dt, ok := dst.vals[name].(*Table); ok {
			mergeTable(dt, st)
		} else {
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
	Params         *Table
	Sources        *Table
	Automation     []*Rule
	Origin         []Origin
}

// mergeProvider merges a later provider b into a (3.3). As in KumoMTA, a
// later provider_max_message_rate is never merged: the first definition
// wins, even with replace_base.
func mergeProvider(a, b *Provider) {
	a.Origin = append(a.Origin, b.Origin...)
	if b.ReplaceBase {
		a.ConnectionLimit = b.ConnectionLimit
		a.Matches = append([]Match(nil), b.Matches...)
		a.Params = b.Params.Clone()
		a.Sources = b.Sources.Clone()
		a.Automation = append([]*Rule(nil), b.Automation...)
		return
	}
	if b.ConnectionLimit != "" {
		a.ConnectionLimit = b.ConnectionLimit
	}
	mergeTable(a.Params, b.Params)
	mergeSources(a.Sources, b.Sources)
	a.Matches = append(a.Matches, b.Matches...)
	a.Automation = append(a.Automation, b.Automation...)
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
