// Package kumod holds the schemas of the process-setup calls a KumoMTA
// (kumod) policy makes from its init handler — kumo.start_esmtp_listener,
// kumo.start_http_listener, kumo.define_spool, kumo.configure_local_logs,
// kumo.configure_log_hook, kumo.configure_redis_throttles and the like —
// and a Recorder that keeps what a policy configured.
//
// kumopolicy is a policy host, not a mail server: it checks these calls as
// strictly as KumoMTA does (and checks some values, such as listen
// addresses, that KumoMTA only notices when it binds), records them, and
// never binds a port, opens a spool, creates a directory or connects to
// Redis.
//
// Decoders take plain Go data (nil, bool, int64, float64, string, []any,
// map[string]any) and report schema errors in KumoMTA's wording (see
// DeserializeError). The package does not depend on Lua.
package kumod
