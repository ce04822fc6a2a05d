package shaping

import (
	"fmt"
	"strings"
)

// Lint finds problems KumoMTA's loader accepts silently: provider match
// entries that can never match, and providers that match nothing. They
// are warnings; validate-shaping prints them after the load's own.
func (s *Shaping) Lint() []Diagnostic {
	var out []Diagnostic
	for _, p := range s.providers {
		at := Origin{File: originFile(p.Origin), Key: "provider." + quoteKey(p.Name)}
		warn := func(format string, args ...any) {
			out = append(out, Diagnostic{Level: Warn, File: at.File, Block: at.Key, Message: fmt.Sprintf(format, args...)})
		}
		if len(p.Matches) == 0 && (p.Params.Len() > 0 || p.Sources.Len() > 0 || len(p.Automation) > 0) {
			warn("provider '%s' has no match entries, so its settings and rules never apply (unless another file adds matches for it)", p.Name)
		}
		for i, m := range p.Matches {
			// A match entry is blamed on the file that wrote it.
			if o := p.matchOrigin(i); o.File != "" {
				at = o
			}
			switch {
			case strings.HasSuffix(m.Value, "."):
				warn("provider '%s' match %s = %q can never match: names are compared without their trailing dot; remove it", p.Name, m.Kind, m.Value)
			case m.Kind != DomainSuffix && m.Value != strings.ToLower(m.Value):
				warn("provider '%s' match %s = %q can never match: MX host names are lower case and compared case-sensitively", p.Name, m.Kind, m.Value)
			case m.Value == "":
				warn("provider '%s' match %s is empty, so it matches every %s", p.Name, m.Kind, map[bool]string{true: "domain", false: "MX host"}[m.Kind == DomainSuffix])
			}
		}
	}
	return out
}
