package kumod

import (
	"reflect"
	"testing"
)

func TestDecodeSpawnTask(t *testing.T) {
	valid := []struct {
		name string
		in   any
		want SpawnTask
	}{
		{"arguments", map[string]any{"event_name": "w", "args": []any{int64(1), "x", map[string]any{"k": true}}},
			SpawnTask{EventName: "w", Args: []any{int64(1), "x", map[string]any{"k": true}}}},
		{"empty table", map[string]any{"event_name": "w", "args": map[string]any{}}, SpawnTask{EventName: "w", Args: []any{}}},
		{"empty sequence", map[string]any{"event_name": "w", "args": []any{}}, SpawnTask{EventName: "w", Args: []any{}}},
	}
	for _, c := range valid {
		got, err := DecodeSpawnTask(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, %v; want %#v", c.name, got, err, c.want)
		}
	}

	invalid := []struct {
		name string
		in   any
		want string
	}{
		{"not a table", "w", `invalid type: string "w", expected a table of parameters`},
		{"missing args", map[string]any{"event_name": "w"}, "missing field `args`"},
		{"missing event", map[string]any{"args": []any{}}, "missing field `event_name`"},
		{"unknown", map[string]any{"event_name": "w", "args": []any{}, "extra": int64(1)}, "unknown field `extra`, expected `event_name` or `args`"},
		{"event type", map[string]any{"event_name": int64(3), "args": []any{}}, "event_name: invalid type: integer `3`, expected a string"},
		{"args type", map[string]any{"event_name": "w", "args": "x"}, `args: invalid type: string "x", expected a sequence`},
		{"args map", map[string]any{"event_name": "w", "args": map[string]any{"a": int64(1)}}, "args: invalid type: map, expected a sequence"},
	}
	for _, c := range invalid {
		_, err := DecodeSpawnTask(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}
