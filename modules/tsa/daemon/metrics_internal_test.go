package daemon

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRegexLabel(t *testing.T) {
	long := strings.Repeat("a", RegexLabelMax+20)
	exact := strings.Repeat("é", RegexLabelMax)
	for _, c := range []struct {
		name string
		in   []string
		want string
	}{
		{"one pattern as is", []string{`^4\d\d you said "go away"`}, `^4\d\d you said "go away"`},
		{"several joined as the reason text shows them", []string{"a", "b|c"}, "(a,b|c)"},
		{"invalid UTF-8 replaced", []string{"x\xffy\xc3"}, "x\uFFFDy\uFFFD"},
		{"control characters replaced", []string{"a\nb\tc\x00"}, "a\uFFFDb\uFFFDc\uFFFD"},
		{"cut to the bound with an ellipsis", []string{long}, strings.Repeat("a", RegexLabelMax-1) + "…"},
		{"exactly the bound is kept", []string{exact}, exact},
		{"one over the bound is cut", []string{exact + "z"}, strings.Repeat("é", RegexLabelMax-1) + "…"},
	} {
		got := regexLabel(c.in)
		if got != c.want {
			t.Errorf("%s: regexLabel(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > RegexLabelMax {
			t.Errorf("%s: %q is not a bounded UTF-8 label", c.name, got)
		}
	}
}

func TestBatchBuckets(t *testing.T) {
	b := batchBuckets(1000)
	if b[0] != 1 || b[len(b)-1] != 1000 || b[len(b)-2] != 512 {
		t.Errorf("buckets %v", b)
	}
	if b := batchBuckets(1); len(b) != 1 || b[0] != 1 {
		t.Errorf("buckets for 1: %v", b)
	}
}
