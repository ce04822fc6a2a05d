package kumo

import (
	"fmt"
	"log/slog"
	"strings"

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
		{"configure_bounce_classifier", decoder(func(v any) (*kumod.BounceClassifier, error) {
			return kumod.DecodeBounceClassifier(v, svc.Paths)
		})},
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
		files, err := kumod.EvalGlobs(rec.MonitorGlobs(), svc.Paths)
		if err != nil {
			raise(L, err)
		}
		L.Push(luart.ToLua(L, files))
		return 1
	}))
	mod.RawSetString("make_listener_domain", L.NewFunction(makeListenerDomain))
	svc.openProcessSettings(s, mod)
}

// openProcessSettings installs kumod's process tunables (thread pools,
// memory limits, cache capacities, the AAA settings and accounting log):
// checked and recorded, acted on by kumod only. The memory limit getters
// answer from what the policy set.
func (svc *Services) openProcessSettings(s *luart.State, mod *lua.LTable) {
	rec := svc.Recorder
	L := s.L
	// setting installs kumo.<name> (name may be "sub.fn") taking one
	// argument checked by decode.
	setting := func(name string, decode func(v any) (*kumod.Setting, error)) {
		t, leaf := mod, name
		if i := strings.IndexByte(name, '.'); i >= 0 {
			t, leaf = subTable(L, mod, name[:i]), name[i+1:]
		}
		t.RawSetString(leaf, L.NewFunction(func(L *lua.LState) int {
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
		}))
	}
	for _, fn := range kumod.ThreadPoolSetters {
		setting(fn, func(v any) (*kumod.Setting, error) { return kumod.DecodeThreads(fn, v) })
	}
	for _, fn := range kumod.MemorySetters {
		setting(fn, func(v any) (*kumod.Setting, error) { return kumod.DecodeMemoryLimit(fn, v) })
	}
	setting("set_httpinject_recipient_rate_limit", kumod.DecodeHTTPInjectRateLimit)
	for _, fn := range []string{"suspend_delivery_when_spool_unhealthy", "aaa.set_fall_back_to_acl_map"} {
		setting(fn, func(v any) (*kumod.Setting, error) { return kumod.DecodeBoolSetting(fn, v) })
	}
	for _, fn := range []string{"aaa.set_acl_cache_ttl", "aaa.set_check_cache_ttl"} {
		setting(fn, func(v any) (*kumod.Setting, error) { return kumod.DecodeDurationSetting(fn, v) })
	}
	mod.RawSetString("set_lruttl_cache_capacity", L.NewFunction(func(L *lua.LState) int {
		name, err := luart.ToGo(L.Get(1))
		if err == nil {
			var capacity any
			if capacity, err = luart.ToGo(L.Get(2)); err == nil {
				var cfg *kumod.Setting
				if cfg, err = kumod.DecodeCacheCapacity(name, capacity); err == nil {
					record(L, rec, "set_lruttl_cache_capacity", cfg)
					return 0
				}
			}
		}
		raise(L, err)
		return 0
	}))
	getter := func(pick func(hard, soft, low uint64, okHard, okSoft, okLow bool) (uint64, bool)) lua.LGFunction {
		return func(L *lua.LState) int {
			n, ok := pick(rec.MemoryLimits())
			if !ok {
				L.Push(lua.LNil)
			} else {
				L.Push(lua.LNumber(n))
			}
			return 1
		}
	}
	mod.RawSetString("get_memory_hard_limit", L.NewFunction(getter(func(h, _, _ uint64, ok, _, _ bool) (uint64, bool) { return h, ok })))
	mod.RawSetString("get_memory_soft_limit", L.NewFunction(getter(func(_, s, _ uint64, _, ok, _ bool) (uint64, bool) { return s, ok })))
	mod.RawSetString("get_memory_low_thresh", L.NewFunction(getter(func(_, _, l uint64, _, _, ok bool) (uint64, bool) { return l, ok })))
	subTable(L, mod, "aaa").RawSetString("configure_acct_log",
		L.NewFunction(recordTableCall(rec, "aaa.configure_acct_log", decoder(kumod.DecodeAcctLog))))
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
