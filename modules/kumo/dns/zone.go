package dns

import (
	"errors"
	"fmt"
	"strings"

	mdns "github.com/miekg/dns"
)

// Zones is the data of a Test resolver (KumoMTA's `Test` resolver kind):
// zones held in memory, answered without the network. Build one with
// ParseZones; it is immutable afterwards and safe for concurrent use.
//
// A name inside one of the zones (the zone with the longest matching origin
// answers) gets:
//
//   - the records of the asked type, when the name has some;
//   - otherwise, when the name has a CNAME, the CNAME followed by the answer
//     for its target (chains are followed through every zone held, up to 8
//     links; a loop or a longer chain is a failure);
//   - otherwise NODATA when the name exists (it has records of another
//     type, or names below it do), with the zone's SOA, if it has one, for
//     the negative TTL;
//   - otherwise NXDOMAIN.
//
// Names listed as servfail fail as a name server's SERVFAIL does. Wildcard
// records and delegations are not interpreted: `*` is an ordinary label.
// A name outside every zone is NXDOMAIN for a Test resolver on its own; in
// an Aggregate resolver it goes on to the next resolver.
type Zones struct {
	origins  []string                        // fully qualified, lowercased
	records  map[string]map[uint16][]mdns.RR // owner -> type -> records
	exists   map[string]bool                 // owners and their ancestors within a zone
	soa      map[string]*mdns.SOA            // origin -> SOA
	servfail map[string]bool
}

// ZoneText is one zone in master file format. Secure marks a zone whose
// answers KumoMTA reports as DNSSEC-validated; kumopolicy accepts the flag
// but reports no DNSSEC status (is_secure stays false).
type ZoneText struct {
	Text   string
	Secure bool
}

// maxCNAMEChain bounds the CNAME links followed for one question.
const maxCNAMEChain = 8

// ParseZones parses zone texts (each should set its `$ORIGIN`; names in it
// are relative to the origin, `@` is the origin) and the servfail names.
// Errors name the zone (1-based) and the line.
func ParseZones(zones []ZoneText, servfail []string) (*Zones, error) {
	z := &Zones{
		records:  map[string]map[uint16][]mdns.RR{},
		exists:   map[string]bool{},
		soa:      map[string]*mdns.SOA{},
		servfail: map[string]bool{},
	}
	for i, zt := range zones {
		if err := z.add(zt.Text); err != nil {
			return nil, fmt.Errorf("zone %d: %v", i+1, err)
		}
	}
	for _, n := range servfail {
		fq, err := fullyQualify(n)
		if err != nil {
			return nil, fmt.Errorf("servfail name `%s`: %v", n, err)
		}
		z.servfail[fq] = true
	}
	return z, nil
}

func (z *Zones) add(text string) error {
	zp := mdns.NewZoneParser(strings.NewReader(text), ".", "")
	zp.SetDefaultTTL(3600)
	origin := ""
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		owner := asciiLower(mdns.Fqdn(h.Name))
		h.Name = owner
		if origin == "" {
			// The zone's origin: the $ORIGIN in force for its first
			// record (the parser resolves relative names with it).
			origin = zoneOrigin(text, owner)
		}
		if !mdns.IsSubDomain(origin, owner) {
			return fmt.Errorf("record %s is outside the zone's origin %s", owner, origin)
		}
		if soa, ok := rr.(*mdns.SOA); ok && owner == origin {
			z.soa[origin] = soa
		}
		byType := z.records[owner]
		if byType == nil {
			byType = map[uint16][]mdns.RR{}
			z.records[owner] = byType
		}
		byType[h.Rrtype] = append(byType[h.Rrtype], rr)
		for n := owner; ; {
			z.exists[n] = true
			if n == origin {
				break
			}
			off, end := mdns.NextLabel(n, 0)
			if end {
				break
			}
			n = n[off:]
		}
	}
	if err := zp.Err(); err != nil {
		return err
	}
	if origin == "" {
		if o, ok := firstOriginDirective(text); ok {
			origin = o
		} else {
			return errors.New("the zone has neither records nor an $ORIGIN")
		}
	}
	z.exists[origin] = true
	for _, o := range z.origins {
		if o == origin {
			return nil
		}
	}
	z.origins = append(z.origins, origin)
	return nil
}

// zoneOrigin is the `$ORIGIN` of text, or when it has none, the first
// record's owner.
func zoneOrigin(text, firstOwner string) string {
	if o, ok := firstOriginDirective(text); ok {
		return o
	}
	return firstOwner
}

func firstOriginDirective(text string) (string, bool) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && strings.EqualFold(f[0], "$ORIGIN") {
			return asciiLower(mdns.Fqdn(f[1])), true
		}
	}
	return "", false
}

// zoneOf returns the origin of the zone holding name (the longest match).
func (z *Zones) zoneOf(name string) (string, bool) {
	best := ""
	for _, o := range z.origins {
		if mdns.IsSubDomain(o, name) && len(o) > len(best) {
			best = o
		}
	}
	return best, best != ""
}

// errOutsideZones is the answer of a Test resolver in an Aggregate for a
// name none of its zones holds.
var errOutsideZones = errors.New("the name is outside the test resolver's zones")

// respond answers a question as an authoritative server holding the zones
// would. It returns errOutsideZones when the name is in none of them.
func (z *Zones) respond(name string, qtype uint16) (*mdns.Msg, error) {
	name = asciiLower(mdns.Fqdn(name))
	origin, ok := z.zoneOf(name)
	if !ok {
		return nil, errOutsideZones
	}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.Response, m.Authoritative = true, true
	seen := map[string]bool{}
	for hops := 0; ; hops++ {
		if z.servfail[name] {
			m.Rcode = mdns.RcodeServerFailure
			return m, nil
		}
		byType := z.records[name]
		if rrs := byType[qtype]; len(rrs) > 0 {
			m.Answer = append(m.Answer, copyRRs(rrs)...)
			return m, nil
		}
		if cname := byType[mdns.TypeCNAME]; len(cname) > 0 && qtype != mdns.TypeCNAME {
			if hops >= maxCNAMEChain || seen[name] {
				m.Rcode = mdns.RcodeServerFailure
				return m, nil
			}
			seen[name] = true
			m.Answer = append(m.Answer, copyRRs(cname[:1])...)
			name = asciiLower(mdns.Fqdn(cname[0].(*mdns.CNAME).Target))
			if origin, ok = z.zoneOf(name); !ok {
				// The target is elsewhere: the chain is the answer.
				return m, nil
			}
			continue
		}
		if !z.exists[name] {
			m.Rcode = mdns.RcodeNameError
		}
		if soa := z.soa[origin]; soa != nil {
			m.Ns = append(m.Ns, mdns.Copy(soa))
		}
		return m, nil
	}
}

func copyRRs(rrs []mdns.RR) []mdns.RR {
	out := make([]mdns.RR, len(rrs))
	for i, rr := range rrs {
		out[i] = mdns.Copy(rr)
	}
	return out
}
