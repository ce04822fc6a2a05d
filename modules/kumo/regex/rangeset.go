package regex

import (
	"sort"
	"sync"
	"unicode"
)

// rng is an inclusive range of code points.
type rng struct{ lo, hi rune }

// rset is a set of Unicode scalar values: sorted, non-overlapping,
// non-adjacent ranges. Surrogates (U+D800..U+DFFF) never belong to a set,
// as in Rust where classes range over scalar values.
type rset []rng

const maxRune = unicode.MaxRune

// universe is every Unicode scalar value.
var universe = rset{{0, 0xD7FF}, {0xE000, maxRune}}

// normalize sorts and merges ranges and removes surrogates.
func normalize(rs []rng) rset {
	if len(rs) == 0 {
		return nil
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	out := make(rset, 0, len(rs))
	for _, r := range rs {
		if r.lo > r.hi {
			continue
		}
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			if r.hi > out[n-1].hi {
				out[n-1].hi = r.hi
			}
			continue
		}
		out = append(out, r)
	}
	return out.intersect(universe)
}

func single(r rune) rset { return normalize([]rng{{r, r}}) }

func (s rset) contains(r rune) bool {
	i := sort.Search(len(s), func(i int) bool { return s[i].hi >= r })
	return i < len(s) && s[i].lo <= r
}

func (s rset) union(t rset) rset {
	all := make([]rng, 0, len(s)+len(t))
	all = append(all, s...)
	all = append(all, t...)
	return normalize(all)
}

func (s rset) intersect(t rset) rset {
	var out rset
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo := max(s[i].lo, t[j].lo)
		hi := min(s[i].hi, t[j].hi)
		if lo <= hi {
			out = append(out, rng{lo, hi})
		}
		if s[i].hi < t[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

// negate returns the complement within the scalar values.
func (s rset) negate() rset {
	var out rset
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, rng{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= maxRune {
		out = append(out, rng{next, maxRune})
	}
	return out.intersect(universe)
}

func (s rset) minus(t rset) rset { return s.intersect(t.negate()) }

func (s rset) symdiff(t rset) rset { return s.union(t).minus(s.intersect(t)) }

func (s rset) equal(t rset) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// isSingle reports whether s holds exactly one code point.
func (s rset) isSingle() (rune, bool) {
	if len(s) == 1 && s[0].lo == s[0].hi {
		return s[0].lo, true
	}
	return 0, false
}

// fromTable converts a unicode.RangeTable.
func fromTable(t *unicode.RangeTable) rset {
	var rs []rng
	for _, r := range t.R16 {
		rs = appendStride(rs, rune(r.Lo), rune(r.Hi), rune(r.Stride))
	}
	for _, r := range t.R32 {
		rs = appendStride(rs, rune(r.Lo), rune(r.Hi), rune(r.Stride))
	}
	return normalize(rs)
}

func appendStride(rs []rng, lo, hi, stride rune) []rng {
	if stride == 1 {
		return append(rs, rng{lo, hi})
	}
	for c := lo; c <= hi; c += stride {
		rs = append(rs, rng{c, c})
	}
	return rs
}

var tableCache sync.Map // *unicode.RangeTable -> rset

// tableSet is fromTable with a process-wide cache.
func tableSet(t *unicode.RangeTable) rset {
	if v, ok := tableCache.Load(t); ok {
		return v.(rset)
	}
	s := fromTable(t)
	tableCache.Store(t, s)
	return s
}

var foldables = sync.OnceValue(func() []rune {
	// Every code point whose simple case-folding orbit has more than one
	// member. They all lie below U+20000.
	var out []rune
	for r := rune(0); r < 0x20000; r++ {
		if unicode.SimpleFold(r) != r {
			out = append(out, r)
		}
	}
	return out
})

// fold closes s under Unicode simple case folding, as Rust's
// try_case_fold_simple (and Go's (?i)) do.
func (s rset) fold() rset {
	var add []rng
	for _, r := range foldables() {
		if !s.contains(r) {
			continue
		}
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if !s.contains(f) {
				add = append(add, rng{f, f})
			}
		}
	}
	if len(add) == 0 {
		return s
	}
	return s.union(add)
}

// orbit returns r and every code point that case-folds to the same value.
func orbit(r rune) rset {
	rs := []rng{{r, r}}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		rs = append(rs, rng{f, f})
	}
	return normalize(rs)
}
