package tsaclient

import (
	"net/url"
	"slices"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Defaults of setup_with_automation, as KumoMTA's shaping.lua has them.
const (
	DefaultPublishTimeout         = time.Minute
	DefaultPublishPoolIdleTimeout = 90 * time.Second
	DefaultCacheTTL               = time.Minute
	// DefaultRetryDelay is how long the subscriber waits before it
	// reconnects after an error or a close.
	DefaultRetryDelay = 30 * time.Second
	// DefaultMonitorInterval is how often the config monitor reloads the
	// shaping data.
	DefaultMonitorInterval = 30 * time.Second
	// DefaultRetryInterval and DefaultMaxRetryInterval are the publish
	// queue's retry settings before tsa_queue_config is merged in.
	DefaultRetryInterval    = "1m"
	DefaultMaxRetryInterval = "20m"
)

// DefaultSkipLogRecordTypes are the record types that are never published
// unless skip_log_record_types replaces the set: records about mail
// arriving at or moving within the MTA rather than a destination's answer.
var DefaultSkipLogRecordTypes = []string{
	"AdminRebind", "DeferredInjectionRebind", "Delayed", "Reception", "Rejection", "XferIn", "XferOut",
}

// Options are setup_with_automation's options. Decode them with
// DecodeOptions; the zero value is not meaningful (PreFilter, the timeouts
// and the skip set take their defaults there).
type Options struct {
	// Publish and Subscribe are the TSA daemons' base URLs
	// ("http://host:port", http or https).
	Publish   []string
	Subscribe []string
	// SubscribeSet tells `subscribe = {}` from an absent subscribe: the
	// config monitor runs whenever subscribe was given, even empty.
	SubscribeSet bool
	// SkipLogRecordTypes is the effective skip set: skip_log_record_types
	// (or DefaultSkipLogRecordTypes when absent) plus
	// additional_skip_log_record_types, sorted, without duplicates.
	SkipLogRecordTypes []string
	// PreFilter: publish only records matching at least one automation
	// rule (default true).
	PreFilter bool
	// BackPressure is the log hooks' back_pressure (nil: the hook's
	// default).
	BackPressure *uint64
	// TSAQueueConfig is merged over the publish queue's retry settings
	// (see QueueConfigParams); kept as given, make_queue_config checks it.
	TSAQueueConfig map[string]any
	// PublishTimeout and PublishPoolIdleTimeout configure the publishing
	// HTTP client; PublishConnectionVerbose asks for connection logging.
	PublishTimeout           time.Duration
	PublishPoolIdleTimeout   time.Duration
	PublishConnectionVerbose bool
	// The shaping data cache: CacheTTL (default 1 minute),
	// ShapingDataPopulateTimeout (nil: the memoize default),
	// RetryShapingDataFetchOnPopulateTimeout, AllowStaleShapingData.
	CacheTTL                               time.Duration
	ShapingDataPopulateTimeout             *time.Duration
	RetryShapingDataFetchOnPopulateTimeout bool
	AllowStaleShapingData                  bool
	// NoDefaultFiles leaves out the bundled shaping.toml; ExtraFiles are
	// loaded after it, then each subscribe URL's
	// /get_config_v1/shaping.toml.
	NoDefaultFiles bool
	ExtraFiles     []string
	// LoadValidationOptions and ValidationOptions are shaping.load options
	// (for loading and for validate_config), kept as given.
	LoadValidationOptions map[string]any
	ValidationOptions     map[string]any
}

// Hook is one publish destination: the log hook (and queue) named after
// its URL and the constructor event of its delivery protocol.
type Hook struct {
	URL         string
	Name        string // "<url>.tsa.kumomta"
	Constructor string // "make.<name>"
}

// HookName returns the log hook name of a publish URL.
func HookName(publishURL string) string { return publishURL + ".tsa.kumomta" }

// Hooks returns one Hook per publish URL, in order.
func (o *Options) Hooks() []Hook {
	out := make([]Hook, 0, len(o.Publish))
	for _, u := range o.Publish {
		name := HookName(u)
		out = append(out, Hook{URL: u, Name: name, Constructor: "make." + name})
	}
	return out
}

// ShapingFiles returns the shaping files to load: defaultFile unless
// NoDefaultFiles, then ExtraFiles, then each subscribe URL's
// /get_config_v1/shaping.toml.
func (o *Options) ShapingFiles(defaultFile string) []string {
	var out []string
	if !o.NoDefaultFiles {
		out = append(out, defaultFile)
	}
	out = append(out, o.ExtraFiles...)
	for _, u := range o.Subscribe {
		out = append(out, u+"/get_config_v1/shaping.toml")
	}
	return out
}

// QueueConfigParams returns the make_queue_config parameters of a publish
// hook's queue: retry_interval 1m and max_retry_interval 20m, then every
// key of TSAQueueConfig over them, then protocol.custom_lua.constructor.
// ok is false when hook is not one of the publish hooks.
func (o *Options) QueueConfigParams(hook string) (params map[string]any, ok bool) {
	for _, h := range o.Hooks() {
		if h.Name != hook {
			continue
		}
		params = map[string]any{
			"retry_interval":     DefaultRetryInterval,
			"max_retry_interval": DefaultMaxRetryInterval,
		}
		for k, v := range o.TSAQueueConfig {
			params[k] = v
		}
		params["protocol"] = map[string]any{"custom_lua": map[string]any{"constructor": h.Constructor}}
		return params, true
	}
	return nil, false
}

// rawOptions is what the schema decodes into; DecodeOptions then applies
// the defaults that depend on presence.
type rawOptions struct {
	Options
	skip, additional []string
	skipSet          bool
	preFilter        *bool
}

func urlListField(name string, get func(*rawOptions) *[]string) plain.Field[rawOptions] {
	return plain.Field[rawOptions]{Name: name, Decode: func(dst *rawOptions, v any) error {
		list, err := plain.DecodeStringList(v)
		if err != nil {
			return err
		}
		for i, s := range list {
			u, perr := url.Parse(s)
			if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return plain.AtIndex(plain.InvalidValue(s, "an http:// or https:// URL"), i+1)
			}
		}
		*get(dst) = list
		return nil
	}}
}

func recordTypesField(name string, get func(*rawOptions) *[]string) plain.Field[rawOptions] {
	return plain.Field[rawOptions]{Name: name, Decode: func(dst *rawOptions, v any) error {
		list, err := plain.DecodeStringList(v)
		if err != nil {
			return err
		}
		for i, s := range list {
			if !slices.Contains(logrecord.Types, s) {
				return plain.AtIndex(plain.UnknownVariant(s, logrecord.Types), i+1)
			}
		}
		*get(dst) = list
		return nil
	}}
}

func tableField(name, what string, get func(*rawOptions) *map[string]any) plain.Field[rawOptions] {
	return plain.Field[rawOptions]{Name: name, Decode: func(dst *rawOptions, v any) error {
		if om, ok := v.(*plain.Map); ok {
			v = plain.Unordered(om, false)
		}
		m, err := plain.AsMap(v, what)
		if err != nil {
			return err
		}
		*get(dst) = m
		return nil
	}}
}

var optionsSchema = plain.NewSchema("AutomationOptions", false,
	urlListField("publish", func(o *rawOptions) *[]string { return &o.Publish }),
	plain.Field[rawOptions]{Name: "subscribe", Decode: func(dst *rawOptions, v any) error {
		dst.SubscribeSet = true
		return urlListField("subscribe", func(o *rawOptions) *[]string { return &o.Subscribe }).Decode(dst, v)
	}},
	plain.Field[rawOptions]{Name: "skip_log_record_types", Decode: func(dst *rawOptions, v any) error {
		dst.skipSet = true
		return recordTypesField("", func(o *rawOptions) *[]string { return &o.skip }).Decode(dst, v)
	}},
	recordTypesField("additional_skip_log_record_types", func(o *rawOptions) *[]string { return &o.additional }),
	plain.Field[rawOptions]{Name: "pre_filter", Decode: func(dst *rawOptions, v any) error {
		b, err := plain.DecodeBool(v)
		dst.preFilter = &b
		return err
	}},
	plain.OptUintField("back_pressure", 64, func(o *rawOptions) **uint64 { return &o.BackPressure }),
	tableField("tsa_queue_config", "a table of make_queue_config parameters", func(o *rawOptions) *map[string]any { return &o.TSAQueueConfig }),
	plain.DurationField("publish_timeout", func(o *rawOptions) *time.Duration { return &o.PublishTimeout }),
	plain.DurationField("publish_pool_idle_timeout", func(o *rawOptions) *time.Duration { return &o.PublishPoolIdleTimeout }),
	plain.BoolField("publish_connection_verbose", func(o *rawOptions) *bool { return &o.PublishConnectionVerbose }),
	plain.DurationField("cache_ttl", func(o *rawOptions) *time.Duration { return &o.CacheTTL }),
	plain.OptDurationField("shaping_data_populate_timeout", func(o *rawOptions) **time.Duration { return &o.ShapingDataPopulateTimeout }),
	plain.BoolField("retry_shaping_data_fetch_on_populate_timeout", func(o *rawOptions) *bool { return &o.RetryShapingDataFetchOnPopulateTimeout }),
	plain.BoolField("allow_stale_shaping_data", func(o *rawOptions) *bool { return &o.AllowStaleShapingData }),
	plain.BoolField("no_default_files", func(o *rawOptions) *bool { return &o.NoDefaultFiles }),
	plain.StringListField("extra_files", func(o *rawOptions) *[]string { return &o.ExtraFiles }),
	tableField("load_validation_options", "a table of shaping load options", func(o *rawOptions) *map[string]any { return &o.LoadValidationOptions }),
	tableField("validation_options", "a table of shaping load options", func(o *rawOptions) *map[string]any { return &o.ValidationOptions }),
)

// OptionNames are the keys DecodeOptions accepts, in declaration order.
func OptionNames() []string { return optionsSchema.FieldNames() }

// DecodeOptions decodes setup_with_automation's options table (plain data,
// as luart.ToGo gives it; nil means no options) strictly: an unknown key,
// a value of the wrong kind, a URL that is not http(s) or an unknown log
// record type is an error naming its path, e.g.
// "publish[2]: invalid value: string \"tsa:8008\", expected an http:// or https:// URL".
func DecodeOptions(v any) (*Options, error) {
	raw := rawOptions{Options: Options{
		PublishTimeout:         DefaultPublishTimeout,
		PublishPoolIdleTimeout: DefaultPublishPoolIdleTimeout,
		CacheTTL:               DefaultCacheTTL,
	}}
	if v != nil {
		if err := optionsSchema.Decode(&raw, v); err != nil {
			return nil, err
		}
	}
	o := raw.Options
	o.PreFilter = raw.preFilter == nil || *raw.preFilter
	skip := DefaultSkipLogRecordTypes
	if raw.skipSet {
		skip = raw.skip
	}
	set := append(slices.Clone(skip), raw.additional...)
	slices.Sort(set)
	o.SkipLogRecordTypes = slices.Compact(set)
	if o.SkipLogRecordTypes == nil {
		o.SkipLogRecordTypes = []string{}
	}
	return &o, nil
}
