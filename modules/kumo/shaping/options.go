package shaping

import (
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// checkLevelEnum is CheckLevel as kumo.shaping.load's options spell it.
var checkLevelEnum = plain.Enum{Name: "CheckLevel", Variants: []string{"Ignore", "Warn", "Error"}}

func checkLevelField(name string, get func(*Options) *CheckLevel) plain.Field[Options] {
	return plain.Field[Options]{Name: name, Decode: func(o *Options, v any) error {
		s, err := checkLevelEnum.Decode(v)
		if err != nil {
			return err
		}
		*get(o), err = ParseCheckLevel(s, false)
		return err
	}}
}

// optionsSchema is kumo.shaping.load's options, in KumoMTA's order.
var optionsSchema = plain.NewSchema("ShapingOptions", true,
	checkLevelField("provider_overlap", func(o *Options) *CheckLevel { return &o.ProviderOverlap }),
	checkLevelField("dns_fail", func(o *Options) *CheckLevel { return &o.DNSFail }),
	checkLevelField("null_mx", func(o *Options) *CheckLevel { return &o.NullMX }),
	checkLevelField("aliased_site", func(o *Options) *CheckLevel { return &o.AliasedSite }),
	plain.BoolField("skip_remote", func(o *Options) *bool { return &o.SkipRemote }),
	checkLevelField("remote_load", func(o *Options) *CheckLevel { return &o.RemoteLoad }),
	checkLevelField("local_load", func(o *Options) *CheckLevel { return &o.LocalLoad }),
	plain.DurationField("http_timeout", func(o *Options) *time.Duration { return &o.HTTPTimeout }),
)

// DecodeOptions decodes kumo.shaping.load's options table from plain data
// strictly, starting from DefaultOptions (nil is the defaults). Check
// levels are `Ignore`, `Warn` or `Error`, exactly; http_timeout is a
// humantime string or a number of seconds. Errors are *plain.Error values
// carrying the option's path ("dns_fail: unknown variant `warn`, ...").
func DecodeOptions(v any) (Options, error) {
	opts := DefaultOptions()
	if v == nil {
		return opts, nil
	}
	if _, err := plain.AsMap(v, "a table of parameters"); err != nil {
		return opts, err
	}
	err := optionsSchema.Decode(&opts, v)
	return opts, err
}
