package egress

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// LimitSpec is KumoMTA's concurrency limit, as used by
// connection_limit and additional_connection_limits: a count of at least 1,
// optionally forced to be process-local.
type LimitSpec struct {
	Limit      uint64
	ForceLocal bool
}

// String renders the limit as KumoMTA displays it: "N" or "local:N".
func (l LimitSpec) String() string {
	if l.ForceLocal {
		return "local:" + strconv.FormatUint(l.Limit, 10)
	}
	return strconv.FormatUint(l.Limit, 10)
}

// Serialize returns the serialized (struct) form {limit=N, force_local=B}
// as an ordered map.
func (l LimitSpec) Serialize() *plain.Map {
	m := plain.NewMap(2)
	m.Set("limit", plain.UintValue(l.Limit))
	m.Set("force_local", l.ForceLocal)
	return m
}

// ParseLimitSpec parses the string form of a limit: an optional "local:"
// prefix, then a decimal count in which every '_' and ',' is ignored
// ("1,000", "1_000"). Zero is rejected. Error texts are KumoMTA's:
//
//	invalid limit 'three': invalid digit found in string
//	invalid LimitSpec `0`: limit must be greater than 0!
func ParseLimitSpec(s string) (LimitSpec, error) {
	rest, local := strings.CutPrefix(s, "local:")
	cleaned := removeSeparators(rest)
	n, reason := parseRustUint(cleaned, 64)
	if reason != "" {
		return LimitSpec{}, fmt.Errorf("invalid limit '%s': %s", cleaned, reason)
	}
	if n == 0 {
		return LimitSpec{}, fmt.Errorf("invalid LimitSpec `%s`: limit must be greater than 0!", rest)
	}
	return LimitSpec{Limit: n, ForceLocal: local}, nil
}

// limitFields are the keys of LimitSpec's struct form.
var limitFields = []string{"limit", "force_local"}

// DecodeLimitSpec converts plain data to a LimitSpec: an integer ≥ 1, a
// string (see ParseLimitSpec) or the struct form {limit=N, force_local=B}
// that LimitSpec serializes to.
func DecodeLimitSpec(v any) (LimitSpec, error) {
	const expecting = "string or numeric limit spec"
	switch x := v.(type) {
	case string:
		l, err := ParseLimitSpec(x)
		if err != nil {
			return LimitSpec{}, &plain.Error{Msg: err.Error()}
		}
		return l, nil
	case int64:
		if x < 1 {
			return LimitSpec{}, &plain.Error{Msg: "limit must be 1 or larger"}
		}
		return LimitSpec{Limit: uint64(x)}, nil
	case uint64:
		if x < 1 {
			return LimitSpec{}, &plain.Error{Msg: "limit must be 1 or larger"}
		}
		return LimitSpec{Limit: x}, nil
	case map[string]any:
		obj := plain.NewObject(x)
		var l LimitSpec
		if err := obj.Unknown(limitFields); err != nil {
			return LimitSpec{}, err
		}
		if err := obj.Required("limit", func(v any) (err error) { l.Limit, err = plain.DecodeUint(v, 64); return }); err != nil {
			return LimitSpec{}, err
		}
		if err := obj.Optional("force_local", func(v any) (err error) { l.ForceLocal, err = plain.DecodeBool(v); return }); err != nil {
			return LimitSpec{}, err
		}
		return l, nil
	}
	return LimitSpec{}, plain.InvalidType(v, expecting)
}
