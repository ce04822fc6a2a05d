package dnstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	kdns "github.com/kumopolicy/kumopolicy/modules/kumo/dns"
)

// Server is a loopback DNS server. Its methods are safe for concurrent use,
// also while it serves.
type Server struct {
	// Addr is the IP:PORT the server listens on (UDP and TCP).
	Addr string

	udp, tcp *mdns.Server
	closing  chan struct{}
	closeMu  sync.Once

	mu       sync.Mutex
	records  map[key][]mdns.RR
	names    map[string]bool // names that exist
	servfail map[string]bool
	delays   map[string]time.Duration
	negTTL   uint32
	fallback func(name string, qtype uint16) []mdns.RR
	counts   map[key]int
	total    int
	inFlight int
	peak     int
	sources  map[string]map[string]bool // network -> client IP:PORT
	tcpConns map[net.Conn]bool          // open TCP connections
}

type key struct {
	name  string
	qtype uint16
}

// New starts a server and stops it when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server on 127.0.0.1 with a free port; Close stops it.
func Start() (*Server, error) {
	s := &Server{
		closing:  make(chan struct{}),
		records:  map[key][]mdns.RR{},
		names:    map[string]bool{},
		servfail: map[string]bool{},
		delays:   map[string]time.Duration{},
		negTTL:   60,
		counts:   map[key]int{},
		sources:  map[string]map[string]bool{"udp": {}, "tcp": {}},
		tcpConns: map[net.Conn]bool{},
	}
	var pc net.PacketConn
	var ln net.Listener
	var err error
	for range 20 {
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("no free port for UDP and TCP: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	var started sync.WaitGroup
	started.Add(2)
	s.udp = &mdns.Server{PacketConn: pc, Handler: s, NotifyStartedFunc: started.Done}
	s.tcp = &mdns.Server{Listener: trackingListener{ln, s}, Handler: s, NotifyStartedFunc: started.Done}
	errc := make(chan error, 2)
	go func() { errc <- s.udp.ActivateAndServe() }()
	go func() { errc <- s.tcp.ActivateAndServe() }()
	done := make(chan struct{})
	go func() { started.Wait(); close(done) }()
	select {
	case <-done:
	case err := <-errc:
		s.Close()
		return nil, err
	case <-time.After(5 * time.Second):
		s.Close()
		return nil, errors.New("server did not start")
	}
	return s, nil
}

// Close stops the server; answers being delayed are dropped.
func (s *Server) Close() {
	s.closeMu.Do(func() {
		close(s.closing)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.udp.ShutdownContext(ctx)
		s.tcp.ShutdownContext(ctx)
	})
}

// NameServer returns the server as a kumopolicy name server.
func (s *Server) NameServer() kdns.NameServer {
	return kdns.NameServer{Addr: netip.MustParseAddrPort(s.Addr)}
}

// Resolver returns a new resolver that queries only this server.
func (s *Server) Resolver(opts ...kdns.Option) *kdns.Resolver {
	return kdns.New(kdns.Config{NameServers: []kdns.NameServer{s.NameServer()}}, opts...)
}

func canonical(name string) string { return strings.ToLower(mdns.Fqdn(name)) }

// AddRR adds records in zone-file syntax, one per line, for example
// "example.com. 300 IN MX 10 mx.example.com.". Names without a trailing
// dot are taken as fully qualified.
func (s *Server) AddRR(lines ...string) error {
	for _, line := range lines {
		rr, err := mdns.NewRR(line)
		if err != nil {
			return err
		}
		if rr == nil {
			continue
		}
		s.add(rr)
	}
	return nil
}

// MustAddRR is AddRR that panics on a syntax error.
func (s *Server) MustAddRR(lines ...string) {
	if err := s.AddRR(lines...); err != nil {
		panic(err)
	}
}

func (s *Server) add(rr mdns.RR) {
	h := rr.Header()
	h.Name = canonical(h.Name)
	k := key{h.Name, h.Rrtype}
	s.mu.Lock()
	s.records[k] = append(s.records[k], rr)
	s.names[h.Name] = true
	s.mu.Unlock()
}

func hdr(name string, rrtype uint16, ttl uint32) mdns.RR_Header {
	return mdns.RR_Header{Name: canonical(name), Rrtype: rrtype, Class: mdns.ClassINET, Ttl: ttl}
}

// AddMX adds an MX record; host is taken as fully qualified ("." is the
// null MX host).
func (s *Server) AddMX(name string, pref uint16, host string, ttl uint32) {
	s.add(&mdns.MX{Hdr: hdr(name, mdns.TypeMX, ttl), Preference: pref, Mx: mdns.Fqdn(host)})
}

// NullMX publishes the null MX (MX 0 .) for name with a 3600 s TTL.
func (s *Server) NullMX(name string) { s.AddMX(name, 0, ".", 3600) }

// AddA adds an A record.
func (s *Server) AddA(name, ip string, ttl uint32) {
	s.add(&mdns.A{Hdr: hdr(name, mdns.TypeA, ttl), A: net.ParseIP(ip).To4()})
}

// AddAAAA adds an AAAA record.
func (s *Server) AddAAAA(name, ip string, ttl uint32) {
	s.add(&mdns.AAAA{Hdr: hdr(name, mdns.TypeAAAA, ttl), AAAA: net.ParseIP(ip).To16()})
}

// AddCNAME adds a CNAME record. Queries for other types at name are
// answered with the CNAME followed by the target's records of that type,
// as a recursive resolver does.
func (s *Server) AddCNAME(name, target string, ttl uint32) {
	s.add(&mdns.CNAME{Hdr: hdr(name, mdns.TypeCNAME, ttl), Target: mdns.Fqdn(target)})
}

// Fallback sets a function that supplies records for questions the
// configured records do not answer (before the NODATA/NXDOMAIN rules),
// for example to serve many generated names. name is lowercased and fully
// qualified. Returning nothing falls through to the rules.
func (s *Server) Fallback(fn func(name string, qtype uint16) []mdns.RR) {
	s.mu.Lock()
	s.fallback = fn
	s.mu.Unlock()
}

// NoData makes name exist without records: any question about it gets an
// empty NOERROR answer (NODATA) instead of NXDOMAIN.
func (s *Server) NoData(name string) {
	s.mu.Lock()
	s.names[canonical(name)] = true
	s.mu.Unlock()
}

// Remove deletes every record of name and forgets that it exists, so that
// it answers NXDOMAIN again.
func (s *Server) Remove(name string) {
	n := canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.names, n)
	for k := range s.records {
		if k.name == n {
			delete(s.records, k)
		}
	}
}

// ServFail makes every question about name answer SERVFAIL.
func (s *Server) ServFail(name string) {
	s.mu.Lock()
	s.servfail[canonical(name)] = true
	s.mu.Unlock()
}

// Delay holds every answer about name for d (0 removes the delay).
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	s.delays[canonical(name)] = d
	s.mu.Unlock()
}

// SetNegativeTTL sets the SOA MINIMUM (and TTL) sent with NXDOMAIN and
// NODATA answers, in seconds.
func (s *Server) SetNegativeTTL(ttl uint32) {
	s.mu.Lock()
	s.negTTL = ttl
	s.mu.Unlock()
}

// Queries returns how many questions about name (any type) the server
// received.
func (s *Server) Queries(name string) int {
	n := canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	c := 0
	for k, v := range s.counts {
		if k.name == n {
			c += v
		}
	}
	return c
}

// QueriesOf returns how many questions about name and qtype (for example
// dns.TypeMX from github.com/miekg/dns) the server received.
func (s *Server) QueriesOf(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key{canonical(name), qtype}]
}

// TotalQueries returns the number of questions received.
func (s *Server) TotalQueries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// PeakInFlight returns the largest number of questions the server was
// answering at the same time (delayed answers count while they wait).
func (s *Server) PeakInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// Sources returns the distinct client addresses (IP:PORT) that sent
// questions over network ("udp" or "tcp"), sorted.
func (s *Server) Sources(network string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.sources[network]))
	for a := range s.sources[network] {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// OpenConnections returns the number of TCP connections open to the
// server.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tcpConns)
}

// CloseConnections closes the server's side of every open TCP connection,
// as a name server does with idle ones, and returns how many it closed.
func (s *Server) CloseConnections() int {
	s.mu.Lock()
	conns := make([]net.Conn, 0, len(s.tcpConns))
	for c := range s.tcpConns {
		conns = append(conns, c)
	}
	clear(s.tcpConns)
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	return len(conns)
}

// trackingListener records the accepted TCP connections.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, s: l.s}
	l.s.mu.Lock()
	l.s.tcpConns[tc] = true
	l.s.mu.Unlock()
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s *Server
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.tcpConns, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

// ServeDNS implements mdns.Handler.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	if len(req.Question) != 1 {
		m := new(mdns.Msg)
		m.SetRcode(req, mdns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)

	network := "tcp"
	if _, isUDP := w.RemoteAddr().(*net.UDPAddr); isUDP {
		network = "udp"
	}
	s.mu.Lock()
	s.sources[network][w.RemoteAddr().String()] = true
	s.counts[key{name, q.Qtype}]++
	s.total++
	s.inFlight++
	s.peak = max(s.peak, s.inFlight)
	delay := s.delays[name]
	s.mu.Unlock()
	// Leave the in-flight count before answering, so that a client's next
	// question can never overlap this one in the count.
	done := func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.closing:
			done()
			return
		}
	}

	m := s.answer(req, name, q.Qtype)
	if network == "udp" {
		size := mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(max(opt.UDPSize(), mdns.MinMsgSize))
		}
		m.Truncate(size)
	}
	done()
	w.WriteMsg(m)
}

func (s *Server) answer(req *mdns.Msg, name string, qtype uint16) *mdns.Msg {
	m := new(mdns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	m.RecursionAvailable = true

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servfail[name] {
		m.Rcode = mdns.RcodeServerFailure
		return m
	}
	// Follow CNAMEs (a few levels) for other types.
	for range 8 {
		if rrs := s.records[key{name, qtype}]; len(rrs) > 0 {
			for _, rr := range rrs {
				m.Answer = append(m.Answer, mdns.Copy(rr))
			}
			return m
		}
		cn := s.records[key{name, mdns.TypeCNAME}]
		if qtype == mdns.TypeCNAME || len(cn) == 0 {
			break
		}
		m.Answer = append(m.Answer, mdns.Copy(cn[0]))
		name = canonical(cn[0].(*mdns.CNAME).Target)
	}
	if s.fallback != nil {
		if rrs := s.fallback(name, qtype); len(rrs) > 0 {
			m.Answer = append(m.Answer, rrs...)
			return m
		}
	}
	if !s.names[name] {
		m.Rcode = mdns.RcodeNameError
	}
	m.Ns = []mdns.RR{&mdns.SOA{
		Hdr:     mdns.RR_Header{Name: soaOwner(name), Rrtype: mdns.TypeSOA, Class: mdns.ClassINET, Ttl: s.negTTL},
		Ns:      "ns.dnstest.invalid.",
		Mbox:    "hostmaster.dnstest.invalid.",
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  s.negTTL,
	}}
	return m
}

// soaOwner picks a plausible zone apex for name: its last two labels.
func soaOwner(name string) string {
	labels := mdns.SplitDomainName(name)
	if len(labels) <= 2 {
		return mdns.Fqdn(name)
	}
	return strings.Join(labels[len(labels)-2:], ".") + "."
}
