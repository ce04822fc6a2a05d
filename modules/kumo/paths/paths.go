// Package paths moves the install paths that policies name — KumoMTA's
// /opt/kumomta/share and /opt/kumomta/etc — to where a host finds them:
// a KumoMTA checkout's assets/, a test's temporary directory, a
// packaging layout. Every binding that opens, stats or globs a file a
// policy names goes through one Map, so --share-dir and --etc-dir move
// all of them at once, and paths reported back to the policy (glob
// results, for example) are spelled as the policy spells them.
package paths

import (
	"path/filepath"
	"strings"
)

// Map moves path prefixes. The zero Map and a nil *Map move nothing.
type Map struct {
	moves []move
}

type move struct{ from, to string }

// New returns a Map moving each prefix from (an absolute path such as
// /opt/kumomta/share) to the directory to. Pairs with an empty to are
// ignored; the first matching pair wins.
func New(pairs ...[2]string) *Map {
	m := &Map{}
	for _, p := range pairs {
		if p[1] == "" {
			continue
		}
		m.moves = append(m.moves, move{from: filepath.Clean(p[0]), to: filepath.Clean(p[1])})
	}
	return m
}

// Empty reports whether m moves nothing.
func (m *Map) Empty() bool { return m == nil || len(m.moves) == 0 }

// Local returns the file this host reads for path as a policy names it.
func (m *Map) Local(path string) string {
	if m == nil {
		return path
	}
	for _, mv := range m.moves {
		if rest, ok := under(path, mv.from); ok {
			return join(mv.to, rest)
		}
	}
	return path
}

// Policy is Local's inverse: the path a policy would name for the local
// file path (path itself when no move applies).
func (m *Map) Policy(path string) string {
	if m == nil {
		return path
	}
	for _, mv := range m.moves {
		if rest, ok := under(path, mv.to); ok {
			return join(mv.from, rest)
		}
	}
	return path
}

func under(path, dir string) (string, bool) {
	if path == dir {
		return "", true
	}
	rest, ok := strings.CutPrefix(path, dir+"/")
	return rest, ok
}

func join(dir, rest string) string {
	if rest == "" {
		return dir
	}
	return filepath.Join(dir, rest)
}
