// Package tsaclient is the native automation half of the shaping helper's
// setup_with_automation: the kumod side of KumoMTA's traffic shaping
// automation (spec tsa.md §8, lua_api.md §5.2, §5.6, §11.3). It is
// Lua-free; the bindings and the serve loop wire it.
//
//   - Options and DecodeOptions: setup_with_automation's options (publish,
//     subscribe, skip_log_record_types, additional_skip_log_record_types,
//     pre_filter, back_pressure, tsa_queue_config, publish_timeout,
//     publish_pool_idle_timeout, publish_connection_verbose, cache_ttl,
//     shaping_data_populate_timeout,
//     retry_shaping_data_fetch_on_populate_timeout, allow_stale_shaping_data,
//     no_default_files, extra_files, load_validation_options,
//     validation_options) decoded strictly with modules/kumo/plain:
//     unknown keys, wrong kinds, non-http(s) URLs and unknown record types
//     are errors naming their path. Defaults are KumoMTA's. Hooks,
//     HookName, ShapingFiles and QueueConfigParams derive the hook names
//     ("<url>.tsa.kumomta"), constructors ("make.<hook>"), the shaping
//     file list and the publish queue's make_queue_config parameters.
//   - Filter: should_enqueue_log_record for the publish hooks (Owns,
//     Accept). A Matcher answers the pre-filter; ShapingMatcher runs the
//     native match_rules on the current *shaping.Shaping.
//   - Publisher.Publish: one POST per record to <url>/publish_log_v1;
//     2xx gives the disposition "<code> <reason>: <body>", anything else
//     a *TransientError (StatusCode 0 for a transport error).
//   - Subscriber: the websocket client of <url>/subscribe_event_v1 with
//     the legacy /subscribe_suspension_v1 fallback on a 404 handshake,
//     handing ReadyQSuspension, SchedQSuspension and SchedQBounce to an
//     Applier with the reason "<reason> (rule_hash=<hash>)", reconnecting
//     after RetryDelay (30 s) on any error or close. Each item is applied
//     as it arrives (KumoMTA batches for 3 s; the entries are keyed, so
//     only the latency differs). Replays are the Applier's to absorb: it
//     must replace by key.
//   - ConfigMonitor: reloads the shaping data's hash every Interval
//     (30 s) and bumps the config epoch on a change, once on the first
//     run; load errors are logged and the loop goes on.
//
// Loops stop when their context is done and return ctx.Err(); logging is
// through log/slog with KumoMTA's messages ("TSA config monitor running",
// "TSA config changed", "TSA Error, will retry in 30 seconds", the legacy
// fallback NOTE, "Received unsupported record type ...").
package tsaclient
