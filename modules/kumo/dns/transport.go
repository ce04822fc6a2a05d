package dns

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	mdns "github.com/miekg/dns"
)

// answer is what a name server said about one question: the records of the
// asked type from the answer section (none for NXDOMAIN and NODATA), and
// until when the answer may be cached.
type answer struct {
	rcode   int
	records []mdns.RR
	expires time.Time
}

func (a *answer) nxdomain() bool { return a.rcode == mdns.RcodeNameError }

// queryError is a failure to get an answer (a timeout, SERVFAIL, a network
// error). Its text follows KumoMTA's resolver errors:
// `DNS: failed to query DNS for NAME: REASON`.
type queryError struct {
	name   string
	reason string
}

func (e *queryError) Error() string {
	return "DNS: failed to query DNS for " + e.name + ": " + e.reason
}

// query asks the configured name servers about name (fully qualified) and
// qtype. Servers are tried in order, the whole list Attempts times, until
// one gives a usable answer. NXDOMAIN and NODATA are answers, not errors.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) (*answer, error) {
	a, err := r.queryOn(ctx, r.transport(), name, qtype)
	if errors.Is(err, errOutsideZones) {
		// A Test resolver on its own: nothing exists outside its zones.
		return r.makeAnswer(r.transport(), &mdns.Msg{MsgHdr: mdns.MsgHdr{Rcode: mdns.RcodeNameError}}, qtype), nil
	}
	return a, err
}

// queryOn asks t: its zones, its parts in turn, or its name servers. A Test
// transport returns errOutsideZones for a name outside its zones.
func (r *Resolver) queryOn(ctx context.Context, t *transport, name string, qtype uint16) (*answer, error) {
	switch {
	case t.zones != nil:
		resp, err := t.zones.respond(name, qtype)
		if err != nil {
			return nil, err
		}
		if resp.Rcode != mdns.RcodeSuccess && resp.Rcode != mdns.RcodeNameError {
			return nil, &queryError{name: name, reason: "the test resolver answered " + rcodeName(resp.Rcode)}
		}
		return r.makeAnswer(t, resp, qtype), nil
	case t.parts != nil:
		var lastErr error = errOutsideZones
		for _, p := range t.parts {
			if err := ctx.Err(); err != nil {
				return nil, r.finalError(name, err)
			}
			a, err := r.queryOn(ctx, p, name, qtype)
			if err == nil {
				return a, nil
			}
			if !errors.Is(err, errOutsideZones) || errors.Is(lastErr, errOutsideZones) {
				lastErr = err
			}
		}
		return nil, lastErr
	}
	if t.err != nil {
		return nil, &queryError{name: name, reason: t.err.Error()}
	}
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = !t.opts.NoRecursion
	if t.opts.EDNS0 {
		m.SetEdns0(edns0Size, false)
	}

	var lastErr error
	var negative *answer
	for attempt := 0; attempt < t.opts.Attempts; attempt++ {
		for i, ns := range t.servers {
			if err := ctx.Err(); err != nil {
				if lastErr == nil {
					lastErr = err
				}
				return nil, r.finalError(name, lastErr)
			}
			resp, err := r.exchange(ctx, t, i, m)
			if err != nil {
				lastErr = err
				continue
			}
			switch resp.Rcode {
			case mdns.RcodeSuccess, mdns.RcodeNameError:
			default:
				lastErr = fmt.Errorf("%s answered %s", ns, rcodeName(resp.Rcode))
				continue
			}
			a := r.makeAnswer(t, resp, qtype)
			if len(a.records) == 0 && ns.DistrustNegative {
				negative = a
				continue
			}
			return a, nil
		}
		if negative != nil {
			return negative, nil
		}
	}
	return nil, r.finalError(name, lastErr)
}

func (r *Resolver) finalError(name string, err error) error {
	if err == nil {
		err = errors.New("no name server answered")
	}
	return &queryError{name: name, reason: err.Error()}
}

func rcodeName(rc int) string {
	if s, ok := mdns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprintf("RCODE%d", rc)
}

// exchange sends m to one server, over TCP again when a UDP answer comes
// back truncated (or, with TryTCPOnError, when UDP failed).
func (r *Resolver) exchange(ctx context.Context, t *transport, server int, m *mdns.Msg) (*mdns.Msg, error) {
	ns := t.servers[server]
	if ns.Protocol == TCP {
		return r.send(ctx, t, server, m, "tcp")
	}
	resp, err := r.send(ctx, t, server, m, "udp")
	if ns.Protocol == UDPThenTCP && ctx.Err() == nil {
		if (err == nil && resp.Truncated) || (err != nil && t.opts.TryTCPOnError) {
			return r.send(ctx, t, server, m, "tcp")
		}
	}
	return resp, err
}

func (r *Resolver) send(ctx context.Context, t *transport, server int, m *mdns.Msg, network string) (*mdns.Msg, error) {
	ns := t.servers[server]
	deadline := time.Now().Add(t.opts.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	// A fresh ID for every message sent: a retry must not be mistaken for
	// the answer to an earlier try.
	m.Id = mdns.Id()
	resp, err := t.pools.pool(server, network).exchange(ctx, m, deadline)
	if err != nil {
		if ctx.Err() != nil || isTimeout(err) {
			return nil, fmt.Errorf("no answer from %s (%s) within %s", ns, network, t.opts.Timeout)
		}
		return nil, fmt.Errorf("%s (%s): %v", ns, network, err)
	}
	return resp, nil
}

// makeAnswer keeps the answer-section records of qtype and computes the
// answer's lifetime: the smallest TTL in the answer section for a positive
// answer; for a negative one the SOA's negative TTL (the smaller of its TTL
// and MINIMUM), or 60 s without a SOA. Both are clamped by the options.
func (r *Resolver) makeAnswer(t *transport, resp *mdns.Msg, qtype uint16) *answer {
	a := &answer{rcode: resp.Rcode}
	minTTL := uint32(math.MaxUint32)
	for _, rr := range resp.Answer {
		h := rr.Header()
		minTTL = min(minTTL, h.Ttl)
		if h.Rrtype == qtype {
			a.records = append(a.records, rr)
		}
	}
	var ttl time.Duration
	if len(a.records) > 0 {
		ttl = clampTTL(time.Duration(minTTL)*time.Second, t.opts.PositiveMinTTL, t.opts.PositiveMaxTTL)
	} else {
		ttl = defaultNegativeTTL
		for _, rr := range resp.Ns {
			if soa, ok := rr.(*mdns.SOA); ok {
				ttl = time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
				break
			}
		}
		ttl = clampTTL(ttl, t.opts.NegativeMinTTL, t.opts.NegativeMaxTTL)
	}
	a.expires = r.now().Add(ttl)
	return a
}
