// Package shaping is kumopolicy's native traffic-shaping engine: it loads
// KumoMTA shaping files (TOML or JSON, local or remote), merges them and
// resolves egress path configuration for a domain, site and source. It is
// Lua-free; the kumo.shaping binding wraps it.
package shaping
