package regex

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The parser follows the grammar of fancy-regex 0.16 (the crate KumoMTA
// compiles kumo.regex patterns and shaping automation rules with),
// including its quirks: an inline flag group such as (?i) stays in effect
// after the group that contains it closes, a '{' that does not start a
// valid repetition is a literal, (?-u) is refused, and so on. Character
// classes, \d, \p{..} and friends are "delegated" (as fancy-regex hands
// them to the regex crate) and resolved to code point sets afterwards by
// class.go, with the regex crate's rules.

type nodeKind uint8

const (
	nEmpty         nodeKind = iota
	nLiteral                // one code point: r, fold
	nAny                    // '.', '\O': dotNL
	nDelegate               // class text for the regex crate: text, fold
	nClass                  // resolved set: set
	nAssert                 // assertion: assert
	nConcat                 // subs
	nAlt                    // subs
	nGroup                  // capture group: group, subs[0]
	nRepeat                 // lo, hi (-1 = unbounded), greedy, subs[0]
	nLook                   // look, subs[0]
	nAtomic                 // subs[0]
	nBackref                // group, fold
	nBackrefExists          // group
	nCond                   // subs: condition, true branch, false branch
	nKeep                   // \K
	nContinue               // \G
)

type assertKind uint8

const (
	aStartText assertKind = iota
	aEndText
	aStartLine
	aEndLine
	aWordBoundary
	aNotWordBoundary
	aWordStart
	aWordEnd
)

type lookKind uint8

const (
	lookAhead lookKind = iota
	lookAheadNeg
	lookBehind
	lookBehindNeg
)

type node struct {
	kind   nodeKind
	r      rune
	fold   bool
	dotNL  bool
	text   string
	set    rset
	assert assertKind
	look   lookKind
	group  int
	lo, hi int
	greedy bool
	subs   []*node

	// analysis results
	minSize   int
	constSize bool
}

func (n *node) isEmpty() bool { return n.kind == nEmpty }

var emptyNode = &node{kind: nEmpty}

const (
	flagCaseI = 1 << iota
	flagMulti
	flagDotNL
	flagSwapGreed
	flagIgnoreSpace
)

const maxRecursion = 64

// Error is a compile error: the pattern, and fancy-regex's description of
// what is wrong with it.
type Error struct {
	Pattern string
	// Pos is the byte offset of a parse error, or -1.
	Pos int
	// Msg is the description, worded like fancy-regex's messages.
	Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid regex %q: %s", e.Pattern, e.Msg)
}

type parseErr struct {
	pos int
	msg string
}

func (e *parseErr) Error() string {
	if e.pos < 0 {
		return "Error compiling regex: " + e.msg
	}
	return fmt.Sprintf("Parsing error at position %d: %s", e.pos, e.msg)
}

func perr(pos int, format string, args ...any) error {
	return &parseErr{pos: pos, msg: fmt.Sprintf(format, args...)}
}

func cerr(format string, args ...any) error {
	return &parseErr{pos: -1, msg: fmt.Sprintf(format, args...)}
}

type parser struct {
	re              string
	flags           int
	backrefs        map[int]bool
	named           map[string]int
	numericBackrefs bool
	currGroup       int
}

// tree is a parsed pattern.
type tree struct {
	root     *node
	ngroups  int
	named    map[string]int
	backrefs map[int]bool
}

func parse(re string) (*tree, error) {
	p := &parser{re: re, backrefs: map[int]bool{}, named: map[string]int{}}
	ix, root, err := p.parseRe(0, 0)
	if err != nil {
		return nil, err
	}
	if ix < len(re) {
		return nil, perr(ix, "General parsing error: end of string not reached")
	}
	return &tree{root: root, ngroups: p.currGroup, named: p.named, backrefs: p.backrefs}, nil
}

func (p *parser) flag(f int) bool { return p.flags&f != 0 }

func cpLen(b byte) int {
	switch {
	case b < 0x80:
		return 1
	case b < 0xE0:
		return 2
	case b < 0xF0:
		return 3
	}
	return 4
}

func (p *parser) parseRe(ix, depth int) (int, *node, error) {
	ix, child, err := p.parseBranch(ix, depth)
	if err != nil {
		return 0, nil, err
	}
	if ix, err = p.optionalWhitespace(ix); err != nil {
		return 0, nil, err
	}
	if strings.HasPrefix(p.re[ix:], "|") {
		children := []*node{child}
		for strings.HasPrefix(p.re[ix:], "|") {
			ix++
			next, c, err := p.parseBranch(ix, depth)
			if err != nil {
				return 0, nil, err
			}
			children = append(children, c)
			if ix, err = p.optionalWhitespace(next); err != nil {
				return 0, nil, err
			}
		}
		return ix, &node{kind: nAlt, subs: children}, nil
	}
	if p.numericBackrefs && len(p.named) > 0 {
		return 0, nil, cerr("Numbered backref/call not allowed because named group was used, use a named backref instead")
	}
	return ix, child, nil
}

func (p *parser) parseBranch(ix, depth int) (int, *node, error) {
	var children []*node
	for ix < len(p.re) {
		next, child, err := p.parsePiece(ix, depth)
		if err != nil {
			return 0, nil, err
		}
		if next == ix {
			break
		}
		if !child.isEmpty() {
			children = append(children, child)
		}
		ix = next
	}
	switch len(children) {
	case 0:
		return ix, emptyNode, nil
	case 1:
		return ix, children[0], nil
	}
	return ix, &node{kind: nConcat, subs: children}, nil
}

func repeatable(n *node) bool {
	switch n.kind {
	case nLook, nEmpty, nAssert, nKeep, nContinue, nBackrefExists:
		return false
	}
	return true
}

func (p *parser) parsePiece(ix, depth int) (int, *node, error) {
	ix, child, err := p.parseAtom(ix, depth)
	if err != nil {
		return 0, nil, err
	}
	if ix, err = p.optionalWhitespace(ix); err != nil {
		return 0, nil, err
	}
	if ix >= len(p.re) {
		return ix, child, nil
	}
	var lo, hi int
	switch p.re[ix] {
	case '?':
		lo, hi = 0, 1
	case '*':
		lo, hi = 0, -1
	case '+':
		lo, hi = 1, -1
	case '{':
		next, l, h, ok := p.parseRepeat(ix)
		if !ok {
			// Not a repetition: the '{' is a literal.
			return ix, child, nil
		}
		ix = next - 1
		lo, hi = l, h
	default:
		return ix, child, nil
	}
	if !repeatable(child) {
		return 0, nil, perr(ix, "Target of repeat operator is invalid")
	}
	ix++
	if ix, err = p.optionalWhitespace(ix); err != nil {
		return 0, nil, err
	}
	greedy := true
	if ix < len(p.re) && p.re[ix] == '?' {
		greedy = false
		ix++
	}
	if p.flag(flagSwapGreed) {
		greedy = !greedy
	}
	n := &node{kind: nRepeat, lo: lo, hi: hi, greedy: greedy, subs: []*node{child}}
	if ix < len(p.re) && p.re[ix] == '+' {
		ix++
		n = &node{kind: nAtomic, subs: []*node{n}}
	}
	return ix, n, nil
}

// parseDecimal parses ASCII digits at ix as an unsigned integer.
func parseDecimal(s string, ix int) (int, int, bool) {
	end := ix
	for end < len(s) && '0' <= s[end] && s[end] <= '9' {
		end++
	}
	v, err := strconv.ParseUint(s[ix:end], 10, 63)
	if err != nil {
		return 0, 0, false
	}
	return end, int(v), true
}

// parseRepeat parses {lo}, {lo,}, {lo,hi} or {,hi}; ok is false when the
// text is not a repetition. It returns the index after '}'.
func (p *parser) parseRepeat(ix int) (int, int, int, bool) {
	ws := func(i int) (int, bool) {
		j, err := p.optionalWhitespace(i)
		return j, err == nil
	}
	ix, ok := ws(ix + 1)
	if !ok || ix == len(p.re) {
		return 0, 0, 0, false
	}
	end := ix
	lo := 0
	if p.re[ix] != ',' {
		next, v, ok := parseDecimal(p.re, ix)
		if !ok {
			return 0, 0, 0, false
		}
		end, lo = next, v
	}
	if ix, ok = ws(end); !ok || ix == len(p.re) {
		return 0, 0, 0, false
	}
	end = ix
	var hi int
	switch p.re[ix] {
	case '}':
		hi = lo
	case ',':
		if end, ok = ws(ix + 1); !ok {
			return 0, 0, 0, false
		}
		if next, v, ok := parseDecimal(p.re, end); ok {
			end, hi = next, v
		} else {
			hi = -1
		}
	default:
		return 0, 0, 0, false
	}
	if ix, ok = ws(end); !ok || ix == len(p.re) || p.re[ix] != '}' {
		return 0, 0, 0, false
	}
	return ix + 1, lo, hi, true
}

func (p *parser) parseAtom(ix, depth int) (int, *node, error) {
	ix, err := p.optionalWhitespace(ix)
	if err != nil {
		return 0, nil, err
	}
	if ix == len(p.re) {
		return ix, emptyNode, nil
	}
	switch p.re[ix] {
	case '.':
		return ix + 1, &node{kind: nAny, dotNL: p.flag(flagDotNL)}, nil
	case '^':
		if p.flag(flagMulti) {
			return ix + 1, &node{kind: nAssert, assert: aStartLine}, nil
		}
		return ix + 1, &node{kind: nAssert, assert: aStartText}, nil
	case '$':
		if p.flag(flagMulti) {
			return ix + 1, &node{kind: nAssert, assert: aEndLine}, nil
		}
		return ix + 1, &node{kind: nAssert, assert: aEndText}, nil
	case '(':
		return p.parseGroup(ix, depth)
	case '\\':
		return p.parseEscape(ix, false)
	case '+', '*', '?', '|', ')':
		return ix, emptyNode, nil
	case '[':
		return p.parseClass(ix)
	}
	r, size := utf8.DecodeRuneInString(p.re[ix:])
	return ix + size, &node{kind: nLiteral, r: r, fold: p.flag(flagCaseI)}, nil
}

func (p *parser) literal(r rune) *node { return &node{kind: nLiteral, r: r} }

// parseEscape parses the escape at ix (pointing at the backslash).
func (p *parser) parseEscape(ix int, inClass bool) (int, *node, error) {
	if ix+1 >= len(p.re) {
		return 0, nil, perr(ix, "Backslash without following character")
	}
	b := p.re[ix+1]
	end := ix + 1 + cpLen(b)
	if end > len(p.re) {
		end = len(p.re)
	}
	at := func(i int) byte {
		if i < len(p.re) {
			return p.re[i]
		}
		return 0
	}
	switch {
	case '0' <= b && b <= '9':
		return p.parseNumberedBackref(ix + 1)
	case b == 'k' && !inClass:
		if at(end) == '\'' {
			return p.parseNamedBackref(end, "'", "'", true)
		}
		return p.parseNamedBackref(end, "<", ">", true)
	case b == 'A' && !inClass:
		return end, &node{kind: nAssert, assert: aStartText}, nil
	case b == 'z' && !inClass:
		return end, &node{kind: nAssert, assert: aEndText}, nil
	case b == 'Z' && !inClass:
		// \Z is the look-ahead \n*$.
		nl := &node{kind: nRepeat, lo: 0, hi: -1, greedy: true, subs: []*node{{kind: nClass, set: single('\n')}}}
		body := &node{kind: nConcat, subs: []*node{nl, {kind: nAssert, assert: aEndText}}}
		return end, &node{kind: nLook, look: lookAhead, subs: []*node{body}}, nil
	case (b == 'b' || b == 'B') && !inClass:
		if at(end) == '{' {
			return 0, nil, perr(ix, "Invalid escape: \\%c", b)
		}
		if b == 'b' {
			return end, &node{kind: nAssert, assert: aWordBoundary}, nil
		}
		return end, &node{kind: nAssert, assert: aNotWordBoundary}, nil
	case b == '<' && !inClass:
		return end, &node{kind: nAssert, assert: aWordStart}, nil
	case b == '>' && !inClass:
		return end, &node{kind: nAssert, assert: aWordEnd}, nil
	case b|32 == 'd' || b|32 == 's' || b|32 == 'w':
		return end, &node{kind: nDelegate, text: p.re[ix:end], fold: p.flag(flagCaseI)}, nil
	case b|32 == 'h':
		text := "[0-9A-Fa-f]"
		if b == 'H' {
			text = "[^0-9A-Fa-f]"
		}
		return end, &node{kind: nDelegate, text: text}, nil
	case b == 'x':
		return p.parseHex(end, 2)
	case b == 'u':
		return p.parseHex(end, 4)
	case b == 'U':
		return p.parseHex(end, 8)
	case b|32 == 'p' && end != len(p.re):
		c := p.re[end]
		end += cpLen(c)
		if c == '{' {
			for {
				if end >= len(p.re) {
					return 0, nil, perr(ix, "Unicode escape not closed")
				}
				c := p.re[end]
				if c == '}' {
					end++
					break
				}
				end += cpLen(c)
			}
		}
		if end > len(p.re) {
			end = len(p.re)
		}
		return end, &node{kind: nDelegate, text: p.re[ix:end], fold: p.flag(flagCaseI)}, nil
	case b == 'K' && !inClass:
		return end, &node{kind: nKeep}, nil
	case b == 'G' && !inClass:
		return end, &node{kind: nContinue}, nil
	case b == 'O' && !inClass:
		return end, &node{kind: nAny, dotNL: true}, nil
	}
	switch b {
	case 'a':
		return end, p.literal('\a'), nil
	case 'b':
		return end, p.literal('\b'), nil
	case 'f':
		return end, p.literal('\f'), nil
	case 'n':
		return end, p.literal('\n'), nil
	case 'r':
		return end, p.literal('\r'), nil
	case 't':
		return end, p.literal('\t'), nil
	case 'v':
		return end, p.literal('\v'), nil
	case 'e':
		return end, p.literal('\x1b'), nil
	}
	if ('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z') && !strings.ContainsRune("kAzbB<>KG", rune(b)) {
		return 0, nil, perr(ix, "Invalid escape: \\%s", p.re[ix+1:end])
	}
	r, _ := utf8.DecodeRuneInString(p.re[ix+1:])
	return end, p.literal(r), nil
}

func isHexDigit(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b|32 && b|32 <= 'f'
}

// parseHex parses the digits of \xHH, \uHHHH, \UHHHHHHHH or \x{H...}.
func (p *parser) parseHex(ix, digits int) (int, *node, error) {
	if ix >= len(p.re) {
		return 0, nil, perr(ix, "Invalid hex escape")
	}
	var end int
	var s string
	fixed := ix+digits <= len(p.re)
	for i := ix; fixed && i < ix+digits; i++ {
		fixed = isHexDigit(p.re[i])
	}
	switch {
	case fixed:
		end, s = ix+digits, p.re[ix:ix+digits]
	case p.re[ix] == '{':
		start := ix + 1
		e := start
		for {
			if e == len(p.re) {
				return 0, nil, perr(ix, "Invalid hex escape")
			}
			b := p.re[e]
			if e > start && b == '}' {
				break
			}
			if isHexDigit(b) && e < start+8 {
				e++
			} else {
				return 0, nil, perr(ix, "Invalid hex escape")
			}
		}
		end, s = e+1, p.re[start:e]
	default:
		return 0, nil, perr(ix, "Invalid hex escape")
	}
	cp, _ := strconv.ParseUint(s, 16, 32)
	if cp > unicode.MaxRune || 0xD800 <= cp && cp <= 0xDFFF {
		return 0, nil, perr(ix, "Invalid codepoint for hex or unicode escape")
	}
	return end, &node{kind: nLiteral, r: rune(cp), fold: p.flag(flagCaseI)}, nil
}

// regexMeta are the characters the regex crate treats as meta characters
// (regex_syntax::is_meta_character).
const regexMeta = `\.+*?()|[]{}^$#&-~`

// parseClass copies a bracketed class, resolving fancy-regex escapes, into
// text for the regex crate's class parser (class.go).
func (p *parser) parseClass(ix int) (int, *node, error) {
	var b strings.Builder
	ix++
	b.WriteByte('[')
	if ix < len(p.re) && p.re[ix] == '^' {
		b.WriteByte('^')
		ix++
	}
	if ix < len(p.re) && p.re[ix] == ']' {
		b.WriteByte(']')
		ix++
	}
	nest := 1
	for {
		if ix >= len(p.re) {
			return 0, nil, perr(ix, "Invalid character class")
		}
		switch c := p.re[ix]; c {
		case '\\':
			end, n, err := p.parseEscape(ix, true)
			if err != nil {
				return 0, nil, err
			}
			switch n.kind {
			case nLiteral:
				if strings.ContainsRune(regexMeta, n.r) {
					b.WriteByte('\\')
				}
				b.WriteRune(n.r)
			case nDelegate:
				b.WriteString(n.text)
			default:
				return 0, nil, perr(ix, "Invalid character class")
			}
			ix = end
			continue
		case '[':
			nest++
			b.WriteByte('[')
			ix++
		case ']':
			nest--
			b.WriteByte(']')
			if nest == 0 {
				return ix + 1, &node{kind: nDelegate, text: b.String(), fold: p.flag(flagCaseI)}, nil
			}
			ix++
		default:
			end := min(ix+cpLen(c), len(p.re))
			b.WriteString(p.re[ix:end])
			ix = end
		}
	}
}

func (p *parser) parseGroup(ix, depth int) (int, *node, error) {
	depth++
	if depth >= maxRecursion {
		return 0, nil, perr(ix, "Pattern too deeply nested")
	}
	ix, err := p.optionalWhitespace(ix + 1)
	if err != nil {
		return 0, nil, err
	}
	rest := p.re[ix:]
	look, isLook, skip, atomic := lookAhead, false, 0, false
	group := 0
	switch {
	case strings.HasPrefix(rest, "?="):
		look, isLook, skip = lookAhead, true, 2
	case strings.HasPrefix(rest, "?!"):
		look, isLook, skip = lookAheadNeg, true, 2
	case strings.HasPrefix(rest, "?<="):
		look, isLook, skip = lookBehind, true, 3
	case strings.HasPrefix(rest, "?<!"):
		look, isLook, skip = lookBehindNeg, true, 3
	case strings.HasPrefix(rest, "?<") || strings.HasPrefix(rest, "?'"):
		p.currGroup++
		open, close := "<", ">"
		if rest[1] == '\'' {
			open, close = "'", "'"
		}
		id, n, ok := parseID(p.re[ix+1:], open, close, false)
		if !ok {
			return 0, nil, perr(ix, "Could not parse group name")
		}
		p.named[id] = p.currGroup
		group, skip = p.currGroup, n+1
	case strings.HasPrefix(rest, "?P<"):
		p.currGroup++
		id, n, ok := parseID(p.re[ix+2:], "<", ">", false)
		if !ok {
			return 0, nil, perr(ix, "Could not parse group name")
		}
		p.named[id] = p.currGroup
		group, skip = p.currGroup, n+2
	case strings.HasPrefix(rest, "?P="):
		return p.parseNamedBackref(ix+3, "", ")", false)
	case strings.HasPrefix(rest, "?>"):
		atomic, skip = true, 2
	case strings.HasPrefix(rest, "?("):
		return p.parseConditional(ix+2, depth)
	case strings.HasPrefix(rest, "?"):
		return p.parseFlags(ix, depth)
	default:
		p.currGroup++
		group = p.currGroup
	}
	ix, child, err := p.parseRe(ix+skip, depth)
	if err != nil {
		return 0, nil, err
	}
	if ix, err = p.checkClose(ix); err != nil {
		return 0, nil, err
	}
	switch {
	case isLook:
		return ix, &node{kind: nLook, look: look, subs: []*node{child}}, nil
	case atomic:
		return ix, &node{kind: nAtomic, subs: []*node{child}}, nil
	}
	return ix, &node{kind: nGroup, group: group, subs: []*node{child}}, nil
}

func (p *parser) checkClose(ix int) (int, error) {
	ix, err := p.optionalWhitespace(ix)
	if err != nil {
		return 0, err
	}
	if ix == len(p.re) {
		return 0, perr(ix, "Opening parenthesis without closing parenthesis")
	}
	if p.re[ix] != ')' {
		return 0, perr(ix, "General parsing error: expected close paren")
	}
	return ix + 1, nil
}

func (p *parser) parseFlags(ix, depth int) (int, *node, error) {
	start := ix + 1
	unknown := func(end int) error {
		after := min(end+cpLen(p.re[end]), len(p.re))
		return perr(start, "Unknown group flag: (?%s", p.re[start:after])
	}
	ix = start
	neg := false
	old := p.flags
	for {
		var err error
		if ix, err = p.optionalWhitespace(ix); err != nil {
			return 0, nil, err
		}
		if ix == len(p.re) {
			return 0, nil, perr(ix, "Opening parenthesis without closing parenthesis")
		}
		set := func(f int) {
			if neg {
				p.flags &^= f
			} else {
				p.flags |= f
			}
		}
		switch p.re[ix] {
		case 'i':
			set(flagCaseI)
		case 'm':
			set(flagMulti)
		case 's':
			set(flagDotNL)
		case 'U':
			set(flagSwapGreed)
		case 'x':
			set(flagIgnoreSpace)
		case 'u':
			if neg {
				return 0, nil, perr(ix, "Disabling Unicode not supported")
			}
		case '-':
			if neg {
				return 0, nil, unknown(ix)
			}
			neg = true
		case ')':
			if ix == start || neg && ix == start+1 {
				return 0, nil, unknown(ix)
			}
			return ix + 1, emptyNode, nil
		case ':':
			if neg && ix == start+1 {
				return 0, nil, unknown(ix)
			}
			next, child, err := p.parseRe(ix+1, depth)
			if err != nil {
				return 0, nil, err
			}
			if next == len(p.re) {
				return 0, nil, perr(next, "Opening parenthesis without closing parenthesis")
			}
			if p.re[next] != ')' {
				return 0, nil, perr(next, "General parsing error: expected close paren")
			}
			p.flags = old
			return next + 1, child, nil
		default:
			return 0, nil, unknown(ix)
		}
		ix++
	}
}

func (p *parser) parseConditional(ix, depth int) (int, *node, error) {
	if ix >= len(p.re) {
		return 0, nil, perr(ix, "Opening parenthesis without closing parenthesis")
	}
	var next int
	var cond *node
	var err error
	switch b := p.re[ix]; {
	case b == '\'':
		next, cond, err = p.parseNamedBackref(ix, "'", "')", true)
	case b == '<':
		next, cond, err = p.parseNamedBackref(ix, "<", ">)", true)
	case b == '+' || b == '-' || '0' <= b && b <= '9':
		next, cond, err = p.parseNamedBackref(ix, "", ")", true)
	default:
		next, cond, err = p.parseRe(ix, depth)
		if err == nil {
			next, err = p.checkClose(next)
		}
	}
	if err != nil {
		return 0, nil, err
	}
	end, child, err := p.parseRe(next, depth)
	if err != nil {
		return 0, nil, err
	}
	if end == next {
		if cond.kind == nBackref {
			after, err := p.checkClose(end)
			if err != nil {
				return 0, nil, err
			}
			return after, &node{kind: nBackrefExists, group: cond.group}, nil
		}
		return 0, nil, perr(end, "General parsing error: expected conditional to be a backreference or at least an expression for when the condition is true")
	}
	yes, no := child, emptyNode
	if child.kind == nAlt {
		yes = child.subs[0]
		if rest := child.subs[1:]; len(rest) == 1 {
			no = rest[0]
		} else {
			no = &node{kind: nAlt, subs: rest}
		}
	}
	if cond.kind == nBackref {
		cond = &node{kind: nBackrefExists, group: cond.group}
	}
	after, err := p.checkClose(end)
	if err != nil {
		return 0, nil, err
	}
	if yes.isEmpty() && no.isEmpty() {
		return after, cond, nil
	}
	return after, &node{kind: nCond, subs: []*node{cond, yes, no}}, nil
}

func (p *parser) optionalWhitespace(ix int) (int, error) {
	for ix < len(p.re) {
		switch c := p.re[ix]; {
		case c == '#' && p.flag(flagIgnoreSpace):
			nl := strings.IndexByte(p.re[ix:], '\n')
			if nl < 0 {
				return len(p.re), nil
			}
			ix += nl + 1
		case (c == ' ' || c == '\r' || c == '\n' || c == '\t') && p.flag(flagIgnoreSpace):
			ix++
		case c == '(' && strings.HasPrefix(p.re[ix:], "(?#"):
			ix += 3
			for {
				if ix >= len(p.re) {
					return 0, perr(ix, "Opening parenthesis without closing parenthesis")
				}
				if p.re[ix] == ')' {
					ix++
					break
				}
				if p.re[ix] == '\\' {
					ix += 2
				} else {
					ix++
				}
			}
		default:
			return ix, nil
		}
	}
	return ix, nil
}

func isIDChar(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Other_Alphabetic, r)
}

// parseID parses open + identifier + close at the start of s and returns
// the identifier and the number of bytes used. With allowRelative the
// identifier may also be a group number relative to the last group
// opened: +N or -N, N > 0.
func parseID(s, open, close string, allowRelative bool) (string, int, bool) {
	if !strings.HasPrefix(s, open) || len(s) <= len(open)+len(close) {
		return "", 0, false
	}
	start, end := len(open), len(s)
	for i, r := range s[start:] {
		if !isIDChar(r) {
			end = start + i
			break
		}
	}
	if end == len(s) && close != "" {
		end = start
	}
	if end > start && strings.HasPrefix(s[end:], close) {
		return s[start:end], end + len(close), true
	}
	if allowRelative && end == start && end < len(s) && (s[end] == '+' || s[end] == '-') {
		if e, amount, ok := parseDecimal(s, end+1); ok && amount > 0 && strings.HasPrefix(s[e:], close) {
			return s[start:e], e + len(close), true
		}
	}
	return "", 0, false
}

// resolveRef resolves the group of \k<..>, (?P=..) or (?(..)): a name, a
// number, or a relative number.
func (p *parser) resolveRef(ix int, open, close string, allowRelative bool) (end, group int, err error) {
	id, skip, ok := parseID(p.re[ix:], open, close, allowRelative)
	if !ok {
		return 0, 0, perr(ix, "Could not parse group name")
	}
	end = ix + skip
	if g, ok := p.named[id]; ok {
		return end, g, nil
	}
	if v, err := strconv.ParseUint(id, 10, 63); err == nil {
		return end, int(v), nil
	}
	if id[0] == '+' || id[0] == '-' {
		r, _ := strconv.Atoi(id)
		if r < 0 {
			r++
		}
		if g := p.currGroup + r; g >= 0 {
			return end, g, nil
		}
	}
	return 0, 0, perr(ix, "Invalid group name in back reference: %s", id)
}

func (p *parser) parseNamedBackref(ix int, open, close string, allowRelative bool) (int, *node, error) {
	end, group, err := p.resolveRef(ix, open, close, allowRelative)
	if err != nil {
		return 0, nil, err
	}
	p.backrefs[group] = true
	return end, &node{kind: nBackref, group: group, fold: p.flag(flagCaseI)}, nil
}

func (p *parser) parseNumberedGroupRef(ix int) (int, int, error) {
	if end, group, ok := parseDecimal(p.re, ix); ok && group < len(p.re)/2 {
		return end, group, nil
	}
	return 0, 0, perr(ix, "Invalid back reference")
}

func (p *parser) parseNumberedBackref(ix int) (int, *node, error) {
	end, group, err := p.parseNumberedGroupRef(ix)
	if err != nil {
		return 0, nil, err
	}
	p.numericBackrefs = true
	p.backrefs[group] = true
	return end, &node{kind: nBackref, group: group, fold: p.flag(flagCaseI)}, nil
}
