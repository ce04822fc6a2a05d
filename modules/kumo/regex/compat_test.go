package regex

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dlclark/regexp2"
)

// The thin adapter is the yardstick for this package: the pattern exactly
// as written, on Go's regexp when Go accepts it, else on regexp2 in its
// RE2 mode (the regexp2 options closest to KumoMTA's dialect: $ matches
// only at the very end, (?P<name>..) and [[:alpha:]] are understood).
// Every construct the translator handles differently must show, in
// TestTranslatorNeeded, an input on which this adapter's answer differs
// from KumoMTA's and the translator's answer is KumoMTA's.
type thinAdapter struct {
	re2 *regexp.Regexp
	bt  *regexp2.Regexp
}

func thinCompile(pattern string) (*thinAdapter, error) {
	if re, err := regexp.Compile(pattern); err == nil {
		return &thinAdapter{re2: re}, nil
	}
	bt, err := regexp2.Compile(pattern, regexp2.RE2)
	if err != nil {
		return nil, err
	}
	bt.MatchTimeout = time.Second
	return &thinAdapter{bt: bt}, nil
}

// answer renders the result of op on s: "match" gives true or false,
// "find" the first match or <none>, "groups" the groups of the first
// match (- for one that did not take part), "all" every match.
func (t *thinAdapter) answer(op, s string) string {
	if t.re2 != nil {
		switch op {
		case "match":
			return fmt.Sprint(t.re2.MatchString(s))
		case "find":
			if loc := t.re2.FindStringIndex(s); loc != nil {
				return s[loc[0]:loc[1]]
			}
			return "<none>"
		case "groups":
			return renderGroups(s, t.re2.FindStringSubmatchIndex(s))
		case "all":
			return fmt.Sprintf("%q", t.re2.FindAllString(s, -1))
		}
		return "ok"
	}
	m, err := t.bt.FindStringMatch(s)
	if err != nil {
		return "error: " + err.Error()
	}
	switch op {
	case "match":
		return fmt.Sprint(m != nil)
	case "find":
		if m == nil {
			return "<none>"
		}
		return m.String()
	case "groups":
		if m == nil {
			return renderGroups(s, nil)
		}
		var loc []int
		for _, g := range m.Groups() {
			if len(g.Captures) == 0 {
				loc = append(loc, -1, -1)
			} else {
				loc = append(loc, g.Index, g.Index+g.Length)
			}
		}
		return renderGroups(string([]rune(s)), runeLocToBytes(s, loc))
	case "all":
		var all []string
		for m != nil {
			all = append(all, m.String())
			if m, err = t.bt.FindNextMatch(m); err != nil {
				return "error: " + err.Error()
			}
		}
		return fmt.Sprintf("%q", all)
	}
	return "ok"
}

func runeLocToBytes(s string, loc []int) []int {
	offs := []int{}
	for i := range s {
		offs = append(offs, i)
	}
	offs = append(offs, len(s))
	out := make([]int, len(loc))
	for i, v := range loc {
		out[i] = -1
		if v >= 0 {
			out[i] = offs[v]
		}
	}
	return out
}

func renderGroups(s string, loc []int) string {
	if loc == nil {
		return "<none>"
	}
	var parts []string
	for i := 0; i < len(loc); i += 2 {
		if loc[i] < 0 {
			parts = append(parts, "-")
		} else {
			parts = append(parts, s[loc[i]:loc[i+1]])
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// ourAnswer is answer for the translator.
func ourAnswer(re *Regexp, op, s string) string {
	var out string
	var err error
	switch op {
	case "match":
		var ok bool
		ok, err = re.MatchString(s)
		out = fmt.Sprint(ok)
	case "find":
		var m string
		var ok bool
		m, ok, err = re.FindString(s)
		out = m
		if !ok {
			out = "<none>"
		}
	case "groups":
		var loc []int
		loc, err = re.FindStringSubmatchIndex(s)
		out = renderGroups(s, loc)
	case "all":
		var all []string
		all, err = re.FindAllString(s, -1)
		out = fmt.Sprintf("%q", all)
	default:
		out = "ok"
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return out
}

// TestTranslatorNeeded proves each construct the translator handles: on
// the input given, KumoMTA (Rust regex / fancy-regex) answers want, the
// translator answers want, and the thin adapter answers something else
// (a compile error counts as the answer "error").
func TestTranslatorNeeded(t *testing.T) {
	for _, tc := range translatorCases {
		name := tc.construct + ": " + tc.pattern
		t.Run(name, func(t *testing.T) {
			got := "error"
			res, err := compileBothErr(tc.pattern)
			if err == nil {
				for _, re := range res {
					if got = ourAnswer(re, tc.op, tc.in); got != tc.want {
						t.Errorf("translator (%s): %s %q = %q, want %q", re.Engine(), tc.op, tc.in, got, tc.want)
					}
				}
			} else if tc.want != "error" {
				t.Errorf("translator refuses the pattern: %v", err)
			}
			thin := "error"
			if ta, err := thinCompile(tc.pattern); err == nil {
				thin = ta.answer(tc.op, tc.in)
			}
			if thin == tc.want {
				t.Errorf("thin adapter also answers %q: the construct needs no translation", thin)
			}
		})
	}
}

type translatorCase struct {
	construct, pattern, op, in, want string
}

var translatorCases = []translatorCase{
	{"Unicode \\d", `^\d$`, "match", "٣", "true"},
	{"Unicode \\D", `^\D$`, "match", "٣", "false"},
	{"Unicode \\w", `^\w+$`, "match", "é", "true"},
	{"Unicode \\W", `^\W$`, "match", "é", "false"},
	{"Unicode \\s", `^\s$`, "match", "\u00a0", "true"},
	{"Unicode \\S", `^\S$`, "match", "\u00a0", "false"},
	{"Unicode \\b", `\bfoo`, "match", "éfoo", "false"},
	{"Unicode \\B", `\Bfoo`, "match", "éfoo", "true"},
	{"class intersection &&", `^[a-z&&[^aeiou]]$`, "match", "b", "true"},
	{"class difference --", `^[a-z--[aeiou]]$`, "match", "b", "true"},
	{"class symmetric difference ~~", `^[a-c~~b-d]$`, "match", "b", "false"},
	{"nested class", `^[a[bc]]$`, "match", "b", "true"},
	{"class nesting limit", strings.Repeat("[", 300) + "a" + strings.Repeat("]", 300), "compile", "", "error"},
	{"\\p loose name matching", `^\p{whitespace}$`, "match", " ", "true"},
	{"\\p Is prefix", `^\p{IsGreek}$`, "match", "ἀ", "true"},
	{"\\p sc=", `^\p{sc=Greek}$`, "match", "α", "true"},
	{"\\p !=", `^\p{sc!=Greek}$`, "match", "a", "true"},
	{"\\p gc=", `^\p{gc=Lu}$`, "match", "A", "true"},
	{"\\p script code", `^\p{Grek}$`, "match", "α", "true"},
	{"\\p gc= with a long name", `^\p{gc=Letter}$`, "match", "a", "true"},
	{"\\p binary property alias", `^\p{AHex}$`, "match", "a", "true"},
	{"\\p derived property", `^\p{Alphabetic}$`, "match", "a", "true"},
	{"{,n}", `^a{,2}$`, "match", "aa", "true"},
	{"repetition limit", `a{1000001}`, "compile", "", "error"},
	{"\\h", `^\h$`, "match", "a", "true"},
	{"\\O", `a\Ob`, "match", "a\nb", "true"},
	{"\\Z", `a\Z`, "match", "a\n\n", "true"},
	{"\\<", `\<foo`, "match", "a foo", "true"},
	{"\\>", `foo\>`, "match", "foo bar", "true"},
	{"\\K", `a\Kb`, "find", "ab", "b"},
	{"(?P=name)", `(?P<w>a)(?P=w)`, "match", "aa", "true"},
	{"\\k<-1>", `(a)(b)\k<-1>`, "match", "abb", "true"},
	{"named groups numbered in order", `(?<a>x)(y)(?=z)`, "groups", "xyz", "[xy x y]"},
	{"possessive repetition", `^a++a`, "match", "aaa", "false"},
	{"conditional on an expression", `^(?(a)bc|d)`, "match", "abc", "true"},
	{"conditional on a named group", `^(?<n>a)?(?(<n>)b|c)$`, "match", "ab", "true"},
	{"conditional without branches", `^(a)?x(?(1))`, "match", "x", "false"},
	{"case folding on the backtracking engine", `(?i)ς(?!x)`, "match", "Σ", "true"},
	{"case-folded class on the backtracking engine", `(?i)[a-z](?!x)`, "match", "ſ", "true"},
	{"\\U escape", `\U0001F600`, "match", "😀", "true"},
	{"\\u{..} escape", `\u{E9}`, "match", "é", "true"},
	{"look-behind of variable size refused", `(?<=a+)b`, "compile", "", "error"},
	{"numbered back-reference with named groups", `(?<n>a)\1`, "compile", "", "error"},
	{"back-reference to group 0", `\0`, "compile", "", "error"},
	{"unknown escape", `\q`, "compile", "", "error"},
	{"iteration after an empty match", `a*(?!x)`, "all", "baaa", `["" "aaa"]`},
	{"repetition of a repetition", `x{2}{3}`, "match", "xx{3}", "true"},
	{"(?i) outlives its capture group", `((?i)a)b`, "match", "AB", "true"},
	{"group nesting limit", strings.Repeat("(", 70) + "a" + strings.Repeat(")", 70), "compile", "", "error"},
}

// compileBothErr compiles pattern as Compile does and, when that picks
// RE2, with the backtracking engine forced as well.
func compileBothErr(pattern string) ([]*Regexp, error) {
	re, err := Compile(pattern)
	if err != nil {
		return nil, err
	}
	out := []*Regexp{re}
	if re.Engine() == EngineRE2 {
		bt, err := compile(pattern, Options{}, true)
		if err != nil {
			return nil, fmt.Errorf("forced backtracking: %w", err)
		}
		if bt.Engine() != EngineBacktracking {
			return nil, fmt.Errorf("forced backtracking gave engine %s", bt.Engine())
		}
		out = append(out, bt)
	}
	return out, nil
}
