package memoize

import (
	"fmt"
	"time"
)

// DefaultPopulateTimeout is how long callers wait for another caller's
// population of the same key when Params.PopulateTimeout is not set.
const DefaultPopulateTimeout = 120 * time.Second

// FailedTTL is how long a population error stays cached, whatever the TTL.
const FailedTTL = 60 * time.Second

// SweepInterval is how often (at most) a cache drops its expired entries.
// Sweeps are lazy: they run during lookups, so an idle cache costs nothing.
const SweepInterval = 30 * time.Second

// Params are the parameters of kumo.memoize. Two
// definitions name the same cache only when their Params are equal (==).
type Params struct {
	Name     string
	TTL      time.Duration
	Capacity uint64

	// InvalidateWithEpoch pairs every key with the config epoch at the start
	// of the lookup, unless AllowStaleReads is set.
	InvalidateWithEpoch bool

	// RetryOnPopulateTimeout makes a lookup try up to 3 times in total,
	// retrying after any error.
	RetryOnPopulateTimeout bool

	// PopulateTimeout bounds how long a caller waits for another caller's
	// population. It is only used when PopulateTimeoutSet is true;
	// otherwise DefaultPopulateTimeout applies. (The flag keeps "not given"
	// apart from "given as 120 s", which upstream treats as different
	// params.)
	PopulateTimeout    time.Duration
	PopulateTimeoutSet bool

	// AllowStaleReads lets waiters for the refresh of an expired entry get
	// the expired value when their wait times out. It also keeps the epoch
	// out of the key.
	AllowStaleReads bool
}

// EffectivePopulateTimeout returns PopulateTimeout, or the default.
func (p Params) EffectivePopulateTimeout() time.Duration {
	if p.PopulateTimeoutSet {
		return p.PopulateTimeout
	}
	return DefaultPopulateTimeout
}

// usesEpoch reports whether keys carry the config epoch.
func (p Params) usesEpoch() bool { return p.InvalidateWithEpoch && !p.AllowStaleReads }

// builtinNames are the names of KumoMTA's own lruttl caches. A memoize
// cache must not use them (kumod would mix their entries).
var builtinNames = map[string]bool{
	"dns_resolver_mx":                    true,
	"dns_resolver_ip":                    true,
	"dns_resolver_ipv4":                  true,
	"dns_resolver_ipv6":                  true,
	"mta_sts_policy":                     true,
	"dkim_key_cache":                     true,
	"dkim_signer_cache":                  true,
	"egress_source_pools":                true,
	"egress_source_sources":              true,
	"acl_check":                          true,
	"acl_definition":                     true,
	"http_server_auth":                   true,
	"mod_filesystem_glob_cache":          true,
	"rustls_client_config":               true,
	"smtp_dispatcher_broken_tls":         true,
	"smtp_dispatcher_client_certificate": true,
	"smtp_server_tls_config":             true,
}

// IsBuiltinName reports whether name is reserved for a built-in cache.
func IsBuiltinName(name string) bool { return builtinNames[name] }

// CheckName returns KumoMTA's error for a name that collides with a
// built-in cache, or nil.
func CheckName(name string) error {
	if IsBuiltinName(name) {
		return fmt.Errorf("cannot use name `%s` for a memoize cache, as it collides with a built-in cache. "+
			"Suggestion: prefix your cache name with `user.` to avoid conflicts with current and future caches.", name)
	}
	return nil
}
