package egress

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

// Enumerations of the egress path and queue schemas. Each is a string type
// holding the variant name exactly as KumoMTA spells it (case-sensitive),
// which is also its serialized form.

// The enumerations. Defaults are noted; the config constructors set them.
var (
	// TLSEnum is enable_tls (default Opportunistic).
	TLSEnum = plain.Enum{Name: "Tls", Variants: []string{"Opportunistic", "OpportunisticInsecure", "Required", "RequiredInsecure", "Disabled"}}
	// IPLookupStrategyEnum is ip_lookup_strategy (default Ipv4AndIpv6).
	IPLookupStrategyEnum = plain.Enum{Name: "IpLookupStrategy", Variants: []string{"Ipv4Only", "Ipv6Only", "Ipv4AndIpv6", "Ipv6ThenIpv4", "Ipv4ThenIpv6"}}
	// RefreshStrategyEnum is refresh_strategy (default Ttl).
	RefreshStrategyEnum = plain.Enum{Name: "ConfigRefreshStrategy", Variants: []string{"Ttl", "Epoch"}}
	// WakeupStrategyEnum is dispatcher_ and maintainer_wakeup_strategy
	// (default Aggressive).
	WakeupStrategyEnum = plain.Enum{Name: "WakeupStrategy", Variants: []string{"Aggressive", "Relaxed"}}
	// ReconnectStrategyEnum is reconnect_strategy (default ConnectNextHost).
	ReconnectStrategyEnum = plain.Enum{Name: "ReconnectStrategy", Variants: []string{"TerminateSession", "ReconnectSameHost", "ConnectNextHost"}}
	// MemoryReductionPolicyEnum is low_ and no_memory_reduction_policy,
	// and a queue shrink_policy's policy (default ShrinkDataAndMeta).
	MemoryReductionPolicyEnum = plain.Enum{Name: "MemoryReductionPolicy", Variants: []string{"ShrinkDataAndMeta", "ShrinkData", "NoShrink"}}
	// QueueStrategyEnum is a queue's strategy (default
	// SingletonTimerWheel).
	QueueStrategyEnum = plain.Enum{Name: "QueueStrategy", Variants: []string{"TimerWheel", "SkipList", "SingletonTimerWheel", "SingletonTimerWheelV2"}}
)

// Enum defaults that are not the first declared variant.
const (
	DefaultIPLookupStrategy  = "Ipv4AndIpv6"
	DefaultReconnectStrategy = "ConnectNextHost"
	DefaultQueueStrategy     = "SingletonTimerWheel"
)
