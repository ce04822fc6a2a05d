package kumo

import (
	"fmt"
	"log/slog"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// The process-setup functions of a kumod policy (kumo.start_esmtp_listener,
// kumo.define_spool, kumo.configure_local_logs, ...). kumopolicy checks
// their parameters as KumoMTA does, records them in the runtime's
// kumod.Recorder (Services.Recorder) and performs none of their effects:
// nothing is bound, opened, created, written or connected.

// openKumod installs the kumod setup functions and kumo.make_listener_domain.
func (svc *Services) openKumod(s *luart.State, mod *lua.LTable) {
	rec := svc.Recorder
	L := s.L
	tables := []struct {
		name   string
		decode func(any) (kumod.Config, error)
	}{
		{"start_esmtp_listener", decoder(kumod.DecodeEsmtpListener)},
		{"start_http_listener", decoder(kumod.DecodeHTTPListener)},
		{"define_spool", decoder(kumod.DecodeSpool)},
		{"configure_local_logs", decoder(kumod.DecodeLocalLogs)},
		{"configure_log_hook", decoder(kumod.DecodeLogHook)},
		{"configure_log_disposition_hook", decoder(kumod.DecodeLogDispositionHook)},
		{"configure_redis_throttles", decoder(kumod.DecodeRedisThrottles)},
		{"configure_bounce_classifier", decoder(kumod.DecodeBounceClassifier)},
	}
	for _, t := range tables {
		mod.RawSetString(t.name, L.NewFunction(recordTableCall(rec, t.name, t.decode)))
	}
	mod.RawSetString("configure_accounting_db_path", L.NewFunction(func(L *lua.LState) int {
		var path string
		switch v := L.Get(1).(type) {
		case lua.LString:
			path = string(v)
		case lua.LNumber: // Lua converts numbers to strings, as KumoMTA does
			path = luart.ToString(L, v)
		default:
			raise(L, fmt.Errorf("kumo.configure_accounting_db_path: invalid type: %s, expected a string", luart.Describe(v)))
		}
		cfg, err := kumod.DecodeAccountingDB(path)
		if err != nil {
			raise(L, err)
		}
		record(L, rec, "configure_accounting_db_path", cfg)
		return 0
	}))
	mod.RawSetString("set_config_monitor_globs", L.NewFunction(func(L *lua.LState) int {
		v, err := luart.ToGo(L.CheckTable(1))
		if err != nil {
			raise(L, fmt.Errorf("kumo.set_config_monitor_globs: %w", err))
		}
		cfg, err := kumod.DecodeMonitorGlobs(v)
		if err != nil {
			raise(L, err)
		}
		record(L, rec, "set_config_monitor_globs", cfg)
		return 0
	}))
	mod.RawSetString("eval_config_monitor_globs", L.NewFunction(func(L *lua.LState) int {
		files, err := kumod.EvalGlobs(rec.MonitorGlobs())
		if err != nil {
			raise(L, err)
		}
		L.Push(luart.ToLua(L, files))
		return 1
	}))
	mod.RawSetString("make_listener_domain", L.NewFunction(makeListenerDomain))
}

// decoder adapts a typed decoder; a failed decode yields a nil Config.
func decoder[T kumod.Config](fn func(any) (T, error)) func(any) (kumod.Config, error) {
	return func(v any) (kumod.Config, error) {
		c, err := fn(v)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// recordTableCall builds kumo.<name>{...}: convert the table to data,
// decode it, record it.
func recordTableCall(rec *kumod.Recorder, name string, decode func(any) (kumod.Config, error)) lua.LGFunction {
	return func(L *lua.LState) int {
		v, err := luart.ToGo(L.Get(1))
		if err != nil {
			raise(L, fmt.Errorf("kumo.%s: %w", name, err))
		}
		cfg, err := decode(v)
		if err != nil {
			raise(L, err)
		}
		record(L, rec, name, cfg)
		return 0
	}
}

func record(L *lua.LState, rec *kumod.Recorder, name string, cfg kumod.Config) {
	r, err := rec.Add(name, cfg, callerPosition(L))
	if err != nil {
		raise(L, err)
	}
	s := luart.StateOf(L)
	s.Runtime().Logger().Log(s.Context(), slog.LevelDebug,
		fmt.Sprintf("%s: kumo.%s recorded: %s [%s]", r.Caller, name, r.Summary(), r.Disposition))
}

// listenerDomainKind is the config object of kumo.make_listener_domain
// (KumoMTA's EsmtpDomain): read-only __index, __pairs and __len over its
// serialized form, like the other config objects (egress_binding.go).
var listenerDomainKind = &egressConfigKind{name: "EsmtpDomain", metaKey: "kumopolicy.kumo.EsmtpDomain", readable: true,
	serialize: func(t any) *plain.Map { return t.(*kumod.ListenerDomain).Serialize() }}

func makeListenerDomain(L *lua.LState) int {
	v, err := luart.ToGo(L.Get(1))
	if err != nil {
		raise(L, fmt.Errorf("kumo.make_listener_domain: %w", err))
	}
	d, err := kumod.DecodeListenerDomain(v)
	if err != nil {
		raise(L, err)
	}
	o := &egressConfigObject{kind: listenerDomainKind, typed: d}
	L.Push(o.NewLuaUserData(L))
	return 1
}
