package egress

// Enumerations of the egress path and queue schemas. Each is a string type
// holding the variant name exactly as KumoMTA spells it (case-sensitive),
// which is also its serialized form.

// Enum describes one enumeration: its KumoMTA type name (used in type
// errors, "expected enum Tls") and its variants in KumoMTA's declaration
// order, which is the order of "expected one of" lists.
type Enum struct {
	Name     string
	Variants []string
}

// Decode accepts a string naming a variant exactly.
func (e Enum) Decode(v any) (string, error) { return DecodeEnum(v, e.Name, e.Variants) }

// The enumerations. Defaults are noted; the config constructors set them.
var (
	// TLSEnum is enable_tls (default Opportunistic).
	TLSEnum = Enum{"Tls", []string{"Opportunistic", "OpportunisticInsecure", "Required", "RequiredInsecure", "Disabled"}}
	// IPLookupStrategyEnum is ip_lookup_strategy (default Ipv4AndIpv6).
	IPLookupStrategyEnum = Enum{"IpLookupStrategy", []string{"Ipv4Only", "Ipv6Only", "Ipv4AndIpv6", "Ipv6ThenIpv4", "Ipv4ThenIpv6"}}
	// RefreshStrategyEnum is refresh_strategy (default Ttl).
	RefreshStrategyEnum = Enum{"ConfigRefreshStrategy", []string{"Ttl", "Epoch"}}
	// WakeupStrategyEnum is dispatcher_ and maintainer_wakeup_strategy
	// (default Aggressive).
	WakeupStrategyEnum = Enum{"WakeupStrategy", []string{"Aggressive", "Relaxed"}}
	// ReconnectStrategyEnum is reconnect_strategy (default ConnectNextHost).
	ReconnectStrategyEnum = Enum{"ReconnectStrategy", []string{"TerminateSession", "ReconnectSameHost", "ConnectNextHost"}}
	// MemoryReductionPolicyEnum is low_ and no_memory_reduction_policy,
	// and a queue shrink_policy's policy (default ShrinkDataAndMeta).
	MemoryReductionPolicyEnum = Enum{"MemoryReductionPolicy", []string{"ShrinkDataAndMeta", "ShrinkData", "NoShrink"}}
	// QueueStrategyEnum is a queue's strategy (default
	// SingletonTimerWheel).
	QueueStrategyEnum = Enum{"QueueStrategy", []string{"TimerWheel", "SkipList", "SingletonTimerWheel", "SingletonTimerWheelV2"}}
)

// Enum defaults that are not the first declared variant.
const (
	DefaultIPLookupStrategy  = "Ipv4AndIpv6"
	DefaultReconnectStrategy = "ConnectNextHost"
	DefaultQueueStrategy     = "SingletonTimerWheel"
)
