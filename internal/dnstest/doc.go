// Package dnstest runs a small authoritative-style DNS server on a loopback
// port for tests, like net/http/httptest does for HTTP. Every test that
// needs DNS uses it; no test touches the machine's resolver.
//
// The server answers over UDP and TCP on the same 127.0.0.1 port. Records
// are added programmatically; names can be made to answer NXDOMAIN,
// SERVFAIL or slowly; every query is counted per name and type.
//
//	srv := dnstest.New(t)
//	srv.AddMX("example.com", 10, "mx1.example.com", 300)
//	srv.AddA("mx1.example.com", "192.0.2.1", 300)
//	srv.NullMX("nomail.example")
//	srv.ServFail("broken.example")
//	r := dns.New(dns.Config{NameServers: []dns.NameServer{srv.NameServer()}})
//
// Answering rules, for a question NAME/TYPE:
//
//   - ServFail(NAME): SERVFAIL.
//   - records of TYPE at NAME (or from the Fallback function): NOERROR with them (over UDP, truncated with
//     the TC bit when larger than 512 bytes, or the client's EDNS0 size).
//   - otherwise NAME has records of other types, or was passed to NoData:
//     NOERROR with no answer and a SOA in the authority section whose
//     MINIMUM is the negative TTL (SetNegativeTTL, default 60 s).
//   - otherwise: NXDOMAIN with the same SOA.
//
// Delay(NAME, d) holds every answer for NAME for d first.
//
// The server also records the client addresses questions came from
// (Sources), so that tests can see how many sockets a client used, and can
// close its side of the open TCP connections (CloseConnections).
package dnstest
