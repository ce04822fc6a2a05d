// Package luart is kumopolicy's Lua runtime: a bounded pool of gopher-lua
// states that each run the operator's policy file, KumoMTA's event model
// (kumo.on with Single and Multiple events), module resolution with the
// /opt/kumomta search order and embedded fallbacks, spawned tasks, the config
// epoch, Lua 5.4 compatibility shims and Go<->Lua value conversion.
//
// The runtime knows nothing about shaping or mail: native modules such as
// `kumo` are installed into it with AddModule by packages that depend on it.
//
// An *lua.LState is owned by exactly one goroutine at a time. Every event
// dispatch takes a state from the pool, runs the handler and gives it back;
// data shared between states lives in Go.
package luart
