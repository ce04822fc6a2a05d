package plain

import (
	"errors"
	"strconv"
	"testing"
)

func TestParseMemo(t *testing.T) {
	calls := 0
	parse := func(s string) (int, error) {
		calls++
		if s == "bad" {
			return 0, errors.New("bad input")
		}
		return strconv.Atoi(s)
	}
	m := NewParseMemo[int](2)
	for i := 0; i < 3; i++ {
		if v, err := m.Parse("7", parse); v != 7 || err != nil {
			t.Fatalf("Parse(7) = %v, %v", v, err)
		}
	}
	if calls != 1 {
		t.Errorf("a remembered string was parsed %d times", calls)
	}
	// Errors are never remembered: each call reports afresh.
	for i := 0; i < 2; i++ {
		if _, err := m.Parse("bad", parse); err == nil || err.Error() != "bad input" {
			t.Fatalf("error: %v", err)
		}
	}
	if calls != 3 {
		t.Errorf("errors were remembered: %d calls", calls)
	}
	// The bound: one more string fits, then new strings are parsed each time.
	m.Parse("8", parse)
	m.Parse("9", parse)
	m.Parse("9", parse)
	if calls != 6 {
		t.Errorf("past the bound: %d calls, want 6", calls)
	}
	if v, _ := m.Parse("8", parse); v != 8 || calls != 6 {
		t.Errorf("a string within the bound was parsed again (%d calls)", calls)
	}
}
