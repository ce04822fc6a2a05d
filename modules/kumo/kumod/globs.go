package kumod

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// DefaultMonitorGlobs are the files KumoMTA's config monitor watches until
// kumo.set_config_monitor_globs replaces them.
var DefaultMonitorGlobs = []string{"/opt/kumomta/etc/**/*.{lua,json,toml,yaml}"}

// Config monitor globs are shell-style file name patterns: `*` and `?`
// within one path component, `[abc]`/`[!abc]` classes, `{a,b}` alternatives
// (which may nest) and `**` for any number of directories. Patterns are
// evaluated from the root directory, so a relative pattern is taken
// relative to `/`. As in the shell, `*`, `?` and `**` do not match names
// that start with a dot unless the pattern component itself starts with
// one, and `**` does not descend through symbolic links (which could loop).
//
// Matching and walking are doublestar's (WithNoHidden gives the dot rule,
// WithNoFollow the link rule); checkGlob only checks the syntax first, to
// say where a pattern is malformed, which doublestar does not.

// checkGlob reports why pattern is not a valid glob, or nil.
func checkGlob(pattern string) error {
	if pattern == "" {
		return fmt.Errorf("invalid glob %q: empty pattern", pattern)
	}
	braces := []int{}
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '\\':
			i++
		case '{':
			braces = append(braces, i)
		case '}':
			if len(braces) == 0 {
				return fmt.Errorf("invalid glob %q: unbalanced '}' at offset %d", pattern, i)
			}
			braces = braces[:len(braces)-1]
		case '[':
			// A class ends at the next ']' in the same component; a ']'
			// right after the '[' (or '[!') is a literal member.
			j := i + 1
			if j < len(pattern) && (pattern[j] == '!' || pattern[j] == '^') {
				j++
			}
			if j < len(pattern) && pattern[j] == ']' {
				j++
			}
			end := strings.IndexAny(pattern[j:], "]/")
			if end < 0 || pattern[j+end] == '/' {
				return fmt.Errorf("invalid glob %q: unclosed '[' at offset %d", pattern, i)
			}
			i = j + end
		}
	}
	if len(braces) > 0 {
		return fmt.Errorf("invalid glob %q: unclosed '{' at offset %d", pattern, braces[0])
	}
	if !doublestar.ValidatePattern(strings.TrimLeft(pattern, "/")) {
		return fmt.Errorf("invalid glob %q", pattern)
	}
	return nil
}

// globFiles adds to found the regular files (following a final symbolic
// link) that pattern matches.
func globFiles(pattern string, found map[string]bool) error {
	if err := checkGlob(pattern); err != nil {
		return err
	}
	rel := strings.TrimLeft(path.Clean("/"+pattern), "/")
	if rel == "" {
		return nil
	}
	return doublestar.GlobWalk(os.DirFS("/"), rel, func(p string, _ fs.DirEntry) error {
		if fi, err := os.Stat("/" + p); err == nil && fi.Mode().IsRegular() {
			found["/"+p] = true
		}
		return nil
	}, doublestar.WithNoFollow(), doublestar.WithNoHidden())
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MonitorGlobs is the parameter of kumo.set_config_monitor_globs.
type MonitorGlobs struct {
	Globs []string
}

// DecodeMonitorGlobs checks the list of glob patterns given to
// kumo.set_config_monitor_globs.
func DecodeMonitorGlobs(v any) (*MonitorGlobs, error) {
	globs, err := plain.DecodeStringList(v)
	if err != nil {
		return nil, fmt.Errorf("kumo.set_config_monitor_globs: %w", err)
	}
	for _, p := range globs {
		if err := checkGlob(p); err != nil {
			return nil, fmt.Errorf("kumo.set_config_monitor_globs: %w", err)
		}
	}
	return &MonitorGlobs{Globs: globs}, nil
}

// EvalGlobs returns the sorted, de-duplicated regular files that the
// patterns match (kumo.eval_config_monitor_globs). Patterns under a path
// pm moves are matched where pm moves them, and the files are named as
// the policy names them.
func EvalGlobs(patterns []string, pm *paths.Map) ([]string, error) {
	found := map[string]bool{}
	for _, p := range patterns {
		local := map[string]bool{}
		if err := globFiles(pm.Local(p), local); err != nil {
			return nil, err
		}
		for f := range local {
			found[pm.Policy(f)] = true
		}
	}
	return sortedSet(found), nil
}

// Data renders the globs as plain data.
func (m *MonitorGlobs) Data() map[string]any {
	return map[string]any{"globs": plain.StringsToAny(m.Globs)}
}
