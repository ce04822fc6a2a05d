// Package loghook is kumopolicy's log-hook pipeline, without Lua: KumoMTA
// JSON log records come in (Submit, SubmitJSON), each configured hook
// (kumo.configure_log_hook) turns an enabled record into a Message, asks
// the policy whether to enqueue it (should_enqueue_log_record), and a
// scheduled queue per name delivers it through the queue's custom_lua
// connection, retrying transient failures with KumoMTA's exponential
// backoff.
//
// The Lua side — the Message userdata, the events, the dedicated delivery
// states — is behind the Policy interface; modules/kumo implements it.
//
// Nothing is spooled: records still queued when the pipeline is closed are
// lost, and back_pressure (per hook) bounds how many records are admitted
// but not yet finished (delivered, failed permanently, expired or
// declined); Submit blocks while a hook is full.
package loghook
