// Package diaglog filters kumopolicy's diagnostic log the way KumoMTA's
// diagnostic filter does: a comma-separated list of directives, each a bare
// level (the default for every target) or `target=level`, as accepted by
// `KUMOD_LOG` and kumo.set_diagnostic_log_filter (tracing-subscriber's
// EnvFilter syntax).
//
// Records name their target with a `target` attribute: kumo.log_* use
// "lua", kumopolicy's own diagnostics "kumopolicy" (records without the
// attribute). A directive for "kumod" also applies to "kumopolicy", so the
// troubleshooting advice `kumo.set_diagnostic_log_filter 'kumod=debug'`
// turns on kumopolicy's debug output as it does kumod's.
//
// As with EnvFilter, a list without a bare level switches off every target
// it does not name, and the most specific (longest) matching target wins.
// Span and field filters (`target[span{field=value}]=level`) are accepted
// and apply to the whole target: kumopolicy has no spans.
package diaglog
