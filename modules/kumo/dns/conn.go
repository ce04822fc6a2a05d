package dns

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// Connection reuse. Opening and closing a UDP socket for every query costs
// about as much as the exchange itself, so each name server keeps a small
// set of idle connections per network (UDP, TCP). A connection carries one
// query at a time: it is taken from the set, used for one exchange, and put
// back. Any failure on it (a timeout included) closes it, so that a late
// answer to a timed-out query can never be read as the answer to the next
// one; answers whose ID or question do not match the query are skipped
// anyway. A connection is retired after maxConnUses queries, so that the
// source port still changes regularly (off-path spoofing has to guess the
// port as well as the 16-bit ID), and an idle one after idleConnTimeout
// (name servers close idle TCP connections after a few seconds). A failure
// on a reused connection that is not a timeout (the server closed the TCP
// connection, a stale socket) is retried once on a fresh connection.
const (
	maxIdleConns    = DefaultMXConcurrency // per server and network
	maxConnUses     = 100
	idleConnTimeout = 5 * time.Second
)

// connPool holds the idle connections to one name server over one network.
type connPool struct {
	network string // "udp" or "tcp"
	addr    string
	dialer  net.Dialer
	udpSize uint16 // the read buffer for UDP answers
	stats   *counters

	mu     sync.Mutex
	idle   []*pooledConn // oldest first
	closed bool
}

type pooledConn struct {
	co       *mdns.Conn
	uses     int
	lastUsed time.Time
}

func newConnPool(ns NameServer, network string, udpSize uint16, stats *counters) *connPool {
	p := &connPool{network: network, addr: ns.Addr.String(), udpSize: udpSize, stats: stats}
	if ns.BindAddr.IsValid() {
		if network == "tcp" {
			p.dialer.LocalAddr = net.TCPAddrFromAddrPort(ns.BindAddr)
		} else {
			p.dialer.LocalAddr = net.UDPAddrFromAddrPort(ns.BindAddr)
		}
	}
	return p
}

// get returns an idle connection (the most recently used one), or dials a
// new one. reused tells which.
func (p *connPool) get(ctx context.Context, deadline time.Time) (c *pooledConn, reused bool, err error) {
	now := time.Now()
	p.mu.Lock()
	// Close the connections that have been idle too long (the oldest are
	// first).
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].lastUsed) >= idleConnTimeout {
		p.idle[n].co.Close()
		p.idle[n] = nil
		n++
	}
	if n > 0 {
		p.idle = append(p.idle[:0], p.idle[n:]...)
	}
	if k := len(p.idle); k > 0 {
		c = p.idle[k-1]
		p.idle[k-1] = nil
		p.idle = p.idle[:k-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	c, err = p.dial(ctx, deadline)
	return c, false, err
}

func (p *connPool) dial(ctx context.Context, deadline time.Time) (*pooledConn, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := p.dialer.DialContext(ctx, p.network, p.addr)
	if err != nil {
		return nil, err
	}
	p.stats.dials.Add(1)
	return &pooledConn{co: &mdns.Conn{Conn: conn, UDPSize: p.udpSize}}, nil
}

// put gives c back after an exchange; a connection that failed, has served
// its quota, or finds the set full or closed is closed instead.
func (p *connPool) put(c *pooledConn, ok bool) {
	c.uses++
	if ok && c.uses < maxConnUses {
		c.lastUsed = time.Now()
		p.mu.Lock()
		if !p.closed && len(p.idle) < maxIdleConns {
			p.idle = append(p.idle, c)
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
	c.co.Close()
}

// close closes the idle connections; connections in use are closed when
// they are given back.
func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for i, c := range p.idle {
		c.co.Close()
		p.idle[i] = nil
	}
	p.idle = nil
}

// idleCount reports the number of idle connections.
func (p *connPool) idleCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// exchange sends m over a pooled connection and reads its answer, until
// deadline or until ctx ends.
func (p *connPool) exchange(ctx context.Context, m *mdns.Msg, deadline time.Time) (*mdns.Msg, error) {
	c, reused, err := p.get(ctx, deadline)
	if err != nil {
		return nil, err
	}
	p.stats.queries.Add(1)
	resp, clean, err := exchangeOn(ctx, c.co, m, deadline)
	p.put(c, clean)
	if err == nil || !reused || isTimeout(err) || ctx.Err() != nil {
		return resp, err
	}
	// The reused connection was broken: one more try on a fresh one.
	if c, err = p.dial(ctx, deadline); err != nil {
		return nil, err
	}
	p.stats.queries.Add(1)
	resp, clean, err = exchangeOn(ctx, c.co, m, deadline)
	p.put(c, clean)
	return resp, err
}

// errMismatch is a TCP answer that is not for the question asked.
var errMismatch = errors.New("the answer does not match the question")

// exchangeOn writes m on co and reads the answer. Over UDP, datagrams that
// are not the answer to m (another ID or question: a late answer, a spoof)
// are skipped; over TCP they are an error. clean reports whether co may
// carry another exchange: the exchange succeeded and ctx did not end
// meanwhile (which moves co's deadline).
func exchangeOn(ctx context.Context, co *mdns.Conn, m *mdns.Msg, deadline time.Time) (resp *mdns.Msg, clean bool, err error) {
	if err := co.SetDeadline(deadline); err != nil {
		return nil, false, err
	}
	interrupted := func() bool { return false }
	if ctx.Done() != nil {
		// Unblock the read as soon as ctx ends.
		stop := context.AfterFunc(ctx, func() { co.SetDeadline(time.Now()) })
		interrupted = func() bool { return !stop() }
	}
	resp, err = readAnswer(co, m)
	if interrupted() || err != nil {
		return resp, false, err
	}
	return resp, true, nil
}

func readAnswer(co *mdns.Conn, m *mdns.Msg) (*mdns.Msg, error) {
	if err := co.WriteMsg(m); err != nil {
		return nil, err
	}
	_, isUDP := co.Conn.(net.PacketConn)
	for {
		r, err := co.ReadMsg()
		if err != nil {
			return nil, err
		}
		if answers(r, m) {
			return r, nil
		}
		if !isUDP {
			return nil, errMismatch
		}
	}
}

// answers reports whether r is the response to q: the same ID and the same
// question (names compared case-insensitively).
func answers(r, q *mdns.Msg) bool {
	if !r.Response || r.Id != q.Id || len(r.Question) != len(q.Question) {
		return false
	}
	for i, a := range r.Question {
		b := q.Question[i]
		if a.Qtype != b.Qtype || a.Qclass != b.Qclass || !strings.EqualFold(a.Name, b.Name) {
			return false
		}
	}
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// pools are the connection pools of a transport, per server and network.
type pools struct {
	udp, tcp []*connPool // indexed like transport.servers
}

func newPools(servers []NameServer, opts Options, stats *counters) *pools {
	size := uint16(mdns.MinMsgSize)
	if opts.EDNS0 {
		size = edns0Size
	}
	ps := &pools{}
	for _, ns := range servers {
		ps.udp = append(ps.udp, newConnPool(ns, "udp", size, stats))
		ps.tcp = append(ps.tcp, newConnPool(ns, "tcp", size, stats))
	}
	return ps
}

func (ps *pools) pool(server int, network string) *connPool {
	if network == "tcp" {
		return ps.tcp[server]
	}
	return ps.udp[server]
}

func (ps *pools) close() {
	for _, p := range ps.udp {
		p.close()
	}
	for _, p := range ps.tcp {
		p.close()
	}
}

func (ps *pools) idle() int {
	n := 0
	for _, p := range ps.udp {
		n += p.idleCount()
	}
	for _, p := range ps.tcp {
		n += p.idleCount()
	}
	return n
}
