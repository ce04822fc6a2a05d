package regex

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Resolution of "delegated" class text (a bracketed class, \d \s \w and
// their negations, \p{..}/\P{..}) to a code point set, following the Rust
// regex crate (regex-syntax) in Unicode mode:
//
//   - Perl classes are Unicode-aware and are not case folded.
//   - \p classes and bracketed classes are case folded (simple case
//     folding) when the i flag applies, and then negated.
//   - Bracketed classes may nest ([a[bc]]), use ASCII classes
//     ([[:alpha:]], always ASCII) and the set operators && (intersection),
//     -- (difference) and ~~ (symmetric difference), which have equal
//     precedence and associate to the left; a range binds tighter than
//     union, which binds tighter than the operators.

type classError struct{ msg, text string }

func (e *classError) Error() string {
	return fmt.Sprintf("Regex error: %s (in `%s`)", e.msg, e.text)
}

type classParser struct {
	s     string
	fold  bool
	depth int
}

// maxClassNest is the regex crate's nesting limit.
const maxClassNest = 250

func (c *classParser) fail(format string, args ...any) error {
	return &classError{msg: fmt.Sprintf(format, args...), text: c.s}
}

// resolveDelegate resolves the text of a delegate node.
func resolveDelegate(text string, fold bool) (rset, error) {
	c := &classParser{s: text, fold: fold}
	var set rset
	var end int
	var err error
	if strings.HasPrefix(text, "[") {
		set, end, err = c.bracket(0)
	} else {
		var ok bool
		set, end, ok, err = c.escapeClass(0)
		if err == nil && !ok {
			err = c.fail("expected a class")
		}
	}
	if err != nil {
		return nil, err
	}
	if end != len(text) {
		return nil, c.fail("unexpected text after class")
	}
	return set, nil
}

// escapeClass parses a class escape (\d \D \s \S \w \W \p.. \P..) at i.
// ok is false when the escape at i is not a class escape.
func (c *classParser) escapeClass(i int) (rset, int, bool, error) {
	if i+1 >= len(c.s) || c.s[i] != '\\' {
		return nil, 0, false, nil
	}
	switch b := c.s[i+1]; b {
	case 'd', 'D', 's', 'S', 'w', 'W':
		var set rset
		switch b | 32 {
		case 'd':
			set = perlDigit()
		case 's':
			set = perlSpace()
		default:
			set = perlWord()
		}
		if b < 'a' {
			set = set.negate()
		}
		return set, i + 2, true, nil
	case 'p', 'P':
		negated := b == 'P'
		j := i + 2
		if j >= len(c.s) {
			return nil, 0, false, c.fail("unexpected end of Unicode class")
		}
		var body string
		if c.s[j] == '{' {
			k := strings.IndexByte(c.s[j:], '}')
			if k < 0 {
				return nil, 0, false, c.fail("Unicode escape not closed")
			}
			body = c.s[j+1 : j+k]
			j += k + 1
			if strings.HasPrefix(body, "^") {
				negated = !negated
				body = body[1:]
			}
		} else {
			r, size := utf8.DecodeRuneInString(c.s[j:])
			if !strings.ContainsRune("LMNPSZC", r) {
				return nil, 0, false, c.fail("Unicode property not found")
			}
			body = string(r)
			j += size
		}
		set, err := unicodeClass(body)
		if err != nil {
			return nil, 0, false, c.fail("%s", err.Error())
		}
		if c.fold {
			set = set.fold()
		}
		if negated {
			set = set.negate()
		}
		return set, j, true, nil
	}
	return nil, 0, false, nil
}

// bracket parses the bracketed class starting at i ('[').
func (c *classParser) bracket(i int) (rset, int, error) {
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > maxClassNest {
		return nil, 0, c.fail("exceed the maximum number of nested parentheses/brackets (%d)", maxClassNest)
	}
	i++
	negated := false
	if i < len(c.s) && c.s[i] == '^' {
		negated = true
		i++
	}
	var union []rng
	var acc rset
	op := byte(0)
	if i < len(c.s) && c.s[i] == ']' {
		union = append(union, rng{']', ']'})
		i++
	}
	applyOp := func() {
		cur := normalize(union)
		union = nil
		if op == 0 {
			acc = cur
			return
		}
		lhs, rhs := acc, cur
		if c.fold {
			lhs, rhs = lhs.fold(), rhs.fold()
		}
		switch op {
		case '&':
			acc = lhs.intersect(rhs)
		case '-':
			acc = lhs.minus(rhs)
		case '~':
			acc = lhs.symdiff(rhs)
		}
	}
	for {
		if i >= len(c.s) {
			return nil, 0, c.fail("unclosed character class")
		}
		switch ch := c.s[i]; {
		case ch == ']':
			applyOp()
			set := acc
			if c.fold {
				set = set.fold()
			}
			if negated {
				set = set.negate()
			}
			return set, i + 1, nil
		case ch == '[':
			if set, end, ok := c.posix(i); ok {
				union = append(union, set...)
				i = end
				continue
			}
			set, end, err := c.bracket(i)
			if err != nil {
				return nil, 0, err
			}
			union = append(union, set...)
			i = end
		case (ch == '&' || ch == '-' || ch == '~') && i+1 < len(c.s) && c.s[i+1] == ch:
			applyOp()
			op = ch
			i += 2
		default:
			set, end, err := c.rangeItem(i)
			if err != nil {
				return nil, 0, err
			}
			union = append(union, set...)
			i = end
		}
	}
}

// posix parses [:name:] or [:^name:] at i.
func (c *classParser) posix(i int) (rset, int, bool) {
	if !strings.HasPrefix(c.s[i:], "[:") {
		return nil, 0, false
	}
	j := i + 2
	negated := false
	if j < len(c.s) && c.s[j] == '^' {
		negated = true
		j++
	}
	k := strings.Index(c.s[j:], ":]")
	if k < 0 {
		return nil, 0, false
	}
	set, ok := posixClasses[c.s[j:j+k]]
	if !ok {
		return nil, 0, false
	}
	if negated {
		set = set.negate()
	}
	return set, j + k + 2, true
}

// item parses one class item at i: a literal (possibly escaped) or a class
// escape. lit reports whether it is a single literal code point.
func (c *classParser) item(i int) (set rset, r rune, lit bool, end int, err error) {
	if c.s[i] == '\\' {
		if s, e, ok, err := c.escapeClass(i); err != nil || ok {
			return s, 0, false, e, err
		}
		if i+1 >= len(c.s) {
			return nil, 0, false, 0, c.fail("incomplete escape sequence")
		}
		r, size := utf8.DecodeRuneInString(c.s[i+1:])
		if !strings.ContainsRune(regexMeta, r) {
			return nil, 0, false, 0, c.fail("invalid escape sequence found in character class")
		}
		return nil, r, true, i + 1 + size, nil
	}
	r, size := utf8.DecodeRuneInString(c.s[i:])
	return nil, r, true, i + size, nil
}

// rangeItem parses an item, or a range a-b when a '-' follows that is not
// the start of '--' and not before ']'.
func (c *classParser) rangeItem(i int) (rset, int, error) {
	set, lo, lit, end, err := c.item(i)
	if err != nil {
		return nil, 0, err
	}
	if end >= len(c.s) {
		return nil, 0, c.fail("unclosed character class")
	}
	if c.s[end] != '-' || end+1 >= len(c.s) || c.s[end+1] == ']' || c.s[end+1] == '-' {
		if lit {
			return rset{{lo, lo}}, end, nil
		}
		return set, end, nil
	}
	if !lit {
		return nil, 0, c.fail("invalid range boundary, must be a literal")
	}
	_, hi, lit2, end2, err := c.item(end + 1)
	if err != nil {
		return nil, 0, err
	}
	if !lit2 {
		return nil, 0, c.fail("invalid range boundary, must be a literal")
	}
	if lo > hi {
		return nil, 0, c.fail("invalid character class range, the start must be <= the end")
	}
	return normalize([]rng{{lo, hi}}), end2, nil
}
