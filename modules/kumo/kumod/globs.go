package kumod

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DefaultMonitorGlobs are the files KumoMTA's config monitor watches until
// kumo.set_config_monitor_globs replaces them.
var DefaultMonitorGlobs = []string{"/opt/kumomta/etc/**/*.{lua,json,toml,yaml}"}

// Glob is a compiled shell-style file name pattern as the config monitor
// uses: `*` and `?` within one path component, `[abc]`/`[!abc]` classes,
// `{a,b}` alternatives (which may nest) and `**` for any number of
// directories. Patterns are evaluated from the root directory, so a
// relative pattern is taken relative to `/`. As in the shell, `*`, `?` and
// `**` do not match names that start with a dot unless the pattern
// component itself starts with one.
type Glob struct {
	Pattern string
	alts    [][]globComp
}

type globComp struct {
	literal   string         // when re is nil and !recursive
	re        *regexp.Regexp // a component with wildcards
	recursive bool           // **
	dot       bool           // the component starts with '.'
}

// CompileGlob parses a pattern.
func CompileGlob(pattern string) (*Glob, error) {
	if pattern == "" {
		return nil, fmt.Errorf("invalid glob %q: empty pattern", pattern)
	}
	alts, err := expandBraces(pattern)
	if err != nil {
		return nil, fmt.Errorf("invalid glob %q: %v", pattern, err)
	}
	g := &Glob{Pattern: pattern}
	for _, a := range alts {
		var comps []globComp
		for _, part := range strings.Split(a, "/") {
			if part == "" || part == "." {
				continue
			}
			c, err := compileComp(part)
			if err != nil {
				return nil, fmt.Errorf("invalid glob %q: %v", pattern, err)
			}
			comps = append(comps, c)
		}
		g.alts = append(g.alts, comps)
	}
	return g, nil
}

// expandBraces expands {a,b} alternatives, innermost structure first.
func expandBraces(p string) ([]string, error) {
	start := -1
	depth := 0
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			if depth == 0 {
				start = i
			}
			depth++
		case '}':
			if depth == 0 {
				return nil, fmt.Errorf("unbalanced '}' at offset %d", i)
			}
			depth--
			if depth == 0 {
				var out []string
				for _, choice := range splitTopLevel(p[start+1 : i]) {
					rest, err := expandBraces(choice + p[i+1:])
					if err != nil {
						return nil, err
					}
					for _, r := range rest {
						out = append(out, p[:start]+r)
					}
				}
				return out, nil
			}
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("unclosed '{' at offset %d", start)
	}
	return []string{p}, nil
}

func splitTopLevel(s string) []string {
	var out []string
	depth, last := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[last:i])
				last = i + 1
			}
		}
	}
	return append(out, s[last:])
}

func compileComp(part string) (globComp, error) {
	if part == "**" {
		return globComp{recursive: true}, nil
	}
	var re strings.Builder
	re.WriteString("(?s)^")
	wild := false
	var lit strings.Builder
	for i := 0; i < len(part); i++ {
		c := part[i]
		switch c {
		case '*':
			wild = true
			re.WriteString(".*")
		case '?':
			wild = true
			re.WriteString(".")
		case '[':
			end := strings.IndexByte(part[i+1:], ']')
			if end == 0 { // []...] : a literal ] first
				end = strings.IndexByte(part[i+2:], ']')
				if end >= 0 {
					end++
				}
			}
			if end < 0 {
				return globComp{}, fmt.Errorf("unclosed '[' in %q", part)
			}
			class := part[i+1 : i+1+end]
			wild = true
			re.WriteString("[")
			if strings.HasPrefix(class, "!") || strings.HasPrefix(class, "^") {
				re.WriteString("^")
				class = class[1:]
			}
			re.WriteString(strings.ReplaceAll(class, `\`, `\\`))
			re.WriteString("]")
			i += end + 1
		case '\\':
			if i+1 < len(part) {
				i++
				c = part[i]
			}
			fallthrough
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
			lit.WriteByte(c)
		}
	}
	re.WriteString("$")
	gc := globComp{dot: strings.HasPrefix(part, ".")}
	if !wild {
		gc.literal = lit.String()
		return gc, nil
	}
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		return globComp{}, fmt.Errorf("invalid pattern %q: %v", part, err)
	}
	gc.re = compiled
	return gc, nil
}

// Files evaluates the glob and returns the regular files (following
// symbolic links) it matches.
func (g *Glob) Files() []string {
	found := map[string]bool{}
	for _, comps := range g.alts {
		walkGlob("/", comps, found)
	}
	return sortedSet(found)
}

func walkGlob(dir string, comps []globComp, found map[string]bool) {
	if len(comps) == 0 {
		if fi, err := os.Stat(dir); err == nil && fi.Mode().IsRegular() {
			found[dir] = true
		}
		return
	}
	c := comps[0]
	switch {
	case c.recursive:
		walkGlob(dir, comps[1:], found)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			// Real directories only: following links could loop.
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				walkGlob(filepath.Join(dir, e.Name()), comps, found)
			}
		}
	case c.re == nil:
		walkGlob(filepath.Join(dir, c.literal), comps[1:], found)
	default:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasPrefix(name, ".") && !c.dot {
				continue
			}
			if c.re.MatchString(name) {
				walkGlob(filepath.Join(dir, name), comps[1:], found)
			}
		}
	}
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
	globs, err := asStringList(v)
	if err != nil {
		return nil, fmt.Errorf("kumo.set_config_monitor_globs: %w", err)
	}
	for _, p := range globs {
		if _, err := CompileGlob(p); err != nil {
			return nil, fmt.Errorf("kumo.set_config_monitor_globs: %w", err)
		}
	}
	return &MonitorGlobs{Globs: globs}, nil
}

// EvalGlobs returns the sorted, de-duplicated regular files that the
// patterns match (kumo.eval_config_monitor_globs).
func EvalGlobs(patterns []string) ([]string, error) {
	found := map[string]bool{}
	for _, p := range patterns {
		g, err := CompileGlob(p)
		if err != nil {
			return nil, err
		}
		for _, f := range g.Files() {
			found[f] = true
		}
	}
	return sortedSet(found), nil
}

// Data renders the globs as plain data.
func (m *MonitorGlobs) Data() map[string]any {
	return map[string]any{"globs": stringsToAny(m.Globs)}
}
