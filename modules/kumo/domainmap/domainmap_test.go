package domainmap

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func mustSet(t *testing.T, m *Map[string], key, value string) {
	t.Helper()
	if err := m.Set(key, value); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func TestLookupPrecedence(t *testing.T) {
	m := New[string]()
	mustSet(t, m, "*.example.com", "wild")
	mustSet(t, m, "*.b.example.com", "wild-b")
	mustSet(t, m, "explicit.example.com", "explicit")
	mustSet(t, m, "example.org", "org")
	mustSet(t, m, "foo", "single-label")

	for _, tc := range []struct {
		name, want, key string
	}{
		{"explicit.example.com", "explicit", "explicit.example.com"},
		{"foo.example.com", "wild", "*.example.com"},
		{"a.foo.example.com", "wild", "*.example.com"}, // any depth below
		{"b.example.com", "wild", "*.example.com"},     // *.b.example.com needs a label below b
		{"x.b.example.com", "wild-b", "*.b.example.com"},
		{"y.x.b.example.com", "wild-b", "*.b.example.com"},
		{"example.org", "org", "example.org"},
		{"foo", "single-label", "foo"},
		{"*.example.com", "wild", "*.example.com"}, // a lookup finds the wildcard entry itself
	} {
		v, key, ok := m.Match(tc.name)
		if !ok || v != tc.want || key != tc.key {
			t.Errorf("Match(%q) = %q, %q, %v; want %q, %q", tc.name, v, key, ok, tc.want, tc.key)
		}
	}
	for _, name := range []string{"example.com", "www.example.org", "org", "com", "not.set", "", ".", "a..example.com"} {
		if v, ok := m.Get(name); ok {
			t.Errorf("Get(%q) = %q, want no match", name, v)
		}
	}
}

func TestCatchAll(t *testing.T) {
	m := New[string]()
	mustSet(t, m, "*", "default")
	mustSet(t, m, "*.example.com", "wild")
	mustSet(t, m, "somewhere.com", "exact")
	for name, want := range map[string]string{
		"*":                 "default", // listener_domains looks "*" up explicitly
		"elsewhere.com":     "default",
		"com":               "default",
		"example.com":       "default", // the wildcard does not cover the bare domain
		"www.example.com":   "wild",
		"somewhere.com":     "exact",
		"sub.somewhere.com": "default",
	} {
		if got, ok := m.Get(name); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if v, ok := m.Get("not a domain"); ok {
		t.Errorf("a name with a space matched the catch-all: %q", v)
	}
}

func TestCaseAndTrailingDot(t *testing.T) {
	m := New[string]()
	mustSet(t, m, "Example.COM.", "exact")
	mustSet(t, m, "*.Wild.Example.ORG", "wild")
	for name, want := range map[string]string{
		"example.com":               "exact",
		"EXAMPLE.com":               "exact",
		"example.com.":              "exact",
		"A.wild.example.org":        "wild",
		"x.WILD.EXAMPLE.ORG.":       "wild",
		"*.WILD.EXAMPLE.ORG":        "wild",
		"deeper.x.wild.example.org": "wild",
	} {
		if got, ok := m.Get(name); !ok || got != want {
			t.Errorf("Get(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if got := m.Keys(); !reflect.DeepEqual(got, []string{"*.wild.example.org", "example.com"}) {
		t.Errorf("Keys() = %q", got)
	}
	// The same key in another spelling replaces the value.
	mustSet(t, m, "EXAMPLE.com", "replaced")
	if got, _ := m.Get("example.com"); got != "replaced" || m.Len() != 2 {
		t.Errorf("after re-setting: Get = %q, Len = %d", got, m.Len())
	}
}

func TestInvalidKeys(t *testing.T) {
	m := New[string]()
	for key, reason := range map[string]string{
		"":                                       "empty",
		".":                                      "empty",
		"a..example.com":                         "Malformed label",
		".example.com":                           "Malformed label",
		"foo.*.example.com":                      `"*" is only allowed`,
		"*foo.example.com":                       `"*" is only allowed`,
		"*.*.example.com":                        `"*" is only allowed`,
		"*..":                                    "a wildcard needs a domain",
		"exa mple.com":                           "space or control character",
		"tab\t.com":                              "space or control character",
		strings.Repeat("a", 64) + ".com":         "label bytes exceed 63",
		strings.Repeat("abcdefghi.", 26) + "com": "Domain name exceeds maximum length of 255",
	} {
		err := m.Set(key, "x")
		var ke *KeyError
		if !errors.As(err, &ke) || ke.Key != key || !strings.Contains(err.Error(), reason) {
			t.Errorf("Set(%q) = %v, want a KeyError naming the key and saying %q", key, err, reason)
			continue
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
			t.Errorf("error %q does not name the key", err)
		}
		if err := m.Delete(key); err == nil {
			t.Errorf("Delete(%q) accepted an invalid key", key)
		}
	}
	if m.Len() != 0 {
		t.Errorf("invalid keys were stored: %q", m.Keys())
	}
	// Names that are fine: single labels, digits, hyphens, underscores,
	// domain literals, 63-byte labels.
	for _, key := range []string{"default", "localhost", "_dmarc.example.com", "xn--bcher-kva.example", "[10.0.0.1]", strings.Repeat("a", 63) + ".com"} {
		if err := m.Set(key, key); err != nil {
			t.Errorf("Set(%q): %v", key, err)
		}
		if got, ok := m.Get(key); !ok || got != key {
			t.Errorf("Get(%q) = %q, %v", key, got, ok)
		}
	}
}

func TestDeleteEntriesClone(t *testing.T) {
	m := New[string]()
	mustSet(t, m, "*", "all")
	mustSet(t, m, "*.example.com", "wild")
	mustSet(t, m, "example.com", "exact")

	want := []Entry[string]{{"*", "all"}, {"*.example.com", "wild"}, {"example.com", "exact"}}
	if got := m.Entries(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Entries() = %v, want %v", got, want)
	}

	c := m.Clone()
	if err := m.Delete("*.EXAMPLE.com"); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete("absent.example.com"); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	if got, _ := m.Get("www.example.com"); got != "all" {
		t.Errorf("after deleting the wildcard, Get = %q, want the catch-all", got)
	}
	if got, _ := c.Get("www.example.com"); got != "wild" || c.Len() != 3 {
		t.Errorf("the clone changed with the original: %q, Len %d", got, c.Len())
	}
	mustSet(t, c, "www.example.com", "clone-only")
	if got, _ := m.Get("www.example.com"); got != "all" {
		t.Errorf("the original changed with the clone: %q", got)
	}
}

func TestConcurrentUse(t *testing.T) {
	m := New[int]()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				_ = m.Set(fmt.Sprintf("*.d%d.example", i%10), i)
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				m.Get(fmt.Sprintf("x.d%d.example", i%10))
				_ = m.Entries()
				_ = m.Clone().Len()
			}
		}()
	}
	wg.Wait()
	if m.Len() != 10 {
		t.Errorf("Len = %d, want 10", m.Len())
	}
}

func TestKeysAreCanonicalDNSNames(t *testing.T) {
	m := New[int]()
	if err := m.Set("Bücher.Example.", 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("*.XN--BCHER-KVA.example", 2); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int{"xn--bcher-kva.example": 1, "bücher.example": 1, "a.bücher.example": 2} {
		if v, ok := m.Get(name); !ok || v != want {
			t.Errorf("Get(%q) = %d, %v; want %d", name, v, ok, want)
		}
	}
}
