package dns

import (
	"fmt"
	"strconv"
	"strings"
)

// STSPolicy is an MTA-STS policy (RFC 8461 §3.2), as a policy domain
// publishes it at https://mta-sts.<domain>/.well-known/mta-sts.txt.
// kumopolicy checks such policies (kumo.dns.configure_test_mta_sts) but
// never applies them: its MX resolution does not consult MTA-STS.
type STSPolicy struct {
	Mode   string   // "enforce", "testing" or "none"
	MX     []string // host patterns; "*.example.net" matches one label
	MaxAge uint64   // seconds
}

// maxSTSAge is RFC 8461's upper bound for max_age (31557600 s, a year).
const maxSTSAge = 31557600

// ParseSTSPolicy parses the text of an MTA-STS policy: "key: value" lines
// (CRLF or LF), version STSv1 first, mode, max_age and, unless mode is
// none, at least one mx. Unknown keys are ignored, as RFC 8461 requires;
// a line that is not "key: value", a repeated single-valued key, or a bad
// value is an error that names the line.
func ParseSTSPolicy(text string) (*STSPolicy, error) {
	p := &STSPolicy{}
	seen := map[string]bool{}
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	first := true
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: expected `key: value`, got %q", i+1, line)
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if first {
			if key != "version" || value != "STSv1" {
				return nil, fmt.Errorf("line %d: the policy must start with `version: STSv1`, got %q", i+1, line)
			}
			first = false
			seen[key] = true
			continue
		}
		if key != "mx" && seen[key] {
			return nil, fmt.Errorf("line %d: %s is given more than once", i+1, key)
		}
		seen[key] = true
		switch key {
		case "version":
			// only valid first; a repeat was refused above
		case "mode":
			switch value {
			case "enforce", "testing", "none":
				p.Mode = value
			default:
				return nil, fmt.Errorf("line %d: mode must be enforce, testing or none, got %q", i+1, value)
			}
		case "max_age":
			n, err := strconv.ParseUint(value, 10, 64)
			if err != nil || n > maxSTSAge {
				return nil, fmt.Errorf("line %d: max_age must be a whole number of seconds up to %d, got %q", i+1, maxSTSAge, value)
			}
			p.MaxAge = n
		case "mx":
			pat := strings.TrimSuffix(strings.ToLower(value), ".")
			host := strings.TrimPrefix(pat, "*.")
			if host == "" || strings.Contains(host, "*") || CheckName(host) != nil {
				return nil, fmt.Errorf("line %d: mx %q is not a host name or *.domain pattern", i+1, value)
			}
			p.MX = append(p.MX, pat)
		}
	}
	switch {
	case first:
		return nil, fmt.Errorf("the policy is empty")
	case p.Mode == "":
		return nil, fmt.Errorf("the policy has no mode")
	case !seen["max_age"]:
		return nil, fmt.Errorf("the policy has no max_age")
	case p.Mode != "none" && len(p.MX) == 0:
		return nil, fmt.Errorf("a policy in %s mode must list at least one mx", p.Mode)
	}
	return p, nil
}

// Permits reports whether the policy allows delivery to the MX host
// (RFC 8461 §4.1: an exact match, or "*.domain" matching one leftmost
// label).
func (p *STSPolicy) Permits(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, pat := range p.MX {
		if rest, ok := strings.CutPrefix(pat, "*."); ok {
			if label, parent, ok := strings.Cut(host, "."); ok && label != "" && parent == rest {
				return true
			}
		} else if host == pat {
			return true
		}
	}
	return false
}
