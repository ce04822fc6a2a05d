// Package daemon wires the TSA daemon (`kumopolicy tsa-daemon`): the
// `tsa` Lua module (tsa.start_http_listener, tsa.configure_tsa_db_path),
// the startup order of KumoMTA's tsa-daemon (the tsa_load_shaping_data
// event, then tsa_init, then the state restore from modules/tsa/store at
// the configured db path, then the periodic shaping refresh and the
// store's flusher and pruner), the HTTP listeners serving the httpapi route table
// plus the automation engine's outputs (shaping.toml, suspended.json,
// bounced.json), the subscriber websockets, GET /metrics (metrics.go) and
// the OpenAPI document (openapi.go),
// and a draining shutdown
// (listeners, then the ingest queue, then the final flush of the state).
//
// The automation itself lives in modules/tsa/automation and the ingest
// side of the HTTP API in modules/tsa/httpapi; this package only connects
// them to a Lua runtime and to sockets.
//
// Not supported yet: TLS keys held in HashiCorp Vault or produced by an
// event (file paths and inline key_data work).
package daemon
