package shaping

import "context"

// BlockKind says where an automation rule lives, which decides when it is
// a candidate for a log record and whether it is a rollup rule.
type BlockKind int

const (
	// DefaultBlock rules apply to every record (rollup).
	DefaultBlock BlockKind = iota
	// ProviderBlock rules apply when the provider matches the recipient
	// domain (not rollup).
	ProviderBlock
	// SiteBlock rules apply to records whose site name is the key (an
	// mx_rollup=true domain re-keyed by its MX site; rollup).
	SiteBlock
	// DomainBlock rules apply to records whose recipient domain is the key
	// (an mx_rollup=false domain; not rollup).
	DomainBlock
)

// Rollup reports whether rules of this kind are rollup rules (their
// SetConfig overrides are written with mx_rollup=true).
func (k BlockKind) Rollup() bool { return k == DefaultBlock || k == SiteBlock }

// AutomationBlock is one stored block's automation rules.
type AutomationBlock struct {
	Kind BlockKind
	// Key is "default", the provider name, the site name or the domain.
	Key   string
	Rules []*Rule
	// Provider is set for ProviderBlock.
	Provider *Provider
}

// AutomationBlocks lists every block that has automation rules, in the
// order MatchRules considers them: default, providers (file order), sites,
// domains. Callers must not modify the rules.
func (s *Shaping) AutomationBlocks() []AutomationBlock {
	var out []AutomationBlock
	if def, ok := s.byDomain.get("default"); ok && len(def.Automation) > 0 {
		out = append(out, AutomationBlock{Kind: DefaultBlock, Key: "default", Rules: def.Automation})
	}
	for _, p := range s.providers {
		if len(p.Automation) > 0 {
			out = append(out, AutomationBlock{Kind: ProviderBlock, Key: p.Name, Rules: p.Automation, Provider: p})
		}
	}
	for _, k := range s.bySite.keys {
		if b := s.bySite.m[k]; len(b.Automation) > 0 {
			out = append(out, AutomationBlock{Kind: SiteBlock, Key: k, Rules: b.Automation})
		}
	}
	for _, k := range s.byDomain.keys {
		if b := s.byDomain.m[k]; k != "default" && len(b.Automation) > 0 {
			out = append(out, AutomationBlock{Kind: DomainBlock, Key: k, Rules: b.Automation})
		}
	}
	return out
}

// DomainMatches reports whether the provider applies to domain, as
// MatchRules decides it (DomainSuffix entries first, then every MX host
// against the MXSuffix/HostName entries; a lookup failure is no match).
// mx may be nil when the provider has only DomainSuffix entries.
func (p *Provider) DomainMatches(ctx context.Context, domain string, mx MXLookup) bool {
	return p.domainMatches(ctx, domain, onceMX(mx))
}

// Applies reports whether the rule matches a record's single-line
// response; internal records (content starting "KumoMTA internal: ") only
// match rules with match_internal. A regex runtime error counts as no
// match.
func (r *Rule) Applies(singleLine string, internal bool) bool { return r.applies(singleLine, internal) }
