package regex

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// Engine names the engine a compiled pattern runs on.
type Engine string

const (
	// EngineRE2 is Go's regexp package: linear time, no timeout needed.
	EngineRE2 Engine = "re2"
	// EngineBacktracking is github.com/dlclark/regexp2, used for
	// look-around, back-references, atomic groups, conditionals, \K, \G,
	// \< and \>, and for repetition counts above Go's limit of 1000.
	EngineBacktracking Engine = "backtracking"
)

// DefaultTimeout bounds one backtracking search when Options.Timeout is 0.
// (fancy-regex bounds the work instead: one million backtracking steps.)
const DefaultTimeout = time.Second

// Options configure Compile.
type Options struct {
	// Timeout bounds each backtracking search (one call of a matching
	// method; FindAll-style methods apply it to each match they look for).
	// 0 means DefaultTimeout; a negative value means no limit. Patterns
	// on the RE2 engine run in linear time and ignore it. regexp2 checks
	// its clock about every 100ms, so a timeout fires with that slack.
	Timeout time.Duration
}

// Regexp is a compiled pattern. It is safe for concurrent use.
type Regexp struct {
	pattern string
	engine  Engine
	timeout time.Duration
	ngroups int
	names   []string
	named   map[string]int

	re2 *regexp.Regexp
	// asciiOnly: re2 spells \b and \B with Go's ASCII word boundaries,
	// which agree with Rust's Unicode ones only on ASCII text; other
	// haystacks go to bt.
	asciiOnly bool
	// bt is the backtracking program (the whole pattern on
	// EngineBacktracking; the non-ASCII fallback when asciiOnly).
	bt        *regexp2.Regexp
	keepGroup int // regexp2 number of the \K marker group, or 0
	// pre rejects haystacks without a literal every match needs (nil:
	// none known).
	pre *prefilter
}

// ErrTimeout is matched (errors.Is) by the error of a backtracking search
// that ran out of time.
var ErrTimeout = errors.New("regex match timed out")

// TimeoutError reports a backtracking search that ran out of time, which
// means the pattern backtracks catastrophically on the input.
type TimeoutError struct {
	Pattern string
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("regex %q: Error executing regex: match timed out after %v (the pattern backtracks too much on this input)", e.Pattern, e.Timeout)
}

// Is makes errors.Is(err, ErrTimeout) true.
func (e *TimeoutError) Is(target error) bool { return target == ErrTimeout }

// Compile compiles pattern (KumoMTA / fancy-regex syntax) with the
// default options.
func Compile(pattern string) (*Regexp, error) {
	return CompileWithOptions(pattern, Options{})
}

// MustCompile is Compile that panics on error, for patterns known to be
// valid.
func MustCompile(pattern string) *Regexp {
	re, err := Compile(pattern)
	if err != nil {
		panic(err)
	}
	return re
}

// CompileWithOptions compiles pattern. A syntax error is an *Error that
// quotes the pattern and says what is wrong, in fancy-regex's words.
func CompileWithOptions(pattern string, opts Options) (*Regexp, error) {
	return compile(pattern, opts, false)
}

// compile compiles pattern; forceBT (for tests) skips the RE2 engine.
func compile(pattern string, opts Options, forceBT bool) (*Regexp, error) {
	fail := func(err error) error {
		pos := -1
		var pe *parseErr
		if errors.As(err, &pe) {
			pos = pe.pos
		}
		return &Error{Pattern: pattern, Pos: pos, Msg: err.Error()}
	}
	if !utf8.ValidString(pattern) {
		return nil, &Error{Pattern: pattern, Pos: -1, Msg: "pattern is not valid UTF-8"}
	}
	t, err := parse(pattern)
	if err != nil {
		return nil, fail(err)
	}
	if err := analyze(t); err != nil {
		return nil, fail(err)
	}
	re := &Regexp{pattern: pattern, ngroups: t.ngroups, named: t.named, timeout: opts.Timeout}
	if re.timeout == 0 {
		re.timeout = DefaultTimeout
	}
	re.pre = newPrefilter(t.root)
	re.names = make([]string, t.ngroups+1)
	for name, g := range t.named {
		re.names[g] = name
	}

	btNeeded := true
	if !forceBT && !needsBacktracking(t.root) {
		// Go may still refuse a pattern it finds too large; the
		// backtracking engine takes those.
		if g, err := regexp.Compile(emit(t.root, dialectRE2)); err == nil {
			re.re2, re.engine = g, EngineRE2
			re.asciiOnly = hasWordBoundary(t.root)
			btNeeded = re.asciiOnly
		}
	}
	if btNeeded {
		bt, err := regexp2.Compile(emit(t.root, dialectNET), regexp2.None)
		if err != nil {
			return nil, fail(cerr("%v", err))
		}
		if re.timeout > 0 {
			bt.MatchTimeout = re.timeout
		}
		re.bt = bt
		if re.re2 == nil {
			re.engine = EngineBacktracking
		}
		if hasKeep(t.root) {
			re.keepGroup = bt.GroupNumberFromName(keepGroupName)
		}
	}
	return re, nil
}

// String returns the pattern as given to Compile.
func (re *Regexp) String() string { return re.pattern }

// Engine reports the engine the pattern runs on. A pattern on EngineRE2
// that uses \b or \B still runs on the backtracking engine for haystacks
// that are not pure ASCII.
func (re *Regexp) Engine() Engine { return re.engine }

// Timeout returns the limit of one backtracking search (negative: none).
func (re *Regexp) Timeout() time.Duration { return re.timeout }

// NumSubexp returns the number of capture groups.
func (re *Regexp) NumSubexp() int { return re.ngroups }

// SubexpNames returns the name of each group, indexed by group number
// ("" for group 0 and unnamed groups). When a name is used twice it
// belongs to its last group, as in fancy-regex.
func (re *Regexp) SubexpNames() []string { return append([]string(nil), re.names...) }

// SubexpIndex returns the group number of name, or -1.
func (re *Regexp) SubexpIndex(name string) int {
	if g, ok := re.named[name]; ok {
		return g
	}
	return -1
}

func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if (s[i]|s[i+1]|s[i+2]|s[i+3]|s[i+4]|s[i+5]|s[i+6]|s[i+7])&0x80 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i]&0x80 != 0 {
			return false
		}
	}
	return true
}

func (re *Regexp) useRE2(s string) bool {
	return re.re2 != nil && (!re.asciiOnly || isASCII(s))
}

func (re *Regexp) btErr(err error) error {
	if strings.HasPrefix(err.Error(), "match timeout") {
		return &TimeoutError{Pattern: re.pattern, Timeout: re.timeout}
	}
	return fmt.Errorf("regex %q: Error executing regex: %w", re.pattern, err)
}

// MatchString reports whether the pattern matches anywhere in s. The
// error is non-nil only when a backtracking search timed out.
func (re *Regexp) MatchString(s string) (bool, error) {
	if re.pre != nil {
		if ok := re.pre.mayMatch(s); !ok || re.pre.decides(s) {
			return ok, nil
		}
	}
	if re.useRE2(s) {
		return re.re2.MatchString(s), nil
	}
	ok, err := re.bt.MatchString(s)
	if err != nil {
		return false, re.btErr(err)
	}
	return ok, nil
}

// input is a haystack prepared for regexp2, which works on runes.
type input struct {
	s     string
	runes []rune
	offs  []int // byte offset of each rune and of the end; nil for ASCII
}

func newInput(s string) *input {
	in := &input{s: s, runes: []rune(s)}
	if len(in.runes) != len(s) {
		// Invalid UTF-8 bytes decode to one U+FFFD rune each, both
		// here and in the []rune conversion.
		in.offs = make([]int, 0, len(in.runes)+1)
		for i := range s {
			in.offs = append(in.offs, i)
		}
		in.offs = append(in.offs, len(s))
	}
	return in
}

func (in *input) off(r int) int {
	if in.offs == nil {
		return r
	}
	return in.offs[r]
}

// btFind runs one backtracking search from rune index start and returns
// the submatch index slice in rune indices (nil when there is no match).
func (re *Regexp) btFind(in *input, start int) ([]int, error) {
	m, err := re.bt.FindRunesMatchStartingAt(in.runes, start)
	if err != nil {
		return nil, re.btErr(err)
	}
	if m == nil {
		return nil, nil
	}
	loc := make([]int, 2*(re.ngroups+1))
	loc[0], loc[1] = m.Index, m.Index+m.Length
	for g := 1; g <= re.ngroups; g++ {
		grp := m.GroupByNumber(g)
		if grp == nil || len(grp.Captures) == 0 {
			loc[2*g], loc[2*g+1] = -1, -1
			continue
		}
		loc[2*g], loc[2*g+1] = grp.Index, grp.Index+grp.Length
	}
	if re.keepGroup > 0 {
		if k := m.GroupByNumber(re.keepGroup); k != nil && len(k.Captures) > 0 {
			loc[0] = k.Index
		}
	}
	return loc, nil
}

func (in *input) toBytes(loc []int) []int {
	if in.offs != nil {
		for i, v := range loc {
			if v >= 0 {
				loc[i] = in.offs[v]
			}
		}
	}
	return loc
}

// btFindAll finds successive non-overlapping matches the way fancy-regex
// iterates: after an empty match the search resumes one character later,
// and an empty match right where the previous match ended is skipped.
func (re *Regexp) btFindAll(s string, n int) ([][]int, error) {
	in := newInput(s)
	var out [][]int
	lastEnd, lastMatch := 0, -1
	for (n < 0 || len(out) < n) && lastEnd <= len(in.runes) {
		loc, err := re.btFind(in, lastEnd)
		if err != nil {
			return nil, err
		}
		if loc == nil {
			break
		}
		start, end := loc[0], loc[1]
		if start == end {
			lastEnd = end + 1
			if end == lastMatch {
				continue
			}
		} else {
			lastEnd = end
		}
		lastMatch = end
		out = append(out, in.toBytes(loc))
	}
	return out, nil
}

// FindStringSubmatchIndex returns the byte offsets of the first match and
// of each group (-1, -1 for a group that did not take part), or nil.
func (re *Regexp) FindStringSubmatchIndex(s string) ([]int, error) {
	if re.pre != nil && !re.pre.mayMatch(s) {
		return nil, nil
	}
	if re.useRE2(s) {
		return re.re2.FindStringSubmatchIndex(s), nil
	}
	in := newInput(s)
	loc, err := re.btFind(in, 0)
	if loc == nil || err != nil {
		return nil, err
	}
	return in.toBytes(loc), nil
}

// FindStringIndex returns the byte offsets of the first match, or nil.
func (re *Regexp) FindStringIndex(s string) ([]int, error) {
	if re.pre != nil && !re.pre.mayMatch(s) {
		return nil, nil
	}
	if re.useRE2(s) {
		return re.re2.FindStringIndex(s), nil
	}
	loc, err := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return nil, err
	}
	return loc[:2], nil
}

// FindString returns the text of the first match; ok is false when there
// is none.
func (re *Regexp) FindString(s string) (match string, ok bool, err error) {
	loc, err := re.FindStringIndex(s)
	if loc == nil {
		return "", false, err
	}
	return s[loc[0]:loc[1]], true, nil
}

// FindAllStringSubmatchIndex returns up to n (all when n < 0) successive
// non-overlapping matches with their groups, as FindStringSubmatchIndex.
func (re *Regexp) FindAllStringSubmatchIndex(s string, n int) ([][]int, error) {
	if n == 0 || re.pre != nil && !re.pre.mayMatch(s) {
		return nil, nil
	}
	if re.useRE2(s) {
		return re.re2.FindAllStringSubmatchIndex(s, n), nil
	}
	return re.btFindAll(s, n)
}

// FindAllStringIndex is FindAllStringSubmatchIndex without the groups.
func (re *Regexp) FindAllStringIndex(s string, n int) ([][]int, error) {
	if n == 0 || re.pre != nil && !re.pre.mayMatch(s) {
		return nil, nil
	}
	if re.useRE2(s) {
		return re.re2.FindAllStringIndex(s, n), nil
	}
	all, err := re.btFindAll(s, n)
	for i, loc := range all {
		all[i] = loc[:2]
	}
	return all, err
}

// FindAllString returns the text of up to n (all when n < 0) matches.
func (re *Regexp) FindAllString(s string, n int) ([]string, error) {
	locs, err := re.FindAllStringIndex(s, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(locs))
	for i, loc := range locs {
		out[i] = s[loc[0]:loc[1]]
	}
	return out, nil
}

// Group is one capture group of a match.
type Group struct {
	Matched    bool   // false when the group did not take part in the match
	Start, End int    // byte offsets in the haystack (-1 when !Matched)
	Text       string // the matched text ("" when !Matched)
}

// Captures returns group 0 (the whole match) and every capture group of
// the first match, or nil when there is no match.
func (re *Regexp) Captures(s string) ([]Group, error) {
	loc, err := re.FindStringSubmatchIndex(s)
	if loc == nil {
		return nil, err
	}
	out := make([]Group, len(loc)/2)
	for g := range out {
		a, b := loc[2*g], loc[2*g+1]
		if a < 0 {
			out[g] = Group{Start: -1, End: -1}
			continue
		}
		out[g] = Group{Matched: true, Start: a, End: b, Text: s[a:b]}
	}
	return out, nil
}

// Replace replaces the first match (see ReplaceN).
func (re *Regexp) Replace(s, template string) (string, error) {
	return re.ReplaceN(s, template, 1)
}

// ReplaceAll replaces every match (see ReplaceN).
func (re *Regexp) ReplaceAll(s, template string) (string, error) {
	return re.ReplaceN(s, template, 0)
}

// ReplaceN replaces up to limit non-overlapping matches (all when
// limit <= 0) with template, expanded as Expand does.
func (re *Regexp) ReplaceN(s, template string, limit int) (string, error) {
	n := -1
	if limit > 0 {
		n = limit
	}
	expand := strings.IndexByte(template, '$') >= 0
	var locs [][]int
	var err error
	if expand {
		locs, err = re.FindAllStringSubmatchIndex(s, n)
	} else {
		locs, err = re.FindAllStringIndex(s, n)
	}
	if err != nil {
		return "", err
	}
	if len(locs) == 0 {
		return s, nil
	}
	b := make([]byte, 0, len(s)+len(template))
	last := 0
	for _, loc := range locs {
		b = append(b, s[last:loc[0]]...)
		if expand {
			b = re.Expand(b, template, s, loc)
		} else {
			b = append(b, template...)
		}
		last = loc[1]
	}
	b = append(b, s[last:]...)
	return string(b), nil
}

// Expand appends template to dst with group references replaced by the
// text of match (a FindStringSubmatchIndex result for src), following
// fancy-regex: $name or ${name} where name is a group name or number
// (the longest run of letters, digits and '_' after a bare $), $$ for a
// literal $; a reference to a group that does not exist or did not take
// part expands to nothing; a $ that starts no reference is kept.
func (re *Regexp) Expand(dst []byte, template, src string, match []int) []byte {
	for {
		i := strings.IndexByte(template, '$')
		if i < 0 {
			return append(dst, template...)
		}
		dst = append(dst, template[:i]...)
		tail := template[i+1:]
		if strings.HasPrefix(tail, "$") {
			dst = append(dst, '$')
			template = tail[1:]
			continue
		}
		id, skip, ok := parseID(tail, "{", "}", false)
		if !ok {
			id, skip, ok = parseID(tail, "", "", false)
		}
		if !ok {
			dst = append(dst, '$')
			template = tail
			continue
		}
		dst = re.appendGroup(dst, id, src, match)
		template = tail[skip:]
	}
}

func (re *Regexp) appendGroup(dst []byte, name, src string, match []int) []byte {
	text := func(g int) (string, bool) {
		if g < 0 || 2*g+1 >= len(match) || match[2*g] < 0 {
			return "", false
		}
		return src[match[2*g]:match[2*g+1]], true
	}
	if g, ok := re.named[name]; ok {
		if t, ok := text(g); ok {
			return append(dst, t...)
		}
	}
	if n, err := strconv.ParseUint(name, 10, 31); err == nil {
		if t, ok := text(int(n)); ok {
			return append(dst, t...)
		}
	}
	return dst
}

// Split returns the pieces of s between matches (one piece, s itself,
// when nothing matches; empty pieces are kept).
func (re *Regexp) Split(s string) ([]string, error) {
	locs, err := re.FindAllStringIndex(s, -1)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(locs)+1)
	last := 0
	for _, loc := range locs {
		out = append(out, s[last:loc[0]])
		last = loc[1]
	}
	return append(out, s[last:]), nil
}

// Escape escapes the regex meta characters of s (those of the Rust regex
// crate: \ . + * ? ( ) | [ ] { } ^ $ # & - ~), so that the result matches
// s literally.
func Escape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(regexMeta, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
