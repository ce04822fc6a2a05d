package plain

import (
	"testing"
	"time"
)

func TestDecodeDuration(t *testing.T) {
	ok := []struct {
		in   any
		want time.Duration
	}{
		{"5 minutes", 5 * time.Minute},
		{"1h 30m", 90 * time.Minute},
		{int64(60), time.Minute},
		{int64(0), 0},
		{1.5, 1500 * time.Millisecond},
	}
	for _, c := range ok {
		got, err := DecodeDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("DecodeDuration(%#v) = %v, %v", c.in, got, err)
		}
	}
	bad := []struct {
		in   any
		want string
	}{
		{"5 parsecs", `invalid value: string "5 parsecs", expected a duration`},
		{"10", `invalid value: string "10", expected a duration`},
		{true, "invalid type: boolean `true`, expected a duration"},
		{map[string]any{}, "invalid type: map, expected a duration"},
		{int64(-1), "duration must either be a string or a positive integer specifying the number of seconds. (error: out of range integral type conversion attempted)"},
	}
	for _, c := range bad {
		_, err := DecodeDuration(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("DecodeDuration(%#v) error = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestDecodePrimitives(t *testing.T) {
	cases := []struct {
		got  error
		want string
	}{
		{second(DecodeUint(5.5, 64)), "invalid type: floating point `5.5`, expected usize"},
		{second(DecodeUint(int64(-1), 64)), "invalid value: integer `-1`, expected usize"},
		{second(DecodeUint(int64(70000), 16)), "invalid value: integer `70000`, expected u16"},
		{second(DecodeUint("5", 32)), `invalid type: string "5", expected u32`},
		{second(DecodeBool(int64(1))), "invalid type: integer `1`, expected a boolean"},
		{second(DecodeBool("true")), `invalid type: string "true", expected a boolean`},
		{second(DecodeString(true)), "invalid type: boolean `true`, expected a string"},
		{second(DecodeEnum("opportunistic", "Tls", []string{"Opportunistic", "OpportunisticInsecure", "Required", "RequiredInsecure", "Disabled"})), "unknown variant `opportunistic`, expected one of `Opportunistic`, `OpportunisticInsecure`, `Required`, `RequiredInsecure`, `Disabled`"},
		{second(DecodeEnum("x", "ConfigRefreshStrategy", []string{"Ttl", "Epoch"})), "unknown variant `x`, expected `Ttl` or `Epoch`"},
		{second(DecodeEnum(int64(1), "ConfigRefreshStrategy", []string{"Ttl", "Epoch"})), "invalid type: integer `1`, expected enum ConfigRefreshStrategy"},
		{second(DecodeStringList([]any{"a", false})), "[2]: invalid type: boolean `false`, expected a string"},
		{UnknownField("x", nil), "unknown field `x`"},
		{UnknownField("x", []string{}), "unknown field `x`, there are no fields"},
		{UnknownField("x", []string{"a"}), "unknown field `x`, expected `a`"},
		{AtField(AtIndex(AtField(Custom("boom"), "weight"), 2), "entries"), "entries[2].weight: boom"},
		{InvalidType("a\"b\n", "x"), `invalid type: string "a\"b\n", expected x`},
		{InvalidType(1e21, "x"), "invalid type: floating point `1000000000000000000000.0`, expected x"},
	}
	for i, c := range cases {
		if c.got == nil || c.got.Error() != c.want {
			t.Errorf("%d: got %v, want %q", i, c.got, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }
