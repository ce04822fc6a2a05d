package regexset

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	m, err := New(map[string]string{
		"hello": "hello", "bye": "bye", "later": "bye", "Good day": "hello",
		`^\d{3}\b`: "code", `(?i)^421`: "tempfail",
	})
	if err != nil {
		t.Fatal(err)
	}
	for hay, want := range map[string]string{
		"hello there": "hello", "goodbye": "bye", "see you later": "bye", "Good day to you": "hello",
		"not.set": "", "550 no": "code",
		// both `(?i)^421` and `^\d{3}\b` match: the first in byte order wins
		"421 busy": "tempfail",
	} {
		got, ok, err := m.Lookup(hay)
		if err != nil || got != want || ok != (want != "") {
			t.Errorf("Lookup(%q) = %q, %v, %v; want %q", hay, got, ok, err, want)
		}
	}
	if m.Len() != 6 {
		t.Errorf("Len = %d", m.Len())
	}
	var order []string
	m.Each(func(p, _ string) { order = append(order, p) })
	if strings.Join(order, " ") != `(?i)^421 Good day ^\d{3}\b bye hello later` {
		t.Errorf("order %q", order)
	}
}

func TestNewError(t *testing.T) {
	_, err := New(map[string]int{"ok": 1, "(unclosed": 2})
	if err == nil || !strings.Contains(err.Error(), "(unclosed") {
		t.Fatalf("error %v, want one quoting the pattern", err)
	}
}
