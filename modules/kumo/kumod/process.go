package kumod

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Process tunables: the kumod settings a policy makes with a single value
// (thread pool sizes, memory limits, cache capacities, AAA cache TTLs ...).
// kumod acts on them; kumopolicy checks the value as kumod would and
// records it, so `kumopolicy validate` runs the whole policy and lists what
// it set.

// Setting is one recorded process tunable: the kumo function that set it
// and the checked value, as plain data (an integer, a bool, a duration
// text, a throttle text, or nil for "cleared").
type Setting struct {
	Func  string // e.g. "set_logging_threads" or "aaa.set_acl_cache_ttl"
	Key   string // what it sets; Func unless one function sets several keys
	Value any
}

// Data renders the setting as plain data.
func (s *Setting) Data() map[string]any {
	if s.Key != s.Func {
		return map[string]any{"name": s.Key, "value": s.Value}
	}
	return map[string]any{"value": s.Value}
}

func (s *Setting) summary() string {
	v := "nil"
	if s.Value != nil {
		v = fmt.Sprint(s.Value)
	}
	if s.Key != s.Func {
		return fmt.Sprintf("%s %s = %s", s.Func, s.Key, v)
	}
	return fmt.Sprintf("%s = %s", s.Func, v)
}

// ThreadPoolSetters are the kumo functions that size one of kumod's thread
// pools; each takes a non-negative integer.
var ThreadPoolSetters = []string{
	"set_httpinject_threads",
	"set_logging_threads",
	"set_qmaint_threads",
	"set_ready_qmaint_threads",
	"set_readyq_threads",
	"set_smtpsrv_threads",
	"set_spoolin_threads",
	"dkim.set_signing_threads",
}

// MemorySetters are the kumo functions that set one of kumod's memory
// limits, in bytes.
var MemorySetters = []string{"set_memory_hard_limit", "set_memory_soft_limit", "set_memory_low_thresh"}

// LRUTTLCaches are the names of kumod's built-in caches, the only names
// kumo.set_lruttl_cache_capacity accepts.
var LRUTTLCaches = []string{
	"acl_check", "acl_definition", "dkim_key_cache", "dkim_signer_cache",
	"dns_resolver_ip", "dns_resolver_ipv4", "dns_resolver_ipv6", "dns_resolver_mx",
	"egress_source_pools", "egress_source_sources", "http_server_auth",
	"mod_filesystem_glob_cache", "mta_sts_policy", "rustls_client_config",
	"smtp_dispatcher_broken_tls", "smtp_dispatcher_client_certificate", "smtp_server_tls_config",
}

// DecodeThreads checks a thread pool size given to fn.
func DecodeThreads(fn string, v any) (*Setting, error) {
	n, err := plain.DecodeUint(v, 64)
	if err != nil {
		return nil, fmt.Errorf("kumo.%s: %w", fn, err)
	}
	return &Setting{Func: fn, Key: fn, Value: int64(n)}, nil
}

// DecodeMemoryLimit checks a memory limit in bytes given to fn.
func DecodeMemoryLimit(fn string, v any) (*Setting, error) {
	n, err := plain.DecodeUint(v, 64)
	if err != nil {
		return nil, fmt.Errorf("kumo.%s: %w", fn, err)
	}
	return &Setting{Func: fn, Key: fn, Value: int64(n)}, nil
}

// DecodeBoolSetting checks the boolean given to fn.
func DecodeBoolSetting(fn string, v any) (*Setting, error) {
	b, ok := v.(bool)
	if !ok {
		return nil, fmt.Errorf("kumo.%s: invalid type: %s, expected a boolean", fn, plain.Describe(v))
	}
	return &Setting{Func: fn, Key: fn, Value: b}, nil
}

// DecodeDurationSetting checks the duration (a humantime string or a
// number of seconds) given to fn; the value is recorded as text.
func DecodeDurationSetting(fn string, v any) (*Setting, error) {
	d, err := plain.DecodeDuration(v)
	if err != nil {
		return nil, fmt.Errorf("kumo.%s: %w", fn, err)
	}
	return &Setting{Func: fn, Key: fn, Value: plain.FormatDuration(d)}, nil
}

// DecodeHTTPInjectRateLimit checks kumo.set_httpinject_recipient_rate_limit's
// throttle spec; nil clears the limit.
func DecodeHTTPInjectRateLimit(v any) (*Setting, error) {
	const fn = "set_httpinject_recipient_rate_limit"
	if v == nil {
		return &Setting{Func: fn, Key: fn}, nil
	}
	t, err := egress.DecodeThrottleSpec(v)
	if err != nil {
		return nil, fmt.Errorf("kumo.%s: %w", fn, err)
	}
	return &Setting{Func: fn, Key: fn, Value: t.String()}, nil
}

// DecodeCacheCapacity checks kumo.set_lruttl_cache_capacity's arguments.
func DecodeCacheCapacity(name, capacity any) (*Setting, error) {
	const fn = "set_lruttl_cache_capacity"
	s, ok := name.(string)
	if !ok {
		return nil, fmt.Errorf("kumo.%s: invalid type for the cache name: %s, expected a string", fn, plain.Describe(name))
	}
	if !slices.Contains(LRUTTLCaches, s) {
		return nil, fmt.Errorf("kumo.%s: no cache named %q; the caches whose capacity can be set are: %s",
			fn, s, strings.Join(LRUTTLCaches, ", "))
	}
	n, err := plain.DecodeUint(capacity, 64)
	if err != nil {
		return nil, fmt.Errorf("kumo.%s: capacity: %w", fn, err)
	}
	return &Setting{Func: fn, Key: s, Value: int64(n)}, nil
}

// AcctLog is the parameter table of kumo.aaa.configure_acct_log: where and
// how kumod writes its authentication and authorization accounting log.
type AcctLog struct {
	LogDir             string
	MaxFileSize        uint64 // default 1000000000
	BackPressure       uint64 // default 128000
	CompressionLevel   int64  // default 0 (zstd's default level)
	MaxSegmentDuration *time.Duration
	MinFreeSpace       MinFree // default 10%
	MinFreeInodes      MinFree // default 10%
	LogAuthzAllow      bool    // default true
	LogAuthzDeny       bool    // default true
	LogAuthnOK         bool    // default true
	LogAuthnFail       bool    // default true
}

var acctLogSchema = plain.NewSchema("AcctLogParams", true,
	pathField("log_dir", func(a *AcctLog) *string { return &a.LogDir }).Req(),
	u64Field("max_file_size", func(a *AcctLog) *uint64 { return &a.MaxFileSize }),
	plain.UintField("back_pressure", 64, func(a *AcctLog) *uint64 { return &a.BackPressure }),
	i32Field("compression_level", func(a *AcctLog) *int64 { return &a.CompressionLevel }),
	plain.OptDurationField("max_segment_duration", func(a *AcctLog) **time.Duration { return &a.MaxSegmentDuration }),
	minFreeField("min_free_space", func(a *AcctLog) *MinFree { return &a.MinFreeSpace }),
	minFreeField("min_free_inodes", func(a *AcctLog) *MinFree { return &a.MinFreeInodes }),
	plain.BoolField("log_authz_allow", func(a *AcctLog) *bool { return &a.LogAuthzAllow }),
	plain.BoolField("log_authz_deny", func(a *AcctLog) *bool { return &a.LogAuthzDeny }),
	plain.BoolField("log_authn_ok", func(a *AcctLog) *bool { return &a.LogAuthnOK }),
	plain.BoolField("log_authn_fail", func(a *AcctLog) *bool { return &a.LogAuthnFail }),
).InKeyOrder()

// DecodeAcctLog decodes and checks kumo.aaa.configure_acct_log's
// parameters. Nothing is created.
func DecodeAcctLog(v any) (*AcctLog, error) {
	a := &AcctLog{
		MaxFileSize: 1_000_000_000, BackPressure: defaultBackPressure,
		MinFreeSpace: defaultMinFree, MinFreeInodes: defaultMinFree,
		LogAuthzAllow: true, LogAuthzDeny: true, LogAuthnOK: true, LogAuthnFail: true,
	}
	if err := acctLogSchema.Decode(a, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if err := checkPath("kumo.aaa.configure_acct_log", "log_dir", a.LogDir); err != nil {
		return nil, err
	}
	return a, nil
}

// Data renders the parameters as plain data.
func (a *AcctLog) Data() map[string]any {
	m := map[string]any{
		"log_dir":           a.LogDir,
		"max_file_size":     int64(a.MaxFileSize),
		"back_pressure":     int64(a.BackPressure),
		"compression_level": a.CompressionLevel,
		"min_free_space":    a.MinFreeSpace.data(),
		"min_free_inodes":   a.MinFreeInodes.data(),
		"log_authz_allow":   a.LogAuthzAllow,
		"log_authz_deny":    a.LogAuthzDeny,
		"log_authn_ok":      a.LogAuthnOK,
		"log_authn_fail":    a.LogAuthnFail,
	}
	putDuration(m, "max_segment_duration", a.MaxSegmentDuration)
	return m
}

// MemoryLimits are the memory limits a policy set, with kumod's
// derivations: without an explicit soft limit it is 3/4 of the hard
// limit, and without an explicit low threshold it is 4/5 of the soft
// limit. A limit that neither the policy nor a derivation gives is
// absent (ok false): kumopolicy enforces no memory limits and does not
// read the machine's.
func (r *Recorder) MemoryLimits() (hard, soft, low uint64, okHard, okSoft, okLow bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	get := func(fn string) (uint64, bool) {
		if v, ok := r.settings[fn]; ok {
			return uint64(v.(int64)), true
		}
		return 0, false
	}
	hard, okHard = get("set_memory_hard_limit")
	soft, okSoft = get("set_memory_soft_limit")
	if !okSoft && okHard {
		soft, okSoft = hard*3/4, true
	}
	low, okLow = get("set_memory_low_thresh")
	if !okLow && okSoft {
		low, okLow = soft*4/5, true
	}
	return
}

// Setting returns the value a policy last gave the tunable key (a
// function name such as "set_logging_threads", or a cache name for
// set_lruttl_cache_capacity).
func (r *Recorder) Setting(key string) (any, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.settings[key]
	return v, ok
}
