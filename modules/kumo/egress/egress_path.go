package egress

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

import "time"

// EgressPathConfig is KumoMTA's per-path delivery configuration, the
// result of the get_egress_path_config event and of
// kumo.make_egress_path. Decode it with
// DecodeEgressPathConfig; serialize it with Serialize.
//
// Options that are None are nil pointers. Name → value maps keep their
// entries sorted by name.
type EgressPathConfig struct {
	ConnectionLimit            LimitSpec
	AdditionalConnectionLimits []plain.Named[LimitSpec]
	EnableTLS                  string // TLSEnum
	EnableMTASTS               bool
	EnableDANE                 bool
	EnablePipelining           bool
	EnableRSET                 bool
	TLSPreferOpenSSL           bool
	TLSCertificate             *KeySource
	TLSPrivateKey              *KeySource
	OpenSSLCipherList          *string
	OpenSSLCipherSuites        *string
	// OpenSSLOptions holds the option names given in openssl_options
	// (nil when absent). Not serialized, as in KumoMTA.
	OpenSSLOptions []string
	// RustlsCipherSuites holds canonical suite names. Not serialized, as
	// in KumoMTA.
	RustlsCipherSuites []string

	ClientTimeouts SMTPClientTimeouts // flattened: its fields are top-level keys

	SystemShutdownTimeout                      *time.Duration
	MaxReady                                   uint64
	ConsecutiveConnectionFailuresBeforeDelay   uint64
	SMTPPort                                   uint16
	SMTPAuthPlainUsername                      *string
	SMTPAuthPlainPassword                      *KeySource
	AllowSMTPAuthPlainWithoutTLS               bool
	AllowSMTPAuthPlainWithoutValidCertificate  bool
	MaxMessageRate                             *ThrottleSpec
	AdditionalMessageRateThrottles             []plain.Named[ThrottleSpec]
	SourceSelectionRate                        *ThrottleSpec
	AdditionalSourceSelectionRates             []plain.Named[ThrottleSpec]
	MaxConnectionRate                          *ThrottleSpec
	MaxDeliveriesPerConnection                 uint64
	MaxRecipientsPerBatch                      uint64
	ProhibitedHosts                            CIDRSet
	SkipHosts                                  CIDRSet
	IPLookupStrategy                           string // IPLookupStrategyEnum
	EHLODomain                                 *string
	AggressiveConnectionOpening                bool
	RefreshInterval                            time.Duration
	RefreshStrategy                            string // RefreshStrategyEnum
	DispatcherWakeupStrategy                   string // WakeupStrategyEnum
	MaintainerWakeupStrategy                   string // WakeupStrategyEnum
	ProviderName                               *string
	RememberBrokenTLS                          *time.Duration
	OpportunisticTLSReconnectOnFailedHandshake bool
	UseLMTP                                    bool
	ReconnectStrategy                          string // ReconnectStrategyEnum
	ReadyQPoolName                             *string
	LowMemoryReductionPolicy                   string // MemoryReductionPolicyEnum
	NoMemoryReductionPolicy                    string // MemoryReductionPolicyEnum
	TryNextHostOnTransportError                bool
	Ignore8BitChecks                           bool
	DispatcherProgressWatchdogTimeout          *time.Duration
}

// SMTPClientTimeouts are the SMTP client's per-command timeouts. In the
// egress path they are flattened: `idle_timeout = "5s"` is a top-level key.
type SMTPClientTimeouts struct {
	ConnectTimeout  time.Duration
	BannerTimeout   time.Duration
	EHLOTimeout     time.Duration
	MailFromTimeout time.Duration
	RcptToTimeout   time.Duration
	DataTimeout     time.Duration
	DataDotTimeout  time.Duration
	RSETTimeout     time.Duration
	IdleTimeout     time.Duration
	StartTLSTimeout time.Duration
	AuthTimeout     time.Duration
}

// DefaultSMTPClientTimeouts returns KumoMTA's default client timeouts
// (the code's values; the documentation gives other numbers for data,
// data_dot and idle).
func DefaultSMTPClientTimeouts() SMTPClientTimeouts {
	return SMTPClientTimeouts{
		ConnectTimeout:  60 * time.Second,
		BannerTimeout:   60 * time.Second,
		EHLOTimeout:     300 * time.Second,
		MailFromTimeout: 300 * time.Second,
		RcptToTimeout:   300 * time.Second,
		DataTimeout:     300 * time.Second,
		DataDotTimeout:  300 * time.Second,
		RSETTimeout:     5 * time.Second,
		IdleTimeout:     5 * time.Second,
		StartTLSTimeout: 5 * time.Second,
		AuthTimeout:     60 * time.Second,
	}
}

// DefaultEgressPathConfig returns the configuration every field of which
// has its default.
func DefaultEgressPathConfig() *EgressPathConfig {
	return &EgressPathConfig{
		ConnectionLimit:                          LimitSpec{Limit: 32},
		EnableTLS:                                "Opportunistic",
		EnableMTASTS:                             true,
		EnablePipelining:                         true,
		EnableRSET:                               true,
		ClientTimeouts:                           DefaultSMTPClientTimeouts(),
		MaxReady:                                 1024,
		ConsecutiveConnectionFailuresBeforeDelay: 100,
		SMTPPort:                                 25,
		MaxDeliveriesPerConnection:               1024,
		MaxRecipientsPerBatch:                    100,
		ProhibitedHosts:                          defaultProhibitedHosts,
		IPLookupStrategy:                         DefaultIPLookupStrategy,
		RefreshInterval:                          60 * time.Second,
		RefreshStrategy:                          "Ttl",
		DispatcherWakeupStrategy:                 "Aggressive",
		MaintainerWakeupStrategy:                 "Aggressive",
		ReconnectStrategy:                        DefaultReconnectStrategy,
		LowMemoryReductionPolicy:                 "ShrinkDataAndMeta",
		NoMemoryReductionPolicy:                  "ShrinkDataAndMeta",
	}
}

// defaultProhibitedHosts is shared by every default config: a CIDRSet is
// never modified after it is built.
var defaultProhibitedHosts = DefaultProhibitedHosts()

// DecodeEgressPathConfig decodes plain data (a map of field names to
// values) into an EgressPathConfig, starting from the defaults. Unknown
// fields and values of the wrong type are errors; see the package
// documentation for the texts.
func DecodeEgressPathConfig(v any) (*EgressPathConfig, error) {
	c := DefaultEgressPathConfig()
	if err := egressPathSchema.Decode(c, v); err != nil {
		return nil, err
	}
	return c, nil
}

// Serialize returns the serialized form of c, as KumoMTA's userdata
// exposes it and as `resolve` prints it: every field except
// openssl_options and rustls_cipher_suites, in declaration order (the
// client timeouts in place of client_timeouts), durations in humantime
// form, rates canonical, limits as {limit, force_local}, CIDR sets as
// sequences of strings, enums as variant names, None as nil.
func (c *EgressPathConfig) Serialize() *plain.Map { return egressPathSchema.Encode(c) }

// EgressPathFieldNames returns every field name make_egress_path accepts,
// in declaration order.
func EgressPathFieldNames() []string { return egressPathSchema.FieldNames() }

type epc = EgressPathConfig

var egressPathSchema = plain.NewSchema("EgressPathConfig", false,
	LimitField("connection_limit", func(c *epc) *LimitSpec { return &c.ConnectionLimit }),
	LimitMapField("additional_connection_limits", func(c *epc) *[]plain.Named[LimitSpec] { return &c.AdditionalConnectionLimits }),
	plain.EnumField("enable_tls", TLSEnum, func(c *epc) *string { return &c.EnableTLS }),
	plain.BoolField("enable_mta_sts", func(c *epc) *bool { return &c.EnableMTASTS }),
	plain.BoolField("enable_dane", func(c *epc) *bool { return &c.EnableDANE }),
	plain.BoolField("enable_pipelining", func(c *epc) *bool { return &c.EnablePipelining }),
	plain.BoolField("enable_rset", func(c *epc) *bool { return &c.EnableRSET }),
	plain.BoolField("tls_prefer_openssl", func(c *epc) *bool { return &c.TLSPreferOpenSSL }),
	OptKeySourceField("tls_certificate", func(c *epc) **KeySource { return &c.TLSCertificate }),
	OptKeySourceField("tls_private_key", func(c *epc) **KeySource { return &c.TLSPrivateKey }),
	plain.OptStringField("openssl_cipher_list", func(c *epc) **string { return &c.OpenSSLCipherList }),
	plain.OptStringField("openssl_cipher_suites", func(c *epc) **string { return &c.OpenSSLCipherSuites }),
	plain.Field[epc]{Name: "openssl_options", Decode: func(c *epc, v any) error {
		s, err := plain.DecodeString(v)
		if err != nil {
			return err
		}
		names, err := ParseOpenSSLOptions(s)
		if err != nil {
			return &plain.Error{Msg: err.Error()}
		}
		c.OpenSSLOptions = names
		return nil
	}},
	plain.Field[epc]{Name: "rustls_cipher_suites", Decode: func(c *epc, v any) error {
		list, err := plain.DecodeStringList(v)
		if err != nil {
			return err
		}
		suites := make([]string, 0, len(list))
		for _, name := range list {
			s, err := ParseRustlsCipherSuite(name)
			if err != nil {
				return &plain.Error{Msg: err.Error()}
			}
			suites = append(suites, s)
		}
		c.RustlsCipherSuites = suites
		return nil
	}},
	plain.DurationField("connect_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.ConnectTimeout }),
	plain.DurationField("banner_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.BannerTimeout }),
	plain.DurationField("ehlo_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.EHLOTimeout }),
	plain.DurationField("mail_from_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.MailFromTimeout }),
	plain.DurationField("rcpt_to_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.RcptToTimeout }),
	plain.DurationField("data_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.DataTimeout }),
	plain.DurationField("data_dot_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.DataDotTimeout }),
	plain.DurationField("rset_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.RSETTimeout }),
	plain.DurationField("idle_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.IdleTimeout }),
	plain.DurationField("starttls_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.StartTLSTimeout }),
	plain.DurationField("auth_timeout", func(c *epc) *time.Duration { return &c.ClientTimeouts.AuthTimeout }),
	plain.OptDurationField("system_shutdown_timeout", func(c *epc) **time.Duration { return &c.SystemShutdownTimeout }),
	plain.UintField("max_ready", 64, func(c *epc) *uint64 { return &c.MaxReady }),
	plain.UintField("consecutive_connection_failures_before_delay", 64, func(c *epc) *uint64 { return &c.ConsecutiveConnectionFailuresBeforeDelay }),
	plain.UintField("smtp_port", 16, func(c *epc) *uint16 { return &c.SMTPPort }),
	plain.OptStringField("smtp_auth_plain_username", func(c *epc) **string { return &c.SMTPAuthPlainUsername }),
	OptKeySourceField("smtp_auth_plain_password", func(c *epc) **KeySource { return &c.SMTPAuthPlainPassword }),
	plain.BoolField("allow_smtp_auth_plain_without_tls", func(c *epc) *bool { return &c.AllowSMTPAuthPlainWithoutTLS }),
	plain.BoolField("allow_smtp_auth_plain_without_valid_certificate", func(c *epc) *bool { return &c.AllowSMTPAuthPlainWithoutValidCertificate }),
	OptThrottleField("max_message_rate", func(c *epc) **ThrottleSpec { return &c.MaxMessageRate }),
	ThrottleMapField("additional_message_rate_throttles", func(c *epc) *[]plain.Named[ThrottleSpec] { return &c.AdditionalMessageRateThrottles }),
	OptThrottleField("source_selection_rate", func(c *epc) **ThrottleSpec { return &c.SourceSelectionRate }),
	ThrottleMapField("additional_source_selection_rates", func(c *epc) *[]plain.Named[ThrottleSpec] { return &c.AdditionalSourceSelectionRates }),
	OptThrottleField("max_connection_rate", func(c *epc) **ThrottleSpec { return &c.MaxConnectionRate }),
	plain.UintField("max_deliveries_per_connection", 64, func(c *epc) *uint64 { return &c.MaxDeliveriesPerConnection }),
	plain.UintField("max_recipients_per_batch", 64, func(c *epc) *uint64 { return &c.MaxRecipientsPerBatch }),
	CIDRSetField("prohibited_hosts", func(c *epc) *CIDRSet { return &c.ProhibitedHosts }),
	CIDRSetField("skip_hosts", func(c *epc) *CIDRSet { return &c.SkipHosts }),
	plain.EnumField("ip_lookup_strategy", IPLookupStrategyEnum, func(c *epc) *string { return &c.IPLookupStrategy }),
	plain.OptStringField("ehlo_domain", func(c *epc) **string { return &c.EHLODomain }),
	plain.BoolField("aggressive_connection_opening", func(c *epc) *bool { return &c.AggressiveConnectionOpening }),
	plain.DurationField("refresh_interval", func(c *epc) *time.Duration { return &c.RefreshInterval }),
	plain.EnumField("refresh_strategy", RefreshStrategyEnum, func(c *epc) *string { return &c.RefreshStrategy }),
	plain.EnumField("dispatcher_wakeup_strategy", WakeupStrategyEnum, func(c *epc) *string { return &c.DispatcherWakeupStrategy }),
	plain.EnumField("maintainer_wakeup_strategy", WakeupStrategyEnum, func(c *epc) *string { return &c.MaintainerWakeupStrategy }),
	plain.OptStringField("provider_name", func(c *epc) **string { return &c.ProviderName }),
	plain.OptDurationField("remember_broken_tls", func(c *epc) **time.Duration { return &c.RememberBrokenTLS }),
	plain.BoolField("opportunistic_tls_reconnect_on_failed_handshake", func(c *epc) *bool { return &c.OpportunisticTLSReconnectOnFailedHandshake }),
	plain.BoolField("use_lmtp", func(c *epc) *bool { return &c.UseLMTP }),
	plain.EnumField("reconnect_strategy", ReconnectStrategyEnum, func(c *epc) *string { return &c.ReconnectStrategy }),
	plain.OptStringField("readyq_pool_name", func(c *epc) **string { return &c.ReadyQPoolName }),
	plain.EnumField("low_memory_reduction_policy", MemoryReductionPolicyEnum, func(c *epc) *string { return &c.LowMemoryReductionPolicy }),
	plain.EnumField("no_memory_reduction_policy", MemoryReductionPolicyEnum, func(c *epc) *string { return &c.NoMemoryReductionPolicy }),
	plain.BoolField("try_next_host_on_transport_error", func(c *epc) *bool { return &c.TryNextHostOnTransportError }),
	plain.BoolField("ignore_8bit_checks", func(c *epc) *bool { return &c.Ignore8BitChecks }),
	plain.OptDurationField("dispatcher_progress_watchdog_timeout", func(c *epc) **time.Duration { return &c.DispatcherProgressWatchdogTimeout }),
)
