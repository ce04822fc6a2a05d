// Package kstring is the Lua-free core of kumo.string's functions that go
// beyond plain standard-library calls: line wrapping and splitting from the
// right with a limit.
package kstring

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Break is what Wrap inserts between lines: a folded header continuation.
const Break = "\r\n\t"

// Wrap breaks text at whitespace so that lines stay within soft characters
// where words allow, and hard-breaks words longer than hard. Runs of
// whitespace between words become one space at a join and disappear at a
// break; existing line breaks are kept; leading and trailing whitespace is
// trimmed. The tab that starts a continuation line is not counted. Lengths count
// characters (runes).
func Wrap(text string, soft, hard int) string {
	if hard < 1 {
		hard = 1
	}
	if soft > hard {
		soft = hard
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		lines[i] = wrapLine(strings.TrimSuffix(line, "\r"), soft, hard)
	}
	return strings.TrimRightFunc(strings.Join(lines, "\r\n"), unicode.IsSpace)
}

func wrapLine(line string, soft, hard int) string {
	var b strings.Builder
	width := 0 // characters on the current output line
	atStart := true
	for _, word := range strings.Fields(line) {
		n := utf8.RuneCountInString(word)
		if !atStart {
			if width+1+n <= soft {
				b.WriteByte(' ')
				width++
			} else {
				b.WriteString(Break)
				width, atStart = 0, true
			}
		}
		// Only a word that starts a line can exceed hard: hard-break it.
		for width+n > hard {
			cut := byteIndex(word, hard-width)
			b.WriteString(word[:cut])
			b.WriteString(Break)
			word = word[cut:]
			n -= hard - width
			width = 0
		}
		b.WriteString(word)
		width += n
		atStart = false
	}
	return b.String()
}

// byteIndex returns the byte offset of the n-th rune of s.
func byteIndex(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// RSplitN splits s by sep from the right into at most n pieces (n < 1:
// all), the last piece holding the unsplit rest; pieces come rightmost
// first.
func RSplitN(s, sep string, n int) []string {
	var out []string
	for n < 1 || len(out) < n-1 {
		i := strings.LastIndex(s, sep)
		if i < 0 || sep == "" {
			break
		}
		out = append(out, s[i+len(sep):])
		s = s[:i]
	}
	return append(out, s)
}

// SplitASCIIWhitespace splits s at runs of ASCII whitespace.
func SplitASCIIWhitespace(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f'
	})
}
