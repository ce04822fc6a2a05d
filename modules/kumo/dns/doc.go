// Package dns is kumopolicy's Lua-free DNS core: MX resolution with
// KumoMTA's rules, the site name derived from the MX hosts, and A/AAAA
// lookups, with process-wide caches. It is built on github.com/miekg/dns
// and talks to the configured upstream name servers directly (UDP with TCP
// fallback on truncation by default).
//
// # MX resolution
//
// Resolver.LookupMX classifies its input first:
//
//   - `example.com:2525`: a trailing `:PORT` is split off (not when the rest
//     contains a colon, so `::1` stays an address) and appended to every
//     host (`mx.example.com.:2525`).
//   - `[10.0.0.1]`, `[IPv6:::1]`, `[::1]` (optionally with a port inside or
//     outside the brackets, not both): a domain literal. No DNS; the host
//     and the site name are the address.
//   - anything else is a DNS name, parsed leniently, lowercased and fully
//     qualified.
//
// The MX answer is then interpreted:
//
//   - NXDOMAIN: the error `MX lookup for INPUT failed after ELAPSED: NXDOMAIN`.
//   - NODATA (the name exists, without MX records): the implicit MX, the name
//     itself at preference 1, with IsMX false. Its addresses are not checked.
//   - records: grouped by preference (ascending), each group's hosts sorted;
//     `Hosts` is the flattened list and SiteName is FactorNames(Hosts).
//   - the null MX (`MX 0 .`): Hosts is ["."] and SiteName is empty.
//   - SERVFAIL, REFUSED, timeouts, network errors: an error naming the
//     server and the cause, e.g. `MX lookup for example.com failed after
//     12.5ms: DNS: failed to query DNS for example.com.: 127.0.0.1:53
//     answered SERVFAIL`. When the overall MX time limit runs out the cause
//     is `deadline has elapsed`, as in KumoMTA.
//
// # Caching, single flight and limits
//
// MX results are cached per (name, port) in an LRU: a result until its DNS
// TTL runs out (an answer that has already expired when it is stored is
// kept 10 s), an error for the negative cache TTL
// (default 5 minutes; SetMXNegativeCacheTTL). The error text is cached, so
// the elapsed time in it stays what it was. Concurrent lookups of one key
// share a single resolution. Each resolution waits for one of
// MXConcurrencyLimit slots (default 128) and, slot wait included, must end
// within MXTimeout (default 5 s). Address lookups have their own cache
// (4096 entries, per name and family): answers live for their TTL, NXDOMAIN
// and NODATA for their SOA negative TTL, failures are not cached.
//
// The MX cache starts at 65536 entries, KumoMTA's default, and doubles
// whenever storing a result would evict one that has not expired, up to
// MaxMXCacheCapacity (262,144 entries, about 150 MiB); past that it evicts
// the least recently used as before. A shaping file with more mx_rollup
// domains than 65536 thus keeps every domain's MX for its TTL and message
// traffic to those domains does not query again, without a setting to
// tune (KumoMTA's fixed capacity is raised with
// kumo.set_lruttl_cache_capacity, which kumopolicy does not provide).
//
// # Name servers and connections
//
// A Resolver created with no name servers reads them from /etc/resolv.conf
// on its first query. Tests always configure explicit loopback servers (see
// internal/dnstest).
//
// Connections to the name servers are reused: each server keeps up to 128
// idle UDP and 128 idle TCP connections, one query at a time on each. A
// connection is closed after any failure or timeout, after 100 queries (so
// the source port keeps changing), and after 5 s unused; Configure closes
// those of the old servers. Answers whose ID or question do not match the
// query are ignored.
//
// # In-memory zones and aggregates
//
// A Config with Test answers from zones parsed by ParseZones (KumoMTA's
// `Test` resolver, kumo.dns.configure_test_resolver), without the network;
// one with Aggregate asks several configurations in turn. See Zones and
// Config.Aggregate for the rules. Their answers go through the same caches
// and TTL rules as a name server's; Configure empties the caches when it
// switches to or from zones. Registry holds the named resolvers of
// kumo.dns.define_resolver, each with caches of its own. LookupPTR,
// LookupTXT and RBLLookup are not cached.
//
// # Not supported
//
// The Unbound resolver (DecodeResolverConfig refuses it).
//
// MTA-STS: KumoMTA (by default) fetches the destination's MTA-STS policy and
// prunes MX hosts an enforce policy does not allow before computing the site
// name. kumopolicy never consults MTA-STS: hosts are not pruned and MTASTS is
// always "None". DNSSEC is not validated, so IsSecure is always false.
package dns
