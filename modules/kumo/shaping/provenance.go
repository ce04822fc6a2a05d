package shaping

import (
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Provenance: which file and block set each value of a merged block.
//
// A block defined in several files is merged at load time, value by value
// (merge.go). Each stored Block and Provider keeps the list of its
// definitions (Origin) and a provenance that names, for every value, the
// definition that set it and the values of earlier definitions it replaced.
// Values are named by a path: the parameter ("connect_timeout"), an entry
// of an additional_* table ("additional_connection_limits" NUL "name"), a
// source's table ("sources" NUL "ip-1") or one of its parameters or
// entries ("sources" NUL "ip-1" NUL "connect_timeout" ...). A path without
// a trail of its own was set together with its nearest ancestor that has
// one, or by the base definition.
//
// A block defined once (the common case) has a zero provenance: no map, no
// allocation. Only loading records provenance; resolving reads it only
// when asked to explain.
//
// replace_base: a definition with replace_base = true discards everything
// earlier definitions of the block set, so after it the provenance starts
// afresh with that definition as the base. The discarded values are not
// reported as overridden (they never reach a query); Setting.Discarded
// names the definitions they came from instead.

const (
	pathSep            = "\x00"
	sourcesKey         = "sources"
	connectionLimitKey = "provider_connection_limit"
	maxMessageRateKey  = "provider_max_message_rate"
)

func sourcePath(name string) string { return sourcesKey + pathSep + name + pathSep }

type provenance struct {
	// base is the definition (an index into Origin) that set every value
	// without a trail: the first one, or the last replace_base one.
	base  int
	trail map[string]*keyTrail
}

// keyTrail is the history of one value.
type keyTrail struct {
	from    int        // the definition whose value stands
	over    []override // earlier definitions' values it replaced, oldest first
	omitted int        // older replaced values not kept (see maxKeptOverrides)
}

// maxKeptOverrides bounds the replaced values kept per value: a site that
// hundreds of domain blocks roll up into would otherwise keep every one.
const maxKeptOverrides = 8

type override struct {
	from  int
	value any
}

// find returns the definition that set path (through its nearest recorded
// ancestor) and, when path has a trail of its own, that trail.
func (p *provenance) find(path string) (int, *keyTrail) {
	if t, ok := p.trail[path]; ok {
		return t.from, t
	}
	for {
		i := strings.LastIndex(path, pathSep)
		if i < 0 {
			return p.base, nil
		}
		path = path[:i]
		if t, ok := p.trail[path]; ok {
			return t.from, nil
		}
	}
}

func (p *provenance) put(path string, t *keyTrail) {
	if p.trail == nil {
		p.trail = map[string]*keyTrail{}
	}
	p.trail[path] = t
}

// forget drops the trails of every path that starts with prefix.
func (p *provenance) forget(prefix string) {
	for k := range p.trail {
		if strings.HasPrefix(k, prefix) {
			delete(p.trail, k)
		}
	}
}

// shifted returns a copy of p with every definition index moved by offset,
// for a block whose definitions are appended after offset others.
func (p *provenance) shifted(offset int) provenance {
	out := provenance{base: p.base + offset}
	for k, t := range p.trail {
		nt := &keyTrail{from: t.from + offset, omitted: t.omitted}
		for _, o := range t.over {
			nt.over = append(nt.over, override{o.from + offset, o.value})
		}
		out.put(k, nt)
	}
	return out
}

// tracker records, while one definition is merged into a stored block,
// that definition's values into the block's provenance.
type tracker struct {
	into   *provenance // the stored block's
	from   *provenance // the definition's own (normally a zero one)
	offset int         // where the definition's Origin entries start in the block's
	prefix string      // path prefix of the table being merged
}

// set records that the definition set path, replacing old (when had).
func (tr *tracker) set(path string, old any, had bool) {
	from, _ := tr.from.find(path)
	from += tr.offset
	p := tr.into
	t := p.trail[path]
	if t == nil {
		t = &keyTrail{}
		if had {
			prev, _ := p.find(path)
			t.over = []override{{prev, old}}
		}
		p.put(path, t)
	} else if had {
		if len(t.over) >= maxKeptOverrides {
			n := copy(t.over, t.over[1:])
			t.over = t.over[:n]
			t.omitted++
		}
		t.over = append(t.over, override{t.from, old})
	}
	t.from = from
}

func originAt(o []Origin, i int) Origin {
	if i >= 0 && i < len(o) {
		return o[i]
	}
	return Origin{}
}

// Setting says where one value of a layer came from.
type Setting struct {
	// Origin is the file and block that set the value.
	Origin Origin
	// Overrode lists the values that earlier definitions of the same block
	// (in earlier files) set for the same option and that this one
	// replaced, oldest first.
	Overrode []Overridden
	// Omitted counts older replaced values that were not kept (only the
	// most recent few are); they came before those in Overrode.
	Omitted int
	// Discarded names earlier definitions of the block that a replace_base
	// definition discarded wholesale; what they set is not in Overrode.
	Discarded []Origin
}

// Overridden is a value a later definition replaced.
type Overridden struct {
	Value  any
	Origin Origin
}

func settingOf(origins []Origin, p *provenance, path string) Setting {
	from, t := p.find(path)
	s := Setting{Origin: originAt(origins, from)}
	if t != nil {
		for _, o := range t.over {
			s.Overrode = append(s.Overrode, Overridden{plain.Clone(o.value), originAt(origins, o.from)})
		}
		s.Omitted = t.omitted
	}
	if p.base > 0 && from >= p.base && p.base <= len(origins) {
		s.Discarded = append([]Origin(nil), origins[:p.base]...)
	}
	return s
}
