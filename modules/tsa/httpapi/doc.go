// Package httpapi is the ingest side of the TSA daemon's HTTP API, free of
// Lua: the route table with KumoMTA's precedence of answers (request
// Content-Encoding, then 404/405, then trusted_hosts, then the route),
// trusted_hosts parsing and checking, POST /publish_log_v1 and
// GET /tsa/status, and a bounded ingest queue that hands records to a
// consumer in batches, with back-pressure and a draining Close.
//
// The automation engine is not imported: the handler gives records to an
// Ingester, which Queue implements; the queue gives batches to a function.
// Metrics are reported through the Metrics interface (Counters is a plain
// implementation); an exporter can wrap it without changing this package.
package httpapi
