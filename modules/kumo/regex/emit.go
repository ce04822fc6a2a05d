package regex

import (
	"fmt"
	"regexp/syntax"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/dlclark/regexp2"
)

// Emitters turn the analysed tree into pattern text for the two engines.
// Everything with a dialect-dependent meaning is spelled out: sets become
// explicit classes (compressed with \p{..} tables), case-insensitive
// literals become (?i:x) for Go and explicit case-fold classes for regexp2,
// ^ and $ become \A, \z, (?m:^) and (?m:$), and capture groups are emitted
// unnamed so both engines number them in order of their opening
// parenthesis (names are kept by Regexp).

type dialect uint8

const (
	dialectRE2 dialect = iota // Go regexp
	dialectNET                // regexp2 (.NET syntax)
)

// keepGroupName names the hidden regexp2 group that records where \K
// reset the start of the match. regexp2 numbers named groups after the
// unnamed ones, so it does not disturb the user's numbering.
const keepGroupName = "kumoKeep"

type emitter struct {
	d         dialect
	b         strings.Builder
	noCapture bool
}

func emit(root *node, d dialect) string {
	e := &emitter{d: d}
	e.node(root)
	return e.b.String()
}

func (e *emitter) node(n *node) {
	b := &e.b
	switch n.kind {
	case nEmpty:
	case nLiteral:
		if n.fold {
			if e.d == dialectRE2 {
				b.WriteString("(?i:")
				e.lit(n.r)
				b.WriteByte(')')
			} else {
				e.class(orbit(n.r))
			}
			return
		}
		e.lit(n.r)
	case nAny:
		if n.dotNL {
			b.WriteString("(?s:.)")
		} else {
			b.WriteByte('.')
		}
	case nClass:
		e.class(n.set)
	case nAssert:
		e.assert(n.assert)
	case nConcat:
		for _, c := range n.subs {
			e.node(c)
		}
	case nAlt:
		b.WriteString("(?:")
		for i, c := range n.subs {
			if i > 0 {
				b.WriteByte('|')
			}
			e.node(c)
		}
		b.WriteByte(')')
	case nGroup:
		if e.noCapture {
			b.WriteString("(?:")
		} else {
			b.WriteByte('(')
		}
		e.node(n.subs[0])
		b.WriteByte(')')
	case nRepeat:
		c := n.subs[0]
		switch c.kind {
		case nLiteral, nClass, nAny, nGroup, nAtomic, nBackref:
			e.node(c)
		default:
			b.WriteString("(?:")
			e.node(c)
			b.WriteByte(')')
		}
		switch {
		case n.lo == 0 && n.hi == 1:
			b.WriteByte('?')
		case n.lo == 0 && n.hi < 0:
			b.WriteByte('*')
		case n.lo == 1 && n.hi < 0:
			b.WriteByte('+')
		case n.hi < 0:
			fmt.Fprintf(b, "{%d,}", n.lo)
		case n.lo == n.hi:
			fmt.Fprintf(b, "{%d}", n.lo)
		default:
			fmt.Fprintf(b, "{%d,%d}", n.lo, n.hi)
		}
		if !n.greedy {
			b.WriteByte('?')
		}
	case nLook:
		b.WriteString([...]string{"(?=", "(?!", "(?<=", "(?<!"}[n.look])
		e.node(n.subs[0])
		b.WriteByte(')')
	case nAtomic:
		b.WriteString("(?>")
		e.node(n.subs[0])
		b.WriteByte(')')
	case nBackref:
		if n.fold {
			fmt.Fprintf(b, "(?i:\\%d)", n.group)
		} else {
			fmt.Fprintf(b, "(?:\\%d)", n.group)
		}
	case nBackrefExists:
		fmt.Fprintf(b, "(?(%d)|(?!))", n.group)
	case nCond:
		cond, yes, no := n.subs[0], n.subs[1], n.subs[2]
		if cond.kind == nBackrefExists {
			fmt.Fprintf(b, "(?(%d)", cond.group)
		} else {
			// fancy-regex matches the condition (committing to its first
			// match) and continues after it; regexp2 only tests a
			// look-ahead. Test, then consume the same text atomically
			// without capturing it a second time.
			b.WriteString("(?(?=")
			e.node(cond)
			b.WriteString(")(?>")
			saved := e.noCapture
			e.noCapture = true
			e.node(cond)
			e.noCapture = saved
			b.WriteByte(')')
		}
		b.WriteString("(?:")
		e.node(yes)
		b.WriteString(")|(?:")
		e.node(no)
		b.WriteString("))")
	case nKeep:
		if !e.noCapture {
			b.WriteString("(?<" + keepGroupName + ">)")
		}
	case nContinue:
		b.WriteString(`\G`)
	default:
		panic(fmt.Sprintf("regex: cannot emit node kind %d", n.kind))
	}
}

func (e *emitter) assert(a assertKind) {
	b := &e.b
	switch a {
	case aStartText:
		b.WriteString(`\A`)
	case aEndText:
		b.WriteString(`\z`)
	case aStartLine:
		b.WriteString(`(?m:^)`)
	case aEndLine:
		b.WriteString(`(?m:$)`)
	case aWordBoundary, aNotWordBoundary, aWordStart, aWordEnd:
		if e.d == dialectRE2 {
			// Only \b and \B reach here (see needsBacktracking); they are
			// ASCII in Go and used for ASCII haystacks only.
			if a == aWordBoundary {
				b.WriteString(`\b`)
			} else {
				b.WriteString(`\B`)
			}
			return
		}
		w := wordClassNET()
		switch a {
		case aWordBoundary:
			b.WriteString("(?:(?<=" + w + ")(?!" + w + ")|(?<!" + w + ")(?=" + w + "))")
		case aNotWordBoundary:
			b.WriteString("(?:(?<=" + w + ")(?=" + w + ")|(?<!" + w + ")(?!" + w + "))")
		case aWordStart:
			b.WriteString("(?<!" + w + ")(?=" + w + ")")
		case aWordEnd:
			b.WriteString("(?<=" + w + ")(?!" + w + ")")
		}
	}
}

var wordClassNET = sync.OnceValue(func() string {
	e := &emitter{d: dialectNET}
	e.class(perlWord())
	return e.b.String()
})

func isAlnum(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// lit writes one code point so that it is literal both outside and inside
// a class.
func (e *emitter) lit(r rune) {
	b := &e.b
	switch {
	case isAlnum(r):
		b.WriteRune(r)
	case e.d == dialectRE2:
		fmt.Fprintf(b, `\x{%X}`, r)
	case r < 0x80:
		fmt.Fprintf(b, `\x%02X`, r)
	case r <= 0xFFFF:
		fmt.Fprintf(b, `\u%04X`, r)
	default:
		// regexp2 reads patterns as runes; astral code points have no
		// escape in .NET syntax but are fine as themselves.
		b.WriteRune(r)
	}
}

// classKey identifies an emitted class in classCache.
type classKey struct {
	d    dialect
	hash uint64
	n    int
}

type classEntry struct {
	set  rset
	text string
}

// classCache memoizes class texts: decomposing a large set is the
// costliest part of compiling (\w, \b and negated classes recur a lot).
var classCache sync.Map // classKey -> []classEntry (rarely more than one)

func (s rset) hash() uint64 {
	h := uint64(14695981039346656037)
	for _, r := range s {
		h = (h ^ uint64(r.lo)) * 1099511628211
		h = (h ^ uint64(r.hi)) * 1099511628211
	}
	return h
}

// classCacheMax bounds classCache; only large sets are cached.
const classCacheMax = 1024

var classCacheLen atomic.Int64

func (e *emitter) class(s rset) {
	if len(s) <= 8 {
		e.classText(s)
		return
	}
	key := classKey{e.d, s.hash(), len(s)}
	if v, ok := classCache.Load(key); ok {
		for _, ent := range v.([]classEntry) {
			if ent.set.equal(s) {
				e.b.WriteString(ent.text)
				return
			}
		}
	}
	sub := &emitter{d: e.d}
	sub.classText(s)
	text := sub.b.String()
	var entries []classEntry
	if v, ok := classCache.Load(key); ok {
		entries = v.([]classEntry)
	}
	if classCacheLen.Add(1) <= classCacheMax {
		classCache.Store(key, append(entries[:len(entries):len(entries)], classEntry{s, text}))
	}
	e.b.WriteString(text)
}

func (e *emitter) classText(s rset) {
	b := &e.b
	if len(s) == 0 {
		if e.d == dialectRE2 {
			b.WriteString(`[^\x{0}-\x{10FFFF}]`)
		} else {
			b.WriteString(`(?:(?!))`)
		}
		return
	}
	if r, ok := s.isSingle(); ok {
		e.lit(r)
		return
	}
	if s.equal(universe) {
		b.WriteString("(?s:.)")
		return
	}
	pos := e.decompose(s)
	neg := e.decompose(s.negate())
	d, negated := pos, false
	if neg.cost() < pos.cost() {
		d, negated = neg, true
	}
	b.WriteByte('[')
	if negated {
		b.WriteByte('^')
	}
	for _, name := range d.tables {
		b.WriteString(`\p{` + name + `}`)
	}
	for _, r := range d.rest {
		e.lit(r.lo)
		if r.hi > r.lo {
			if r.hi > r.lo+1 {
				b.WriteByte('-')
			}
			e.lit(r.hi)
		}
	}
	b.WriteByte(']')
}

type decomposition struct {
	tables []string
	rest   rset
}

func (d decomposition) cost() int { return len(d.tables) + len(d.rest) }

// decompose expresses s as named tables plus leftover ranges. Small sets
// are written out; large ones (\w, \p{L}, negations...) use the tables
// they contain, which keeps patterns short and, for regexp2 (which scans
// class ranges linearly), matching fast.
func (e *emitter) decompose(s rset) decomposition {
	if len(s) <= 8 {
		return decomposition{rest: s}
	}
	d := decomposition{rest: s}
	for _, t := range candidateTables(e.d) {
		ts := t.set()
		if len(ts) == 0 || !ts.subsetOf(s) || !ts.overlaps(d.rest) {
			continue
		}
		d.tables = append(d.tables, t.name)
		d.rest = d.rest.minus(ts)
		if len(d.rest) == 0 {
			break
		}
	}
	return d
}

type namedTable struct {
	name string
	set  func() rset
}

var (
	re2Tables = sync.OnceValue(func() []namedTable {
		return usable(buildCandidates(false), func(name string) bool {
			_, err := syntax.Parse(`\p{`+name+`}`, syntax.Perl)
			return err == nil
		})
	})
	netTables = sync.OnceValue(func() []namedTable {
		return usable(buildCandidates(true), func(name string) bool {
			_, err := regexp2.Compile(`\p{`+name+`}`, regexp2.None)
			return err == nil
		})
	})
)

// usable keeps the tables whose names the engine accepts (Go's regexp,
// for one, does not know every script name of the unicode package).
func usable(ts []namedTable, ok func(string) bool) []namedTable {
	var out []namedTable
	for _, t := range ts {
		if ok(t.name) {
			out = append(out, t)
		}
	}
	return out
}

func candidateTables(d dialect) []namedTable {
	if d == dialectRE2 {
		return re2Tables()
	}
	return netTables()
}

func buildCandidates(withProperties bool) []namedTable {
	var out []namedTable
	add := func(m map[string]*unicode.RangeTable, names []string) {
		sort.Slice(names, func(i, j int) bool {
			// Larger tables first, then by name for determinism.
			a, b := len(tableSet(m[names[i]])), len(tableSet(m[names[j]]))
			if a != b {
				return a > b
			}
			return names[i] < names[j]
		})
		for _, n := range names {
			t := m[n]
			out = append(out, namedTable{name: n, set: func() rset { return tableSet(t) }})
		}
	}
	var major, minor []string
	for name := range unicode.Categories {
		if len(name) == 1 {
			major = append(major, name)
		} else {
			minor = append(minor, name)
		}
	}
	add(unicode.Categories, major)
	add(unicode.Categories, minor)
	var scripts []string
	for name := range unicode.Scripts {
		scripts = append(scripts, name)
	}
	add(unicode.Scripts, scripts)
	if withProperties {
		var props []string
		for name := range unicode.Properties {
			props = append(props, name)
		}
		add(unicode.Properties, props)
	}
	return out
}

// subsetOf reports whether every member of s is in t.
func (s rset) subsetOf(t rset) bool {
	j := 0
	for _, r := range s {
		for j < len(t) && t[j].hi < r.lo {
			j++
		}
		if j == len(t) || t[j].lo > r.lo || t[j].hi < r.hi {
			return false
		}
	}
	return true
}

// overlaps reports whether s and t share a member.
func (s rset) overlaps(t rset) bool {
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		if s[i].hi < t[j].lo {
			i++
		} else if t[j].hi < s[i].lo {
			j++
		} else {
			return true
		}
	}
	return false
}
