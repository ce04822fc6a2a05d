package kumo_test

import (
	"reflect"
	"strings"
	"testing"
)

func TestFileType(t *testing.T) {
	got := runRegex(t, `
local ft = kumo.file_type
local j = kumo.json_encode
return j(ft.from_bytes '%PDF-1.4\n'), j(ft.from_extension 'md'), j(ft.from_media_type 'image/png'),
  j(ft.from_extension 'nope'), #ft.from_bytes('').media_types`)
	want := []any{`{"extensions":["pdf"],"media_types":["application/pdf"],"name":"application/pdf"}`,
		`[{"extensions":["markdown","md"],"media_types":["text/markdown"],"name":"text/markdown"}]`,
		`[{"extensions":["png"],"media_types":["image/png"],"name":"image/png"}]`, `[]`, int64(1)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got, want)
	}
	if msg := runLuaErr(t, `kumo.file_type.from_extension()`); !strings.Contains(msg, "string expected") {
		t.Error(msg)
	}
}
