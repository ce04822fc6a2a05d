package shaping

import (
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/regex"
)

// DefaultEnv wires the loader to kumopolicy's own value grammars and regex
// engine, with dns for MX resolution (nil: mx_rollup domains cannot be
// resolved and are reported under dns_fail).
func DefaultEnv(dns DNS) Env {
	return Env{
		DNS:            dns,
		ValidateParams: validateEgressParams,
		LimitSpec: func(v any) (string, error) {
			l, err := egress.DecodeLimitSpec(plain.Unordered(v, true))
			return l.String(), err
		},
		ThrottleSpec: func(v any) (string, error) {
			t, err := egress.DecodeThrottleSpec(plain.Unordered(v, true))
			return t.String(), err
		},
		Duration: func(v any) (time.Duration, error) {
			return plain.DecodeDuration(plain.Unordered(v, true))
		},
		CompileRegex: func(p string) (Matcher, error) { return regex.Compile(p) },
	}
}

// validateEgressParams parses params on their own as a complete egress
// path config (unknown fields rejected, missing ones defaulted).
func validateEgressParams(params *plain.Map) error {
	_, err := egress.DecodeEgressPathConfig(params.Plain(true))
	return err
}
