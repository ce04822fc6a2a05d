package dns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	mdns "github.com/miekg/dns"
)

// MailExchanger is the resolved MX information of a destination domain, as
// KumoMTA's kumo.dns.lookup_mx returns it. Values returned by LookupMX are
// shared through the cache: do not modify them.
type MailExchanger struct {
	// DomainName is the fully qualified, lowercased name that was resolved
	// (`example.com.`), or for a domain literal the input as given.
	DomainName string
	// Hosts lists the MX hosts in preference order, sorted within a
	// preference; `host.:PORT` when the input had a port; the address for a
	// domain literal; `.` for a null MX.
	Hosts []string
	// SiteName is FactorNames(Hosts); the address for a domain literal;
	// empty for a null MX.
	SiteName string
	// ByPref groups Hosts by preference, ascending.
	ByPref []Preference
	// IsDomainLiteral is true for `[1.2.3.4]` style inputs.
	IsDomainLiteral bool
	// IsSecure would report DNSSEC validation; kumopolicy does not
	// validate, so it is always false.
	IsSecure bool
	// IsMX is true when the hosts come from MX records, false for the
	// implicit MX of a domain without MX records and for literals.
	IsMX bool
	// MTASTS is the MTA-STS policy mode. MTA-STS is not supported, so it is
	// always "None" and hosts are never pruned.
	MTASTS string
	// Expires is when the MX answer's TTL runs out (zero for literals).
	Expires time.Time
}

// Preference is one MX preference level and its hosts, sorted.
type Preference struct {
	Pref  uint16
	Hosts []string
}

// HasExpired reports whether the MX answer's TTL has run out at now.
func (mx *MailExchanger) HasExpired(now time.Time) bool {
	return !mx.Expires.IsZero() && !now.Before(mx.Expires)
}

type mxKey struct {
	name    string
	port    uint16
	hasPort bool
}

// mxResult is what the MX cache holds: a result or an error text.
type mxResult struct {
	mx  *MailExchanger
	err string
}

// LookupMX resolves domain as KumoMTA does: an optional `:PORT` suffix; a
// domain literal such as `[10.0.0.1]` or `[IPv6:::1]` needs no DNS;
// otherwise the MX records are fetched, grouped and sorted by preference,
// sorted by name within a preference, and factored into a site name. A name
// with no MX records (NODATA) gets an implicit MX: itself at preference 1.
// NXDOMAIN is an error.
//
// Results, errors included, are cached process-wide per (name, port):
// results until their DNS TTL runs out (10 s when it already has), errors
// for the negative cache TTL, with their text as first produced. Concurrent
// lookups of one name share one resolution. A resolution waits for one of
// the MXConcurrencyLimit slots and must finish within MXTimeout.
//
// ctx bounds only this caller's wait: a resolution it started goes on, and
// is cached, when ctx ends.
func (r *Resolver) LookupMX(ctx context.Context, domain string) (*MailExchanger, error) {
	if domain == "" {
		return nil, errors.New("invalid DNS name ``: empty name")
	}
	c, err := classify(domain)
	if err != nil {
		return nil, err
	}
	if c.literal {
		addr := c.literalString()
		return &MailExchanger{
			DomainName:      domain,
			Hosts:           []string{addr},
			SiteName:        addr,
			ByPref:          []Preference{{Pref: 1, Hosts: []string{addr}}},
			IsDomainLiteral: true,
			MTASTS:          "None",
		}, nil
	}
	key := mxKey{name: c.name, port: c.port, hasPort: c.hasPort}
	res, err := r.mx.getOrFill(ctx, key, func() (mxResult, time.Time) {
		return r.resolveMX(domain, c)
	})
	if err != nil {
		return nil, fmt.Errorf("MX lookup for %s: %w", domain, err)
	}
	if res.err != "" {
		return nil, errors.New(res.err)
	}
	return res.mx, nil
}

// resolveMX performs one uncached resolution and computes its cache
// deadline.
func (r *Resolver) resolveMX(input string, c classification) (mxResult, time.Time) {
	start := r.now()
	byPref, expires, isMX, err := r.lookupMXRecords(c.name)
	if err != nil {
		msg := fmt.Sprintf("MX lookup for %s failed after %s: %v", input, formatElapsed(r.now().Sub(start)), err)
		return mxResult{err: msg}, r.now().Add(r.MXNegativeCacheTTL())
	}
	var hosts []string
	for i := range byPref {
		if c.hasPort {
			for j, h := range byPref[i].Hosts {
				byPref[i].Hosts[j] = h + ":" + strconv.Itoa(int(c.port))
			}
		}
		hosts = append(hosts, byPref[i].Hosts...)
	}
	mx := &MailExchanger{
		DomainName: c.name,
		Hosts:      hosts,
		SiteName:   FactorNames(hosts),
		ByPref:     byPref,
		IsMX:       isMX,
		MTASTS:     "None",
		Expires:    expires,
	}
	deadline := expires
	if !r.now().Before(deadline) {
		deadline = r.now().Add(10 * time.Second)
	}
	return mxResult{mx: mx}, deadline
}

// errDeadline is KumoMTA's text for an MX resolution that ran out of time.
var errDeadline = errors.New("deadline has elapsed")

// lookupMXRecords queries the MX records of name within the MX timeout and
// concurrency limit.
func (r *Resolver) lookupMXRecords(name string) ([]Preference, time.Time, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), r.MXTimeout())
	defer cancel()
	sem := r.semaphore()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, time.Time{}, false, errDeadline
	}
	a, err := r.query(ctx, name, mdns.TypeMX)
	<-sem
	if err != nil {
		if deadline, _ := ctx.Deadline(); ctx.Err() != nil || !time.Now().Before(deadline) {
			return nil, time.Time{}, false, errDeadline
		}
		return nil, time.Time{}, false, err
	}
	if len(a.records) == 0 {
		if a.nxdomain() {
			return nil, time.Time{}, false, errors.New("NXDOMAIN")
		}
		return []Preference{{Pref: 1, Hosts: []string{name}}}, a.expires, false, nil
	}
	var byPref []Preference
	for _, rr := range a.records {
		mx := rr.(*mdns.MX)
		host := displayName(mx.Mx)
		i := slices.IndexFunc(byPref, func(p Preference) bool { return p.Pref == mx.Preference })
		if i < 0 {
			byPref = append(byPref, Preference{Pref: mx.Preference, Hosts: []string{host}})
		} else {
			byPref[i].Hosts = append(byPref[i].Hosts, host)
		}
	}
	slices.SortFunc(byPref, func(a, b Preference) int { return cmp.Compare(a.Pref, b.Pref) })
	for i := range byPref {
		slices.Sort(byPref[i].Hosts)
	}
	return byPref, a.expires, true, nil
}
