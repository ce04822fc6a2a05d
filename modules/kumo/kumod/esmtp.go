package kumod

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// EsmtpListener is the parameter table of kumo.start_esmtp_listener
// (KumoMTA's EsmtpListenerParams): the listen address, the connection
// limit, and the session parameters shared with its peer/via blocks.
type EsmtpListener struct {
	Listen         string // default 127.0.0.1:2025
	MaxConnections uint64 // default 32768
	EsmtpSession
}

// EsmtpSession holds the per-session parameters of an ESMTP listener
// (KumoMTA's GenericEsmtpListenerParams). Nil pointers and maps mean
// "not set": KumoMTA then uses its built-in default for the session (for
// example the banner "KumoMTA" and relay_hosts 127.0.0.1 and ::1).
type EsmtpSession struct {
	Hostname                 *string
	RelayHosts               []string // nil when not set
	Banner                   *string
	BatchHandling            *string // BifurcateAlways or BatchByDomain
	TLSCertificate           *egress.KeySource
	TLSPrivateKey            *egress.KeySource
	TLSRequiredClientCA      *egress.KeySource
	DeferredSpool            *bool
	DeferredQueue            *bool
	TraceHeaders             *TraceHeaders
	ClientTimeout            *time.Duration
	DataProcessingTimeout    *time.Duration
	Peer                     []CIDRSession // by peer address
	Via                      []CIDRSession // by local address
	Meta                     map[string]any
	MaxMessagesPerConnection *uint64
	MaxRecipientsPerMessage  *uint64
	MaxMessageSize           *uint64
	DataBufferSize           *uint64
	InvalidLineEndings       *string // Deny, Allow or Fix
	LineLengthHardLimit      *uint64
	AllowXClient             *bool
	RequireProxyProtocol     *bool
}

// CIDRSession is one entry of a peer or via block: session parameters
// applied when the address matches CIDR.
type CIDRSession struct {
	CIDR    string
	Session EsmtpSession
}

// TraceHeaders configures the Received and supplemental trace headers.
type TraceHeaders struct {
	ReceivedHeader     bool   // default true
	SupplementalHeader bool   // default true
	HeaderName         string // default X-KumoRef
	IncludeMetaNames   []string
}

// ListenerDomain is the result of kumo.make_listener_domain (KumoMTA's
// EsmtpDomain): how the SMTP listener treats a recipient domain.
type ListenerDomain struct {
	LogOOB    string // Ignore, LogThenDrop or LogThenRelay
	LogARF    string
	RelayTo   bool
	RelayFrom []string
	TTL       time.Duration // deprecated upstream; default 60s
}

var (
	batchHandlingVariants = []string{"BifurcateAlways", "BatchByDomain"}
	conformanceVariants   = []string{"Deny", "Allow", "Fix"}
	logReportVariants     = []string{"Ignore", "LogThenDrop", "LogThenRelay"}
)

var (
	batchHandlingEnum = plain.Enum{Name: "BatchHandling", Variants: batchHandlingVariants}
	conformanceEnum   = plain.Enum{Name: "ConformanceDisposition", Variants: conformanceVariants}
)

// sessionSchema and listenerSchema are built by init: a session's peer
// and via blocks hold sessions in turn.
var (
	sessionSchema  *plain.Schema[EsmtpSession]
	listenerSchema *plain.Schema[EsmtpListener]
)

func init() {
	type S = EsmtpSession
	sessionSchema = plain.NewSchema("GenericEsmtpListenerParams", true,
		plain.OptStringField("hostname", func(s *S) **string { return &s.Hostname }),
		cidrSetField("relay_hosts", func(s *S) *[]string { return &s.RelayHosts }),
		plain.OptStringField("banner", func(s *S) **string { return &s.Banner }),
		plain.OptEnumField("batch_handling", batchHandlingEnum, func(s *S) **string { return &s.BatchHandling }),
		keySourceField("tls_certificate", func(s *S) **egress.KeySource { return &s.TLSCertificate }),
		keySourceField("tls_private_key", func(s *S) **egress.KeySource { return &s.TLSPrivateKey }),
		keySourceField("tls_required_client_ca", func(s *S) **egress.KeySource { return &s.TLSRequiredClientCA }),
		plain.OptBoolField("deferred_spool", func(s *S) **bool { return &s.DeferredSpool }),
		plain.OptBoolField("deferred_queue", func(s *S) **bool { return &s.DeferredQueue }),
		plain.Field[S]{Name: "trace_headers", Decode: func(s *S, v any) (err error) {
			s.TraceHeaders, err = decodeTraceHeaders(v)
			return
		}},
		plain.OptDurationField("client_timeout", func(s *S) **time.Duration { return &s.ClientTimeout }),
		plain.OptDurationField("data_processing_timeout", func(s *S) **time.Duration { return &s.DataProcessingTimeout }),
		plain.Field[S]{Name: "peer", Decode: func(s *S, v any) (err error) {
			s.Peer, err = decodeCIDRSessions(v)
			return
		}},
		plain.Field[S]{Name: "via", Decode: func(s *S, v any) (err error) {
			s.Via, err = decodeCIDRSessions(v)
			return
		}},
		plain.Field[S]{Name: "meta", Decode: func(s *S, v any) (err error) {
			s.Meta, err = plain.AsMap(v, "a map")
			return
		}},
		plain.OptUintField("max_messages_per_connection", 64, func(s *S) **uint64 { return &s.MaxMessagesPerConnection }),
		plain.OptUintField("max_recipients_per_message", 64, func(s *S) **uint64 { return &s.MaxRecipientsPerMessage }),
		plain.OptUintField("max_message_size", 64, func(s *S) **uint64 { return &s.MaxMessageSize }),
		plain.OptUintField("data_buffer_size", 64, func(s *S) **uint64 { return &s.DataBufferSize }),
		plain.OptEnumField("invalid_line_endings", conformanceEnum, func(s *S) **string { return &s.InvalidLineEndings }),
		plain.OptUintField("line_length_hard_limit", 64, func(s *S) **uint64 { return &s.LineLengthHardLimit }),
		plain.OptBoolField("allow_xclient", func(s *S) **bool { return &s.AllowXClient }),
		plain.OptBoolField("require_proxy_protocol", func(s *S) **bool { return &s.RequireProxyProtocol }),
	).InKeyOrder()

	type L = EsmtpListener
	listenerSchema = plain.NewSchema("EsmtpListenerParams", false, append([]plain.Field[L]{
		plain.StringField("listen", func(l *L) *string { return &l.Listen }),
		plain.UintField("max_connections", 64, func(l *L) *uint64 { return &l.MaxConnections }),
	}, plain.Embed(func(l *L) *S { return &l.EsmtpSession }, sessionSchema.Fields())...)...).Flattened().InKeyOrder()
}

// DecodeEsmtpListener decodes and checks the parameters of
// kumo.start_esmtp_listener.
func DecodeEsmtpListener(v any) (*EsmtpListener, error) {
	l := &EsmtpListener{Listen: "127.0.0.1:2025", MaxConnections: 32 * 1024}
	if err := listenerSchema.Decode(l, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if err := CheckListenAddress(l.Listen); err != nil {
		return nil, fmt.Errorf("kumo.start_esmtp_listener: %w", err)
	}
	return l, nil
}

func decodeSession(v any) (EsmtpSession, error) {
	var s EsmtpSession
	err := sessionSchema.Decode(&s, v)
	return s, err
}

// decodeCIDRSessions reads a CidrMap of session parameters, in key order.
func decodeCIDRSessions(v any) ([]CIDRSession, error) {
	m, err := plain.AsMap(v, "a CidrMap")
	if err != nil {
		return nil, err
	}
	out := make([]CIDRSession, 0, len(m))
	for _, k := range plain.SortedKeys(m) {
		cidr, err := egress.ParseCIDR(k)
		if err != nil {
			return nil, plain.Custom("%v", err)
		}
		s, err := decodeSession(m[k])
		if err != nil {
			return nil, plain.AtField(err, k)
		}
		out = append(out, CIDRSession{CIDR: cidr.String(), Session: s})
	}
	return out, nil
}

var traceHeadersSchema = plain.NewSchema("TraceHeaders", true,
	plain.BoolField("received_header", func(t *TraceHeaders) *bool { return &t.ReceivedHeader }),
	plain.BoolField("supplemental_header", func(t *TraceHeaders) *bool { return &t.SupplementalHeader }),
	plain.StringField("header_name", func(t *TraceHeaders) *string { return &t.HeaderName }),
	plain.StringListField("include_meta_names", func(t *TraceHeaders) *[]string { return &t.IncludeMetaNames }),
).InKeyOrder()

func decodeTraceHeaders(v any) (*TraceHeaders, error) {
	t := &TraceHeaders{ReceivedHeader: true, SupplementalHeader: true, HeaderName: "X-KumoRef", IncludeMetaNames: []string{}}
	if err := traceHeadersSchema.Decode(t, v); err != nil {
		return nil, err
	}
	return t, nil
}

var listenerDomainSchema = plain.NewSchema("EsmtpDomain", true,
	logReportField("log_oob", func(d *ListenerDomain) *string { return &d.LogOOB }),
	logReportField("log_arf", func(d *ListenerDomain) *string { return &d.LogARF }),
	plain.BoolField("relay_to", func(d *ListenerDomain) *bool { return &d.RelayTo }),
	cidrSetField("relay_from", func(d *ListenerDomain) *[]string { return &d.RelayFrom }),
	plain.DurationField("ttl", func(d *ListenerDomain) *time.Duration { return &d.TTL }),
).InKeyOrder()

// DecodeListenerDomain decodes the parameters of kumo.make_listener_domain.
func DecodeListenerDomain(v any) (*ListenerDomain, error) {
	d := &ListenerDomain{LogOOB: "Ignore", LogARF: "Ignore", RelayFrom: []string{}, TTL: 60 * time.Second}
	if err := listenerDomainSchema.Decode(d, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	return d, nil
}

// logReportField is a LogReportDisposition: true/false (LogThenRelay /
// Ignore) or a variant name.
func logReportField[T any](name string, get func(*T) *string) plain.Field[T] {
	const expecting = "a boolean value or one of 'Ignore', 'LogThenDrop' or 'LogThenRelay'"
	return plain.Field[T]{Name: name, Decode: func(dst *T, v any) error {
		switch x := v.(type) {
		case bool:
			if x {
				*get(dst) = "LogThenRelay"
			} else {
				*get(dst) = "Ignore"
			}
			return nil
		case string:
			for _, variant := range logReportVariants {
				if x == variant {
					*get(dst) = x
					return nil
				}
			}
			return plain.InvalidValue(v, expecting)
		}
		return plain.InvalidType(v, expecting)
	}}
}

// Data is the listener domain in KumoMTA's serialized form.
func (d *ListenerDomain) Data() map[string]any { return d.Serialize().Plain(true) }

// Serialize is the serialized form in KumoMTA's field order, which
// make_listener_domain's object exposes to Lua.
func (d *ListenerDomain) Serialize() *plain.Map {
	m := plain.NewMap(5)
	m.Set("log_oob", d.LogOOB)
	m.Set("log_arf", d.LogARF)
	m.Set("relay_to", d.RelayTo)
	m.Set("relay_from", plain.StringsToAny(d.RelayFrom))
	m.Set("ttl", plain.FormatDuration(d.TTL))
	return m
}

// CheckListenAddress checks that addr is HOST:PORT with a numeric port and
// an IP address (IPv6 in brackets) or host name, as KumoMTA's listeners
// accept. Host names are not resolved.
func CheckListenAddress(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// Like KumoMTA (Rust's ToSocketAddrs), accept an unbracketed
		// IPv6 address before the last colon.
		i := strings.LastIndexByte(addr, ':')
		if i < 0 {
			return fmt.Errorf("invalid listen address %q: expected HOST:PORT", addr)
		}
		if a, perr := netip.ParseAddr(addr[:i]); perr != nil || !a.Is6() {
			return fmt.Errorf("invalid listen address %q: expected HOST:PORT", addr)
		}
		host, port = addr[:i], addr[i+1:]
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid listen address %q: invalid port %q", addr, port)
	}
	if host == "" {
		return fmt.Errorf("invalid listen address %q: missing host (use 0.0.0.0 or [::] for every address)", addr)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !validHostName(host) {
		return fmt.Errorf("invalid listen address %q: %q is neither an IP address nor a host name", addr, host)
	}
	return nil
}

func validHostName(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Data renders the listener parameters as plain data (secrets redacted).
func (l *EsmtpListener) Data() map[string]any {
	m := l.EsmtpSession.data()
	m["listen"] = l.Listen
	m["max_connections"] = int64(l.MaxConnections)
	return m
}

func (s *EsmtpSession) data() map[string]any {
	m := map[string]any{}
	putOpt(m, "hostname", s.Hostname)
	if s.RelayHosts != nil {
		m["relay_hosts"] = plain.StringsToAny(s.RelayHosts)
	}
	putOpt(m, "banner", s.Banner)
	putOpt(m, "batch_handling", s.BatchHandling)
	putKey(m, "tls_certificate", s.TLSCertificate)
	putKey(m, "tls_private_key", s.TLSPrivateKey)
	putKey(m, "tls_required_client_ca", s.TLSRequiredClientCA)
	putOpt(m, "deferred_spool", s.DeferredSpool)
	putOpt(m, "deferred_queue", s.DeferredQueue)
	if t := s.TraceHeaders; t != nil {
		m["trace_headers"] = map[string]any{
			"received_header":     t.ReceivedHeader,
			"supplemental_header": t.SupplementalHeader,
			"header_name":         t.HeaderName,
			"include_meta_names":  plain.StringsToAny(t.IncludeMetaNames),
		}
	}
	putDuration(m, "client_timeout", s.ClientTimeout)
	putDuration(m, "data_processing_timeout", s.DataProcessingTimeout)
	putSessions(m, "peer", s.Peer)
	putSessions(m, "via", s.Via)
	if s.Meta != nil {
		m["meta"] = s.Meta
	}
	putUint(m, "max_messages_per_connection", s.MaxMessagesPerConnection)
	putUint(m, "max_recipients_per_message", s.MaxRecipientsPerMessage)
	putUint(m, "max_message_size", s.MaxMessageSize)
	putUint(m, "data_buffer_size", s.DataBufferSize)
	putOpt(m, "invalid_line_endings", s.InvalidLineEndings)
	putUint(m, "line_length_hard_limit", s.LineLengthHardLimit)
	putOpt(m, "allow_xclient", s.AllowXClient)
	putOpt(m, "require_proxy_protocol", s.RequireProxyProtocol)
	return m
}

func putSessions(m map[string]any, name string, list []CIDRSession) {
	if list == nil {
		return
	}
	out := make(map[string]any, len(list))
	for _, e := range list {
		out[e.CIDR] = e.Session.data()
	}
	m[name] = out
}

func putKey(m map[string]any, name string, k *egress.KeySource) {
	if k != nil {
		m[name] = keySourceData(k)
	}
}

// keySourceData renders a key source; inline key data and Vault tokens are
// redacted.
func keySourceData(k *egress.KeySource) any {
	switch k.Kind {
	case egress.KeyData:
		return map[string]any{"key_data": fmt.Sprintf("<%d bytes>", len(k.Data))}
	case egress.KeyVault:
		out := map[string]any{"vault_mount": k.VaultMount, "vault_path": k.VaultPath, "vault_key": k.VaultKey}
		putOpt(out, "vault_address", k.VaultAddress)
		if k.VaultToken != nil {
			out["vault_token"] = redacted
		}
		return out
	case egress.KeyEvent:
		return map[string]any{"event_name": k.EventName, "event_args": k.EventArgs}
	}
	return k.Path
}
