package plain

import (
	"testing"
)

type schemaInner struct {
	Flag *bool
	Kind *string
}

type schemaOuter struct {
	Name  string
	Count uint64
	Tags  []string
	Inner schemaInner
}

func schemaFields() []Field[schemaOuter] {
	inner := []Field[schemaInner]{
		OptBoolField("flag", func(i *schemaInner) **bool { return &i.Flag }),
		OptEnumField("kind", Enum{Name: "Kind", Variants: []string{"A", "B"}}, func(i *schemaInner) **string { return &i.Kind }),
	}
	return append([]Field[schemaOuter]{
		StringField("name", func(o *schemaOuter) *string { return &o.Name }).Req(),
		UintField("count", 64, func(o *schemaOuter) *uint64 { return &o.Count }),
		StringListField("tags", func(o *schemaOuter) *[]string { return &o.Tags }),
	}, Embed(func(o *schemaOuter) *schemaInner { return &o.Inner }, inner)...)
}

func TestSchemaModes(t *testing.T) {
	// Two faults: an invalid "count" and an unknown "zz" (sorted after it),
	// or an unknown "aa" (sorted before "count").
	badCountUnknownLate := map[string]any{"name": "x", "count": "many", "zz": true}
	badCountUnknownEarly := map[string]any{"name": "x", "count": "many", "aa": true}
	cases := []struct {
		schema *Schema[schemaOuter]
		in     any
		want   string
	}{
		{NewSchema("S", true, schemaFields()...), badCountUnknownLate,
			"unknown field `zz`, expected one of `name`, `count`, `tags`, `flag`, `kind`"},
		{NewSchema("S", true, schemaFields()...).InKeyOrder(), badCountUnknownLate,
			`count: invalid type: string "many", expected usize`},
		{NewSchema("S", true, schemaFields()...).InKeyOrder(), badCountUnknownEarly,
			"unknown field `aa`, expected one of `name`, `count`, `tags`, `flag`, `kind`"},
		{NewSchema("S", false, schemaFields()...), map[string]any{"name": "x", "nam": 1},
			"unknown field `nam`, did you mean `name`?"},
		{NewSchema("S", false, schemaFields()...).Flattened(), map[string]any{"name": "x", "nam": 1},
			"unknown field `nam`"},
		{NewSchema("S", true, schemaFields()...).Flattened().InKeyOrder(), map[string]any{"name": "x", "nam": 1},
			"unknown field `nam`"},
		{NewSchema("S", true, schemaFields()...).IgnoreUnknown(), badCountUnknownEarly,
			`count: invalid type: string "many", expected usize`},
		{NewSchema("S", true, schemaFields()...).IgnoreUnknown().InKeyOrder(), map[string]any{"aa": 1},
			"missing field `name`"},
		{NewSchema("S", true, schemaFields()...).InKeyOrder(), map[string]any{"name": "x", "kind": "C"},
			"kind: unknown variant `C`, expected `A` or `B`"},
		{NewSchema("S", true, schemaFields()...).InKeyOrder(), map[string]any{"name": "x", "tags": []any{"a", 2}},
			"tags[2]: invalid type: integer `2`, expected a string"},
		{NewSchema("S", true, schemaFields()...).InKeyOrder(), []any{int64(1)},
			"invalid type: sequence, expected struct S"},
	}
	for i, c := range cases {
		var o schemaOuter
		err := c.schema.Decode(&o, c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("case %d: error = %v, want %q", i, err, c.want)
		}
	}
}

func TestSchemaInKeyOrderDecodesEmbedded(t *testing.T) {
	s := NewSchema("S", true, schemaFields()...).InKeyOrder()
	in := NewMap(4)
	in.Set("kind", "B")
	in.Set("name", "n")
	in.Set("flag", true)
	in.Set("other", nil)
	var o schemaOuter
	err := NewSchema("S", true, schemaFields()...).IgnoreUnknown().InKeyOrder().Decode(&o, in)
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "n" || o.Inner.Flag == nil || !*o.Inner.Flag || o.Inner.Kind == nil || *o.Inner.Kind != "B" {
		t.Errorf("decoded %+v", o)
	}
	if err := s.Decode(&o, in); err == nil || err.Error() != "unknown field `other`, expected one of `name`, `count`, `tags`, `flag`, `kind`" {
		t.Errorf("strict decode error = %v", err)
	}
	enc := s.Encode(&o).Plain(false)
	if enc["flag"] != true || enc["kind"] != "B" || enc["name"] != "n" {
		t.Errorf("encoded %v", enc)
	}
}

func TestDecodeUintAs(t *testing.T) {
	if _, err := DecodeUintAs(int64(-1), 64, "u64"); err == nil || err.Error() != "invalid value: integer `-1`, expected u64" {
		t.Errorf("error = %v", err)
	}
	if n, err := DecodeUintAs(int64(7), 64, "u64"); err != nil || n != 7 {
		t.Errorf("= %d, %v", n, err)
	}
}
