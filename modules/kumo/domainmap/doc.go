// Package domainmap is the Lua-free core of kumo.domain_map: a dictionary
// keyed by domain name that also holds wildcard keys.
//
// Keys are domain names ("example.com"), wildcard patterns ("*.example.com")
// or the catch-all "*". Keys and looked-up names are compared in the DNS
// resolver's canonical form (dns.CanonicalName: case-insensitive, IDNA for
// non-ASCII names, a single trailing dot ignored), so "Example.COM." and
// "example.com" are the same key, as are "bücher.example" and
// "xn--bcher-kva.example".
//
// Lookup precedence, most specific first:
//
//  1. an exact key equal to the name;
//  2. the wildcard whose suffix is the longest proper suffix of the name:
//     "*.example.com" matches "a.example.com" and "a.b.example.com", never
//     "example.com" itself, and "*.b.example.com" beats "*.example.com" for
//     "a.b.example.com";
//  3. the catch-all "*", which matches any name.
//
// A looked-up name is only a string: a "*" in it is an ordinary label, so
// looking up "*.example.com" finds the "*.example.com" entry through the
// wildcard rule, and looking up "*" finds the catch-all.
//
// A Map is safe for concurrent use.
package domainmap
