package regex

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/dlclark/regexp2"
)

func unicodeCategory(name string) *unicode.RangeTable { return unicode.Categories[name] }

// compileBoth compiles pattern normally and, when that picks RE2, also
// with the backtracking engine forced, so that every case checks both
// emitters.
func compileBoth(t *testing.T, pattern string) []*Regexp {
	t.Helper()
	res, err := compileBothErr(pattern)
	if err != nil {
		t.Fatalf("Compile(%q): %v", pattern, err)
	}
	return res
}

func TestEngineSelection(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		want    Engine
	}{
		{`^(?!.*KumoMTA internal).*RL000010`, EngineBacktracking},
		{`(?<!AU)\$(\d+)`, EngineBacktracking},
		{`(a)\1`, EngineBacktracking},
		{`(?P<x>a)(?P=x)`, EngineBacktracking},
		{`(?>ab|a)c`, EngineBacktracking},
		{`a++`, EngineBacktracking},
		{`(a)?(?(1)b|c)`, EngineBacktracking},
		{`a\Kb`, EngineBacktracking},
		{`\Ga`, EngineBacktracking},
		{`\<word\>`, EngineBacktracking},
		{`a\Z`, EngineBacktracking},
		{`a{1001}`, EngineBacktracking},
		{`\d{3} 5\.7\.1`, EngineRE2},
		{`(?i)(spam|blocked)`, EngineRE2},
		{`\bRL\d+\b`, EngineRE2},
		{`(?P<code>\d+) (?<rest>.*)`, EngineRE2},
		{`[\w&&\p{Greek}]+`, EngineRE2},
		{`a{1000}`, EngineRE2},
		{`\p{Alphabetic}+`, EngineRE2},
		{`\p{Old_Italic}`, EngineRE2},
		{`[^\w\p{Greek}]`, EngineRE2},
		{`(?i)\p{Lu}`, EngineRE2},
	} {
		re, err := Compile(tc.pattern)
		if err != nil {
			t.Fatalf("Compile(%q): %v", tc.pattern, err)
		}
		if re.Engine() != tc.want {
			t.Errorf("Compile(%q).Engine() = %s, want %s", tc.pattern, re.Engine(), tc.want)
		}
		if re.String() != tc.pattern {
			t.Errorf("String() = %q, want %q", re.String(), tc.pattern)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		// The rule shipped in KumoMTA's default shaping.toml.
		{`^(?!.*KumoMTA internal).*RL000010`, "550 5.7.1 RL000010 rate limited", true},
		{`^(?!.*KumoMTA internal).*RL000010`, "451 KumoMTA internal: RL000010 held", false},
		// policy_utils.lua: a literal newline in the pattern, '.' stops at newlines.
		{"Point: invalid value for field 'y'\n.*Expected 'number', got 'boolean' true",
			"Point: invalid value for field 'y'\nwhile parsing: Expected 'number', got 'boolean' true", true},
		{"Point: invalid value for field 'y'\n.*Expected 'number', got 'boolean' true",
			"Point: invalid value for field 'y'\nline\nExpected 'number', got 'boolean' true", false},
		// look-around
		{`foo(?=bar)`, "foobar", true},
		{`foo(?=bar)`, "foobaz", false},
		{`foo(?!bar)`, "foobar", false},
		{`foo(?!bar)`, "foobaz", true},
		{`(?<=\$)\d+`, "cost $42", true},
		{`(?<=\$)\d+`, "cost 42", false},
		{`(?<!AU)\$\d+`, "AU$10", false},
		{`(?<!AU)\$\d+`, "US$10", true},
		{`(?<=a|bb)c`, "bbc", true},
		{`(?<=a|bb)c`, "bc", false},
		// back-references
		{`^(\w+) (\1)$`, "foo foo", true},
		{`^(\w+) (\1)$`, "foo bar", false},
		{`(?i)(a)\1`, "aA", true},
		{`(a)\1`, "aA", false},
		{`(abc|def)(?i:\1)`, "abcABC", true},
		{`(abc|def)(?i:\1)`, "abcAB", false},
		{`(δ)(?i:\1)`, "δΔ", true},
		{`(.)(?i:\1)`, "įĮ", true},
		{`(.)(?i:\1)`, "įi", false},
		{`(?i)(?<word>\w+)\s+\k<word>`, "Greek : δ Δ", true},
		{`(?<w>\w+) \k<w>`, "hey hey", true},
		{`(?P<w>\w+) (?P=w)`, "hey hey", true},
		{`^(?P<w>\w+) (?P=w)$`, "hey you", false},
		{`(a)(b)\k<-1>`, "abb", true},
		{`(a)(b)\k<-1>`, "aba", false},
		{`(?:(a)|b)\1`, "b", false}, // a back-reference to an unset group fails
		// inline flags
		{`(?i)hello`, "HeLLo", true},
		{`hello`, "HeLLo", false},
		{`a(?i)b`, "aB", true},
		{`a(?i)b`, "AB", false},
		{`(?i:a)b`, "Ab", true},
		{`(?i:a)b`, "AB", false},
		{`((?i)a)b`, "AB", true}, // fancy-regex: (?i) outlives the capture group that holds it
		{`(?:(?i)a)b`, "AB", false},
		{`(?s)a.b`, "a\nb", true},
		{`a.b`, "a\nb", false},
		{`a\Ob`, "a\nb", true},
		{`(?m)^b$`, "a\nb\nc", true},
		{`^b$`, "a\nb\nc", false},
		{`a$`, "a\n", false}, // $ is the very end, not before a final newline
		{`a\Z`, "a\n\n", true},
		{`a\Z`, "a\nb", false},
		{`(?x) a b # comment`, "ab", true},
		{`(?x) a\ b`, "a b", true},
		{`(?i)[a-z]+$`, "ABC", true},
		{`(?i)\p{Ll}`, "A", true},
		// Unicode semantics (Rust's \d \w \s and word boundaries are Unicode)
		{`^\d$`, "٣", true},
		{`^\w+$`, "éⒶ_9", true},
		{`^\s$`, "\u00a0", true},
		{`^[[:alpha:]]$`, "é", false},
		{`\bfoo\b`, "a foo b", true},
		{`\bfoo\b`, "éfoo", false},
		{`\bfoo\b`, "éé foo", true},
		{`\Bfoo`, "éfoo", true},
		{`(?i)k`, "\u212a", true},
		{`(?i)[a-z]`, "\u017f", true},
		{`^\p{Greek}+$`, "αβγ", true},
		// General categories come from Go's tables: C, Cn and Assigned
		// split on unassigned code points as in Rust.
		{`^\p{Cn}$`, "\u0378", true},
		{`^\p{C}$`, "\u0378", true},
		{`^\p{Assigned}$`, "\u0378", false},
		{`^\p{Assigned}$`, "a", true},
		{`^\p{gc=Cn}$`, "a", false},
		{`^[\w&&\p{Greek}]+$`, "αβ", true},
		{`^[\w&&\p{Greek}]+$`, "αb", false},
		{`^[a-z--[aeiou]]+$`, "bcd", true},
		{`^[a-z--[aeiou]]+$`, "bad", false},
		{`^[a-c~~b-d]+$`, "ad", true},
		{`^[a-c~~b-d]+$`, "b", false},
		{`^[^\n]$`, "\n", false},
		{`^.$`, "😀", true},
		{`\x{1F600}`, "😀", true},
		{`^\h+$`, "09afAF", true},
		{`^\h+$`, "g", false},
		{`\e`, "\x1b", true},
		// case-insensitive literals (the prefilter must not decide on non-ASCII text)
		{`(?i)kelvin`, "\u212aelvin", true},
		{`(?i)kelvin`, "KELVIN", true},
		{`(?i)kelvin`, "kelvi", false},
		{`spam|(?i)blocked`, "BLOCKED", true},
		{`spam|(?i)blocked`, "SPAM", false},
		{`(spam)|(ham)`, "a ham", true},
		// fancy-regex parsing quirks
		{`x{2}{3}`, "xx{3}", true},
		{`a{`, "a{", true},
		{`^a{,2}$`, "aa", true},
		{`^a{,2}$`, "aaa", false},
		{`(?U)^a+$`, "aaa", true},
		// atomic groups and possessive repetitions
		{`^a(?>bc|b)c$`, "abcc", true},
		{`^a(?>bc|b)c$`, "abc", false},
		{`^a++a`, "aaa", false},
		{`^a+a`, "aaa", true},
		// conditionals
		{`^(a)?(?(1)b|c)$`, "ab", true},
		{`^(a)?(?(1)b|c)$`, "c", true},
		{`^(a)?(?(1)b|c)$`, "ac", false},
		{`^(?(a)bc|d)`, "abc", true},
		{`^(?(a)bc|d)`, "d", true},
		{`^(?(a)bc|d)`, "ad", false},
		{`^(a)?x(?(1))`, "x", false},
		{`^(a)?x(?(1))`, "ax", true},
		// \< and \>
		{`\<foo\>`, "a foo b", true},
		{`\<foo\>`, "afoo", false},
	} {
		for _, re := range compileBoth(t, tc.pattern) {
			got, err := re.MatchString(tc.s)
			if err != nil {
				t.Fatalf("%q (%s).MatchString(%q): %v", tc.pattern, re.Engine(), tc.s, err)
			}
			if got != tc.want {
				t.Errorf("%q (%s).MatchString(%q) = %v, want %v", tc.pattern, re.Engine(), tc.s, got, tc.want)
			}
		}
	}
}

// groups renders the capture groups of the first match: nil for a group
// that did not take part, its text otherwise; nil when nothing matched.
func groups(t *testing.T, re *Regexp, s string) []any {
	t.Helper()
	caps, err := re.Captures(s)
	if err != nil {
		t.Fatalf("%q.Captures(%q): %v", re, s, err)
	}
	if caps == nil {
		return nil
	}
	out := make([]any, len(caps))
	for i, g := range caps {
		if g.Matched {
			out[i] = g.Text
			if s[g.Start:g.End] != g.Text {
				t.Errorf("%q group %d: offsets %d..%d do not give %q", re, i, g.Start, g.End, g.Text)
			}
		}
	}
	return out
}

// TestClassEmission checks that the class text emitted for each engine
// (tables plus ranges, possibly negated) accepts exactly the set.
func TestClassEmission(t *testing.T) {
	var sample []rune
	for r := rune(0); r < 0x3000; r++ {
		sample = append(sample, r)
	}
	for r := rune(0x3000); r <= maxRune; r += 37 {
		if r < 0xD800 || r > 0xDFFF {
			sample = append(sample, r)
		}
	}
	greek, _ := scriptSet("greek")
	italic, _ := scriptSet("olditalic")
	sets := map[string]rset{
		`\w`:            perlWord(),
		`\W`:            perlWord().negate(),
		`\s`:            perlSpace(),
		`Alphabetic`:    alphabetic(),
		`fold(Lu)`:      tableSet(unicodeCategory("Lu")).fold(),
		`Greek|OldItal`: greek.union(italic),
		`[^Greek]`:      greek.negate(),
		`Cn`:            tableSet(unicode.Cn),
	}
	for name, set := range sets {
		for _, d := range []dialect{dialectRE2, dialectNET} {
			e := &emitter{d: d}
			e.class(set)
			src := `\A` + e.b.String() + `\z`
			var match func(string) bool
			if d == dialectRE2 {
				re, err := regexp.Compile(src)
				if err != nil {
					t.Fatalf("%s: Go cannot compile %q: %v", name, src, err)
				}
				match = re.MatchString
			} else {
				re, err := regexp2.Compile(src, regexp2.None)
				if err != nil {
					t.Fatalf("%s: regexp2 cannot compile %q: %v", name, src, err)
				}
				match = func(s string) bool { ok, _ := re.MatchString(s); return ok }
			}
			bad := 0
			for _, r := range sample {
				if got, want := match(string(r)), set.contains(r); got != want && bad < 5 {
					bad++
					t.Errorf("%s (dialect %d): U+%04X matched=%v, in set=%v", name, d, r, got, want)
				}
			}
		}
	}
}

func TestCaptures(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       []any
	}{
		{`'([^']+)'\s+\((\d{4})\)`, "Not my favorite movie: 'Citizen Kane' (1941).", []any{"'Citizen Kane' (1941)", "Citizen Kane", "1941"}},
		{`deserialize error: (.*), while processing`, "x deserialize error: missing field `a`, while processing y", []any{"deserialize error: missing field `a`, while processing", "missing field `a`"}},
		{`(a)|(b)`, "b", []any{"b", nil, "b"}},
		{`(?<!AU)\$(\d+)`, "AU$10, $20", []any{"$20", "20"}},
		{`(a)?(?(1)b|c)`, "xc", []any{"c", nil}},
		{`a\Kb`, "xab", []any{"b"}},
		{`(\w+)\s(?=(\w+))`, "hello world", []any{"hello ", "hello", "world"}},
		{`(é+)(.)`, "aééb", []any{"ééb", "éé", "b"}},
		{`(?:a|ab)(c|bcd)(d*)`, "abcd", []any{"abcd", "bcd", ""}},
		{`x`, "y", nil},
	} {
		for _, re := range compileBoth(t, tc.pattern) {
			if got := groups(t, re, tc.s); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q (%s).Captures(%q) = %#v, want %#v", tc.pattern, re.Engine(), tc.s, got, tc.want)
			}
		}
	}
}

func TestGroupNames(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		names   []string
		index   map[string]int
	}{
		{`(?P<last>[^,\s]+),\s+(?P<first>\S+)`, []string{"", "last", "first"}, map[string]int{"last": 1, "first": 2, "none": -1}},
		{`(?<title>[^']+)(x)(?'year'\d+)`, []string{"", "title", "", "year"}, map[string]int{"title": 1, "year": 3}},
		// A name defined twice belongs to its last group.
		{`(?<a>x)|(?<a>y)`, []string{"", "", "a"}, map[string]int{"a": 2}},
	} {
		re := MustCompile(tc.pattern)
		if got := re.SubexpNames(); !reflect.DeepEqual(got, tc.names) {
			t.Errorf("%q.SubexpNames() = %q, want %q", tc.pattern, got, tc.names)
		}
		if re.NumSubexp() != len(tc.names)-1 {
			t.Errorf("%q.NumSubexp() = %d", tc.pattern, re.NumSubexp())
		}
		for name, want := range tc.index {
			if got := re.SubexpIndex(name); got != want {
				t.Errorf("%q.SubexpIndex(%q) = %d, want %d", tc.pattern, name, got, want)
			}
		}
	}
}

func TestFindAll(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       []string
	}{
		{`\b\w{13}\b`, "Retroactively relinquishing remunerations is reprehensible.",
			[]string{"Retroactively", "relinquishing", "remunerations", "reprehensible"}},
		{`a*`, "baaa", []string{"", "aaa"}},
		{``, "ab", []string{"", "", ""}},
		{`\b`, "a b", []string{"", "", "", ""}},
		{`\w+(?=!)`, "so fancy! even with! iterators!", []string{"fancy", "with", "iterators"}},
		{`\Ga`, "aab", []string{"a", "a"}},
		{`\Ga`, "baa", nil},
		{`é|`, "aéb", []string{"", "é", ""}},
		{`(\d)\1`, "11 22 23 33", []string{"11", "22", "33"}},
	} {
		for _, re := range compileBoth(t, tc.pattern) {
			got, err := re.FindAllString(tc.s, -1)
			if err != nil {
				t.Fatalf("%q.FindAllString: %v", tc.pattern, err)
			}
			if len(got) == 0 && len(tc.want) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q (%s).FindAllString(%q) = %q, want %q", tc.pattern, re.Engine(), tc.s, got, tc.want)
			}
			if lim, err := re.FindAllString(tc.s, 1); err != nil || len(tc.want) > 0 && (len(lim) != 1 || lim[0] != tc.want[0]) {
				t.Errorf("%q (%s).FindAllString(%q, 1) = %q, %v", tc.pattern, re.Engine(), tc.s, lim, err)
			}
		}
	}
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		pattern, s, want string
		ok               bool
	}{
		{`o+`, "food", "oo", true},
		{`o+`, "fd", "", false},
		{`\<\w*\>`, "turbo::<Fish>", "turbo", true},
		{`(?<=€)\d+`, "prix: €42", "42", true},
	} {
		for _, re := range compileBoth(t, tc.pattern) {
			got, ok, err := re.FindString(tc.s)
			if err != nil || got != tc.want || ok != tc.ok {
				t.Errorf("%q (%s).FindString(%q) = %q, %v, %v; want %q, %v", tc.pattern, re.Engine(), tc.s, got, ok, err, tc.want, tc.ok)
			}
			loc, err := re.FindStringIndex(tc.s)
			if err != nil || tc.ok != (loc != nil) || loc != nil && tc.s[loc[0]:loc[1]] != tc.want {
				t.Errorf("%q (%s).FindStringIndex(%q) = %v, %v", tc.pattern, re.Engine(), tc.s, loc, err)
			}
		}
	}
}

func TestReplace(t *testing.T) {
	for _, tc := range []struct {
		pattern, s, rep string
		limit           int
		want            string
	}{
		{`[^01]+`, "1078910", "", 1, "1010"},
		{`(?P<last>[^,\s]+),\s+(?P<first>\S+)`, "Springsteen, Bruce", "$first $last", 1, "Bruce Springsteen"},
		{`(?P<first>\w+)\s+(?P<second>\w+)`, "deep fried", "${first}_$second", 1, "deep_fried"},
		{`(?P<first>\w+)\s+(?P<second>\w+)`, "deep fried", "$first_$second", 1, "fried"},
		{`(\w+) (\w+)`, "a b", "$2 $1", 1, "b a"},
		{`(\w+) (\w+)`, "a b", "$1a", 1, ""},
		{`(\w+) (\w+)`, "a b", "${1}a", 1, "aa"},
		{`(\w+) (\w+)`, "a b", "$9|$$|$|${x", 1, "|$|$|${x"},
		{`(a)|b`, "b", "[$1]", 1, "[]"},
		{`a`, "aaa", "b", 1, "baa"},
		{`a`, "aaa", "b", 2, "bba"},
		{`a`, "aaa", "b", 0, "bbb"},
		{`x`, "aaa", "b", 0, "aaa"},
		{`a\Kb`, "abab", "X", 0, "aXaX"},
		{`(?<=a)b`, "abcb", "[$0]", 0, "a[b]cb"},
		{`é`, "aéé", "e", 0, "aee"},
	} {
		for _, re := range compileBoth(t, tc.pattern) {
			got, err := re.ReplaceN(tc.s, tc.rep, tc.limit)
			if err != nil || got != tc.want {
				t.Errorf("%q (%s).ReplaceN(%q, %q, %d) = %q, %v; want %q", tc.pattern, re.Engine(), tc.s, tc.rep, tc.limit, got, err, tc.want)
			}
		}
	}
	re := MustCompile(`a`)
	if got, _ := re.Replace("aa", "b"); got != "ba" {
		t.Errorf("Replace = %q", got)
	}
	if got, _ := re.ReplaceAll("aa", "b"); got != "bb" {
		t.Errorf("ReplaceAll = %q", got)
	}
}

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       []string
	}{
		{`[ \t]+`, "a b \t  c\td    e", []string{"a", "b", "c", "d", "e"}},
		{`,`, "", []string{""}},
		{`,`, ",a,", []string{"", "a", ""}},
		{`x`, "abc", []string{"abc"}},
		{`(?<=,)`, "a,b", []string{"a,", "b"}},
	} {
		for _, re := range compileBoth(t, tc.pattern) {
			got, err := re.Split(tc.s)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%q (%s).Split(%q) = %q, %v; want %q", tc.pattern, re.Engine(), tc.s, got, err, tc.want)
			}
		}
	}
}

func TestEscape(t *testing.T) {
	if got, want := Escape(`a.b*c-d~e&f#g(h)`), `a\.b\*c\-d\~e\&f\#g\(h\)`; got != want {
		t.Errorf("Escape = %q, want %q", got, want)
	}
	s := `1+1=2? [yes] {no} ^$|\ .*~&-#é`
	re := MustCompile("^" + Escape(s) + "$")
	if ok, _ := re.MatchString(s); !ok {
		t.Errorf("escaped %q does not match itself", s)
	}
	if ok, _ := re.MatchString("x" + s); ok {
		t.Errorf("escaped pattern matched more than %q", s)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{`(a`, "Opening parenthesis without closing parenthesis"},
		{`a)`, "end of string not reached"},
		{`*a`, "Target of repeat operator is invalid"},
		{`a**`, "Target of repeat operator is invalid"},
		{`(?=a)*`, "Target of repeat operator is invalid"},
		{`\q`, `Invalid escape: \q`},
		{`\`, "Backslash without following character"},
		{`\b{start}`, `Invalid escape: \b`},
		{`[a`, "Invalid character class"},
		{`[z-a]`, "invalid character class range"},
		{`[\d-z]`, "invalid range boundary"},
		{`(?<=a+)b`, "Look-behind assertion without constant size"},
		{`(?<=(a|bb))c`, "Look-behind assertion without constant size"},
		{`(a)(b)\3`, "Invalid back reference to group 3"},
		{`(a)\2`, "Parsing error at position 4: Invalid back reference"},
		{`\0`, "Invalid back reference to group 0"},
		{`\k<nope>`, "Invalid group name in back reference: nope"},
		{`(?<n>a)\1`, "Numbered backref/call not allowed because named group was used"},
		{`(?-u)a`, "Disabling Unicode not supported"},
		{`(?q)a`, "Unknown group flag: (?q"},
		{`(?)`, "Unknown group flag"},
		{`\p{Nope}`, "Unicode property not found"},
		{`\x{110000}`, "Invalid codepoint for hex or unicode escape"},
		{`\xZZ`, "Invalid hex escape"},
		{`(a)\g<1>`, `Invalid escape: \g`},
		{`(?P>x)`, "Unknown group flag"},
		{`(?<a>x)\k<a+1>`, "Could not parse group name"},
		{`\p{Zzzz}`, "Unicode property not found"},
		{`a{3,2}`, "invalid repetition count range"},
		{`(?<1`, "Could not parse group name"},
		{"\xff", "not valid UTF-8"},
		{strings.Repeat("[", 300) + strings.Repeat("]", 300), "maximum number of nested"},
		{strings.Repeat("(", 70) + strings.Repeat(")", 70), "Pattern too deeply nested"},
	} {
		_, err := Compile(tc.pattern)
		if err == nil {
			t.Errorf("Compile(%q) succeeded, want error containing %q", tc.pattern, tc.want)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("Compile(%q) error %q does not contain %q", tc.pattern, msg, tc.want)
		}
		if !strings.Contains(msg, fmt.Sprintf("%q", tc.pattern)) {
			t.Errorf("Compile(%q) error %q does not quote the pattern", tc.pattern, msg)
		}
		var e *Error
		if !errors.As(err, &e) || e.Pattern != tc.pattern {
			t.Errorf("Compile(%q) error is %T, want *Error for the pattern", tc.pattern, err)
		}
	}
	var e *Error
	if _, err := Compile(`ab(`); !errors.As(err, &e) || e.Pos != 3 {
		t.Errorf("position of error in %q: %v", `ab(`, err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("MustCompile of a bad pattern did not panic")
			}
		}()
		MustCompile(`(`)
	}()
}

func TestTimeout(t *testing.T) {
	re, err := CompileWithOptions(`(a+)+$`, Options{Timeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if re.Engine() == EngineRE2 {
		// Without backtracking features this pattern is linear in Go; the
		// catastrophic case needs the backtracking engine.
		re, err = compile(`(a+)+$`, Options{Timeout: 10 * time.Millisecond}, true)
		if err != nil {
			t.Fatal(err)
		}
	}
	if re.Timeout() != 10*time.Millisecond {
		t.Errorf("Timeout() = %v", re.Timeout())
	}
	evil := strings.Repeat("a", 64) + "b"
	check := func(what string, err error) {
		t.Helper()
		pattern := `(a+)+$`
		if strings.HasPrefix(what, "look") {
			pattern = `(?=x?)(a+)+$`
		}
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("%s: error %v, want a timeout", what, err)
		}
		var te *TimeoutError
		if !errors.As(err, &te) || !strings.Contains(err.Error(), fmt.Sprintf("%q", pattern)) || !strings.Contains(err.Error(), "timed out") {
			t.Errorf("%s: error %q does not describe the timeout of the pattern", what, err)
		}
	}
	_, err = re.MatchString(evil)
	check("MatchString", err)
	_, err = re.FindStringSubmatchIndex(evil)
	check("FindStringSubmatchIndex", err)
	_, err = re.FindAllString(evil, -1)
	check("FindAllString", err)
	_, err = re.ReplaceAll(evil, "x")
	check("ReplaceAll", err)
	_, err = re.Split(evil)
	check("Split", err)

	// The same pattern behind a look-ahead selects the backtracking engine
	// by itself.
	re2, err := CompileWithOptions(`(?=x?)(a+)+$`, Options{Timeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = re2.MatchString(evil)
	check("look-ahead pattern", err)

	if d, _ := Compile(`a`); d.Timeout() != DefaultTimeout {
		t.Errorf("default timeout = %v", d.Timeout())
	}
}

func TestInvalidUTF8Haystack(t *testing.T) {
	s := "a\xffé\xfeb"
	for _, p := range []string{`(?<=.)b`, `b`, `\bb`, `(?<=\x{FFFD})b`} {
		for _, re := range compileBoth(t, p) {
			loc, err := re.FindStringIndex(s)
			if err != nil || loc == nil || s[loc[0]:loc[1]] != "b" {
				t.Errorf("%q (%s) on invalid UTF-8: %v, %v", p, re.Engine(), loc, err)
			}
		}
	}
}

func TestExpand(t *testing.T) {
	re := MustCompile(`(?<k>\w+)=(\w+)`)
	s := "key=value"
	loc, _ := re.FindStringSubmatchIndex(s)
	if got := string(re.Expand([]byte(">"), "$2:${k}:$k2:$$", s, loc)); got != ">value:key::$" {
		t.Errorf("Expand = %q", got)
	}
}

func TestPrefilter(t *testing.T) {
	patterns := []string{
		`RL000010`, `(?i)spam|blocked`, `^(?!.*KumoMTA internal).*RL000010`, `(?i)(spam|blocked)\s+mail`,
		`foo(?=bar)`, `(?<=\$)\d+`, `a+bc`, `(?i)kelvin`, `(ab|cd)ef`, `x\x{FFFD}y`, `(?i)straße`,
	}
	haystacks := []string{
		"", "RL000010", "rl000010", "KumoMTA internal RL000010", "SPAM mail", "Blocked\tMAIL", "foobar", "cost $5",
		"aaabc", "\u212aELVIN", "abef", "cdef", "x\xffy", "x\uFFFDy", "STRASSE", "STRAßE", "nothing here",
	}
	sawPrefilter := false
	for _, p := range patterns {
		for _, re := range compileBoth(t, p) {
			plain := *re
			plain.pre = nil
			sawPrefilter = sawPrefilter || re.pre != nil
			for _, s := range haystacks {
				got, err1 := re.MatchString(s)
				want, err2 := plain.MatchString(s)
				if err1 != nil || err2 != nil || got != want {
					t.Errorf("%q (%s) on %q: with prefilter %v, without %v (%v, %v)", p, re.Engine(), s, got, want, err1, err2)
				}
				gotLoc, _ := re.FindStringSubmatchIndex(s)
				wantLoc, _ := plain.FindStringSubmatchIndex(s)
				if !reflect.DeepEqual(gotLoc, wantLoc) {
					t.Errorf("%q (%s) on %q: submatches with prefilter %v, without %v", p, re.Engine(), s, gotLoc, wantLoc)
				}
			}
		}
	}
	if !sawPrefilter {
		t.Errorf("no pattern got a prefilter")
	}
	if re := MustCompile(`^(?!.*KumoMTA internal).*RL000010`); re.pre == nil || re.pre.exact {
		t.Errorf("shipped rule: prefilter %+v, want an inexact one on RL000010", re.pre)
	}
	if re := MustCompile(`(?i)(spam|blocked)`); re.pre == nil || !re.pre.exact {
		t.Errorf("literal alternation: prefilter %+v, want an exact one", re.pre)
	}
}

// Benchmarks: the same patterns on Go's regexp (RE2 path) and on regexp2
// (backtracking path, forced), against a typical SMTP response. The
// patterns are chosen so that the literal prefilter passes and the engine
// has to run.

const benchResponse = "550 5.7.1 [203.0.113.9] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked."

var benchPatterns = []string{
	`^5\d\d 5\.7\.1 `,
	`\bunsolicited\b`,
	`(?i)message .* blocked`,
	`(\d+\.){3}\d+`,
}

func benchEngines(b *testing.B, forceBT bool) {
	res := make([]*Regexp, len(benchPatterns))
	for i, p := range benchPatterns {
		re, err := compile(p, Options{}, forceBT)
		if err != nil {
			b.Fatal(err)
		}
		res[i] = re
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, re := range res {
			if ok, err := re.MatchString(benchResponse); err != nil || !ok {
				b.Fatal(re, ok, err)
			}
		}
	}
}

// BenchmarkMatchRE2 matches four patterns per iteration on Go's regexp.
func BenchmarkMatchRE2(b *testing.B) { benchEngines(b, false) }

// BenchmarkMatchBacktracking matches the same four patterns on regexp2.
func BenchmarkMatchBacktracking(b *testing.B) { benchEngines(b, true) }

// BenchmarkRuleSet runs a set of automation-rule-like patterns against a
// response none of them matches (the common case), mostly decided by the
// prefilter.
func BenchmarkRuleSet(b *testing.B) {
	rules := []string{
		`^(?!.*KumoMTA internal).*RL000010`, `(?i)spam|blacklist`, `4\.7\.0 .*rate limit`, `(?i)too many connections`,
		`\bdeferred\b`, `(?i)mailbox (full|unavailable)`, `5\.7\.26`, `TSS04`,
	}
	res := make([]*Regexp, len(rules))
	for i, p := range rules {
		res[i] = MustCompile(p)
	}
	const response = "250 2.0.0 OK 1700000000 d2e1a72fcca58-6c3a5b0b1c2si1234567pfb.123 - gsmtp"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, re := range res {
			if ok, err := re.MatchString(response); err != nil || ok {
				b.Fatal(re, ok, err)
			}
		}
	}
}

// BenchmarkShippedRule is the look-ahead rule of KumoMTA's shaping.toml,
// which needs the backtracking engine.
func BenchmarkShippedRule(b *testing.B) {
	re := MustCompile(`^(?!.*KumoMTA internal).*RL000010`)
	for _, s := range []string{benchResponse, "451 4.7.1 RL000010 slow down"} {
		name := "nomatch"
		if strings.Contains(s, "RL000010") {
			name = "match"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := re.MatchString(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCaptures(b *testing.B) {
	for _, forceBT := range []bool{false, true} {
		re, err := compile(`^(\d{3}) (\d\.\d\.\d) (.*)$`, Options{}, forceBT)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(re.Engine()), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := re.Captures(benchResponse); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, p := range []string{`(?i)(spam|blocked|blacklisted)`, `^(?!.*KumoMTA internal).*RL000010`, `\bfoo\w+\b`} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := Compile(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	res := []*Regexp{MustCompile(`\bfoo(\d+)\b`), MustCompile(`(?<=x)(\w)\1`)}
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				for _, re := range res {
					for _, s := range []string{"a foo12 b", "éfoo1", "xaa", "yaa"} {
						if _, err := re.Captures(s); err != nil {
							t.Error(err)
							return
						}
					}
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
}

// FuzzCompile checks that no pattern makes the compiler panic and that,
// when a pattern runs on Go's regexp, the backtracking spelling of it
// gives the same answers.
func FuzzCompile(f *testing.F) {
	for _, p := range []string{`a|b`, `(?i)k+`, `[\w&&\p{Greek}]`, `\bx\b`, `(a)?(?(1)b|c)`, `(?x) a # c`, `x{2,}?`, `[^\d\s]`, `(?s).+?$`, `\p{L}{2}`, `(?m)^a$`} {
		f.Add(p, "a b\nKk\u212a αβ 12 x")
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		re, err := CompileWithOptions(pattern, Options{Timeout: 50 * time.Millisecond})
		if err != nil {
			return
		}
		got, err := re.MatchString(s)
		if err != nil {
			return
		}
		gotLoc, _ := re.FindStringSubmatchIndex(s)
		if re.Engine() != EngineRE2 {
			return
		}
		bt, err := compile(pattern, Options{Timeout: 50 * time.Millisecond}, true)
		if err != nil {
			t.Fatalf("%q compiles for Go but not for regexp2: %v", pattern, err)
		}
		want, err := bt.MatchString(s)
		if err != nil {
			return
		}
		if got != want {
			t.Fatalf("%q on %q: re2 %v, backtracking %v", pattern, s, got, want)
		}
		wantLoc, _ := bt.FindStringSubmatchIndex(s)
		if got && (gotLoc == nil || wantLoc == nil || gotLoc[0] != wantLoc[0] || gotLoc[1] != wantLoc[1]) {
			t.Fatalf("%q on %q: re2 match %v, backtracking %v", pattern, s, gotLoc, wantLoc)
		}
	})
}
