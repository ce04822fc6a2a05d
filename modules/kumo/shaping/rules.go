package shaping

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RecordView is what match_rules needs from a delivery log record.
type RecordView struct {
	// Recipient is the record's first recipient (forward-path form).
	Recipient string
	// EgressSource is the record's egress_source; "" means "unspecified".
	EgressSource string
	// Site is the record's site: the ready queue name, "<source>-><site>@smtp_client".
	Site string
	// Response is the remote server's answer.
	Code     int
	Enhanced *EnhancedCode // nil when the response had none
	Content  string
}

// EnhancedCode is an RFC 3463 enhanced status code.
type EnhancedCode struct{ Class, Subject, Detail int }

// SingleLine renders the response as KumoMTA's to_single_line: "<code> ",
// then "<class>.<subject>.<detail> " when there is an enhanced code, then
// the content with CRLF, LF and lone CR each turned into one space.
func (r RecordView) SingleLine() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(r.Code))
	b.WriteByte(' ')
	if r.Enhanced != nil {
		fmt.Fprintf(&b, "%d.%d.%d ", r.Enhanced.Class, r.Enhanced.Subject, r.Enhanced.Detail)
	}
	content := strings.ReplaceAll(r.Content, "\r\n", " ")
	content = strings.ReplaceAll(content, "\n", " ")
	b.WriteString(strings.ReplaceAll(content, "\r", " "))
	return b.String()
}

// MatchedRule is a rule that applies to a record. WasRollup tells whether
// the rule came from a block keyed by site (or default), which decides how
// a SetConfig override is scoped.
type MatchedRule struct {
	Rule      *Rule
	WasRollup bool
}

// RecipientDomain parses a forward-path ("user@domain" or
// "<user@domain>") and returns the domain; "Postmaster" gives "" and ok.
func RecipientDomain(recipient string) (string, error) {
	addr := strings.TrimSpace(recipient)
	if strings.HasPrefix(addr, "<") {
		if !strings.HasSuffix(addr, ">") {
			return "", fmt.Errorf("parsing record.recipient: unterminated angle bracket in %q", recipient)
		}
		addr = addr[1 : len(addr)-1]
	}
	if strings.EqualFold(addr, "postmaster") {
		return "", nil
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", fmt.Errorf("parsing record.recipient: %q is not a mailbox address", recipient)
	}
	return addr[at+1:], nil
}

// SiteFromQueue strips every leading "<source>->" and trailing
// "@smtp_client" from a ready queue name.
func SiteFromQueue(site, source string) string {
	prefix := source + "->"
	for prefix != "->" && strings.HasPrefix(site, prefix) {
		site = site[len(prefix):]
	}
	for strings.HasSuffix(site, "@smtp_client") {
		site = strings.TrimSuffix(site, "@smtp_client")
	}
	return site
}

// ErrNoRecipients is returned for a record without recipients.
var ErrNoRecipients = errors.New("no recipients!?")

// MatchRules returns the automation rules that apply to rec:
// default rules, then those of every provider matching the recipient
// domain, then the site's, then the mx_rollup=false domain's.
func (s *Shaping) MatchRules(ctx context.Context, rec RecordView, mx MXLookup) ([]MatchedRule, error) {
	if rec.Recipient == "" {
		return nil, ErrNoRecipients
	}
	domain, err := RecipientDomain(rec.Recipient)
	if err != nil {
		return nil, err
	}
	if domain == "" {
		return nil, nil
	}
	source := rec.EgressSource
	if source == "" {
		source = "unspecified"
	}
	site := SiteFromQueue(rec.Site, source)
	line := rec.SingleLine()
	internal := strings.HasPrefix(rec.Content, "KumoMTA internal: ")

	var out []MatchedRule
	add := func(rules []*Rule, rollup bool) {
		for _, r := range rules {
			if r.applies(line, internal) {
				out = append(out, MatchedRule{r, rollup})
			}
		}
	}
	if def, ok := s.byDomain.get("default"); ok {
		add(def.Automation, true)
	}
	qmx := onceMX(mx)
	for _, p := range s.providers {
		if len(p.Automation) > 0 && p.domainMatches(ctx, domain, qmx) {
			add(p.Automation, false)
		}
	}
	if blk, ok := s.bySite.get(site); ok {
		add(blk.Automation, true)
	}
	if blk, ok := s.byDomain.get(domain); ok && domain != "default" {
		add(blk.Automation, false)
	}
	return out, nil
}

// applies reports whether the rule matches the single-line response. A
// match error (a runaway backtracking pattern) counts as no match.
func (r *Rule) applies(line string, internal bool) bool {
	if internal && !r.MatchInternal {
		return false
	}
	for _, m := range r.Matchers {
		if ok, err := m.MatchString(line); err == nil && ok {
			return true
		}
	}
	return false
}
