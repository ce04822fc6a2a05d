package regex

import (
	"strings"
	"unicode/utf8"
)

// A prefilter rejects haystacks that cannot match before any engine runs:
// it holds literals of which every match needs at least one somewhere in
// the haystack. Automation rules are matched against many responses that
// mostly do not match, and a substring search costs tens of nanoseconds
// where an unanchored regex search costs microseconds.

// lit is a required literal; fold literals are ASCII and stored in lower
// case, and are only checked against ASCII haystacks (where Unicode
// simple case folding of ASCII letters is plain ASCII case folding).
type lit struct {
	s    string
	fold bool
}

type prefilter struct {
	lits    []lit
	anyFold bool
	// exact: the pattern is nothing but these literals (an alternation of
	// literal strings, capture groups aside), so for MatchString the
	// prefilter's answer is the answer.
	exact bool
}

const (
	maxPrefilterLits   = 8
	minPrefilterLitLen = 2
)

func newPrefilter(root *node) *prefilter {
	lits := required(root)
	if len(lits) == 0 {
		return nil
	}
	p := &prefilter{lits: lits, exact: onlyLiterals(root)}
	for _, l := range lits {
		if len(l.s) < minPrefilterLitLen && !p.exact {
			return nil
		}
		p.anyFold = p.anyFold || l.fold
	}
	return p
}

// onlyLiterals reports whether n is a literal string or an alternation of
// literal strings (each of one case sensitivity), inside any groups.
func onlyLiterals(n *node) bool {
	for n.kind == nGroup {
		n = n.subs[0]
	}
	switch n.kind {
	case nLiteral:
		return true
	case nConcat:
		for _, c := range n.subs {
			if c.kind != nLiteral || c.fold != n.subs[0].fold {
				return false
			}
		}
		return true
	case nAlt:
		for _, c := range n.subs {
			if !onlyLiterals(c) {
				return false
			}
		}
		return true
	}
	return false
}

// decides reports whether mayMatch(s) is the exact answer for s.
func (p *prefilter) decides(s string) bool {
	return p.exact && (!p.anyFold || isASCII(s))
}

// mayMatch reports false only when s cannot contain a match.
func (p *prefilter) mayMatch(s string) bool {
	if p.anyFold && !isASCII(s) {
		return true
	}
	for _, l := range p.lits {
		if l.fold {
			if containsFoldASCII(s, l.s) {
				return true
			}
		} else if strings.Contains(s, l.s) {
			return true
		}
	}
	return false
}

func containsFoldASCII(s, lower string) bool {
	n := len(lower)
	c0 := lower[0]
	u0 := c0
	if 'a' <= c0 && c0 <= 'z' {
		u0 -= 'a' - 'A'
	}
	// Candidate positions are the occurrences of either case of the first
	// byte, found with IndexByte (vectorized) rather than byte by byte.
	next := func(from int, c byte) int {
		if from > len(s)-n {
			return -1
		}
		if i := strings.IndexByte(s[from:len(s)-n+1], c); i >= 0 {
			return from + i
		}
		return -1
	}
	pl, pu := next(0, c0), -1
	if u0 != c0 {
		pu = next(0, u0)
	}
	for pl >= 0 || pu >= 0 {
		i := pl
		if i < 0 || pu >= 0 && pu < i {
			i = pu
		}
		j := 1
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lower[j] {
				break
			}
		}
		if j == n {
			return true
		}
		if i == pl {
			pl = next(i+1, c0)
		} else {
			pu = next(i+1, u0)
		}
	}
	return false
}

// score ranks requirement sets: longer shortest literal first, then fewer
// alternatives.
func score(ls []lit) (int, int) {
	if len(ls) == 0 {
		return -1, 0
	}
	short := len(ls[0].s)
	for _, l := range ls[1:] {
		short = min(short, len(l.s))
	}
	return short, -len(ls)
}

func better(a, b []lit) bool {
	as, an := score(a)
	bs, bn := score(b)
	return as > bs || as == bs && an > bn
}

// required returns literals of which any match of n (or, for look-arounds,
// the haystack) contains at least one, or nil when it knows none.
func required(n *node) []lit {
	switch n.kind {
	case nLiteral:
		return literalRun([]*node{n})
	case nClass:
		if r, ok := n.set.isSingle(); ok && r != utf8.RuneError {
			return []lit{{s: string(r)}}
		}
	case nGroup, nAtomic:
		return required(n.subs[0])
	case nRepeat:
		if n.lo >= 1 {
			return required(n.subs[0])
		}
	case nLook:
		if n.look == lookAhead || n.look == lookBehind {
			return required(n.subs[0])
		}
	case nAlt:
		var out []lit
		for _, c := range n.subs {
			r := required(c)
			if r == nil {
				return nil
			}
			out = append(out, r...)
		}
		if len(out) > maxPrefilterLits {
			return nil
		}
		return out
	case nConcat:
		var best []lit
		consider := func(c []lit) {
			if c != nil && better(c, best) {
				best = c
			}
		}
		var run []*node
		flush := func() {
			if len(run) > 0 {
				consider(literalRun(run))
				run = nil
			}
		}
		for _, c := range n.subs {
			if c.kind == nLiteral {
				if len(run) > 0 && run[0].fold != c.fold {
					flush()
				}
				run = append(run, c)
				continue
			}
			flush()
			consider(required(c))
		}
		flush()
		return best
	}
	return nil
}

// literalRun turns consecutive literals with the same fold flag into one
// required literal (nil for case-insensitive non-ASCII text).
func literalRun(run []*node) []lit {
	var b strings.Builder
	for _, n := range run {
		r := n.r
		if r == utf8.RuneError {
			// Engines read each invalid UTF-8 byte of a haystack as U+FFFD.
			return nil
		}
		if n.fold {
			if r >= utf8.RuneSelf {
				return nil
			}
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
		}
		b.WriteRune(r)
	}
	return []lit{{s: b.String(), fold: run[0].fold}}
}
