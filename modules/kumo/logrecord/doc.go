// Package logrecord decodes KumoMTA delivery log records (JsonLogRecord):
// the records kumod's log hooks publish, that shaping's match_rules and
// the traffic shaping automation evaluate. Decoding is strict about the
// required fields and ignores unknown ones, as KumoMTA does.
package logrecord
