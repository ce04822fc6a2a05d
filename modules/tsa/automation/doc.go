// Package automation is the Lua-free core of the TSA daemon: given loaded
// shaping data and decoded log records, it decides which automation rules
// fire and keeps the resulting state (ready-queue and scheduled-queue
// suspensions, bounces, configuration overrides, threshold counters),
// and renders what the daemon serves: the generated shaping.toml, the
// suspended.json and bounced.json bodies and the subscriber events.
//
// It does no I/O: no HTTP, no persistence, no Lua. Time is always passed
// in, so the caller decides what "now" is (one value per ingest batch).
//
// Concurrency: an *Engine is safe for concurrent use. Rule sets are
// swapped atomically (SetRules); regex matching runs without a lock, and
// applying a batch's effects to the state takes one mutex for the whole
// batch, so a batch's effects become visible together. Readers (Snapshot,
// the renderers) take the same mutex and copy what they need. *Rules is
// immutable once built.
//
// Persistence (persist.go): Export and Import move the state as plain
// values; an attached Journal receives each batch's changed entries while
// the batch's lock is still held, so nothing is visible before it is
// durable, and Flush sends the rest (threshold counters, pruned entries).
package automation
