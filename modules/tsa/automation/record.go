package automation

import (
	"strings"

	"golang.org/x/net/idna"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// recipientDomain parses a recipient forward-path and returns its domain,
// lowercased (IDNA names as punycode); a domain that only parses as plain
// ASCII (an '_' in a label) and address literals are kept as written.
// Postmaster gives "" and no error.
func recipientDomain(rcpt string) (string, error) {
	d, err := shaping.RecipientDomain(rcpt)
	if err != nil || d == "" {
		return d, err
	}
	if strings.HasPrefix(d, "[") {
		return d, nil
	}
	ascii := true
	for i := 0; i < len(d); i++ {
		if d[i] >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(d); i++ {
			c := d[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				return d, nil
			}
		}
		return strings.ToLower(d), nil
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return d, nil
	}
	return a, nil
}

// sourceOf is the record's egress source: "unspecified" when absent (an
// empty string stays empty).
func sourceOf(r *logrecord.Record) string {
	if r.EgressSourceSet || r.EgressSource != "" {
		return r.EgressSource
	}
	return "unspecified"
}

// matchText is the response as one line: "<code> [c.s.d ]content", with
// CRLF, LF and lone CR each turned into one space.
func matchText(r *logrecord.Record) string {
	v := shaping.RecordView{Code: int(r.Response.Code), Content: r.Response.Content}
	if e := r.Response.Enhanced; e != nil {
		v.Enhanced = &shaping.EnhancedCode{Class: int(e.Class), Subject: int(e.Subject), Detail: int(e.Detail)}
	}
	return v.SingleLine()
}

// isInternal reports whether the raw response content is one of kumod's
// own ("KumoMTA internal: ...").
func isInternal(r *logrecord.Record) bool {
	return strings.HasPrefix(r.Response.Content, "KumoMTA internal: ")
}

// queueParts is a scheduled queue name split: "[campaign:]tenant@domain[!routing]".
type queueParts struct {
	campaign, tenant       string
	hasCampaign, hasTenant bool
	domain                 string
}

func parseQueue(q string) queueParts {
	var p queueParts
	rest := q
	if at := strings.IndexByte(q, '@'); at >= 0 {
		prefix := q[:at]
		rest = q[at+1:]
		if c := strings.IndexByte(prefix, ':'); c >= 0 {
			p.campaign, p.hasCampaign = prefix[:c], true
			p.tenant = prefix[c+1:]
		} else {
			p.tenant = prefix
		}
		p.hasTenant = true
	}
	if bang := strings.IndexByte(rest, '!'); bang >= 0 {
		rest = rest[:bang]
	}
	p.domain = rest
	return p
}
