package kstring

import (
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in         string
		soft, hard int
		want       string
	}{
		{"hello", 75, 900, "hello"},
		{strings.Repeat("A", 200), 75, 100, strings.Repeat("A", 100) + Break + strings.Repeat("A", 100)},
		{strings.Repeat("A", 250), 75, 100, strings.Repeat("A", 100) + Break + strings.Repeat("A", 100) + Break + strings.Repeat("A", 50)},
		{"  aa bb   cc  ", 5, 10, "aa bb" + Break + "cc"},
		{"aa bbbbbbbbbbbb c", 5, 8, "aa" + Break + "bbbbbbbb" + Break + "bbbb" + Break + "c"},
		{"one\ntwo three", 7, 10, "one\r\ntwo" + Break + "three"},
		{"ééé ééé", 3, 3, "ééé" + Break + "ééé"},
	} {
		if got := Wrap(tc.in, tc.soft, tc.hard); got != tc.want {
			t.Errorf("Wrap(%q, %d, %d) = %q, want %q", tc.in, tc.soft, tc.hard, got, tc.want)
		}
	}
}

func TestRSplitN(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"Mary had a little lamb", 0, "lamb|little|a|had|Mary"},
		{"Mary had a little lamb", 3, "lamb|little|Mary had a"},
		{"Mary had a little lamb", 1, "Mary had a little lamb"},
		{"", 0, ""},
	} {
		if got := strings.Join(RSplitN(tc.s, " ", tc.n), "|"); got != tc.want {
			t.Errorf("RSplitN(%q, %d) = %q", tc.s, tc.n, got)
		}
	}
	if got := strings.Join(SplitASCIIWhitespace(" a\tb\u00a0c \n"), "|"); got != "a|b\u00a0c" {
		t.Errorf("SplitASCIIWhitespace: %q", got)
	}
}
