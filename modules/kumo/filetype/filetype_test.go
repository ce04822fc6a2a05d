package filetype

import (
	"reflect"
	"testing"
)

func TestFromBytes(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00")
	for _, c := range []struct {
		data []byte
		want Type
	}{
		{png, Type{"image/png", []string{"png"}, []string{"image/png"}}},
		{[]byte("%PDF-1.7\n"), Type{"application/pdf", []string{"pdf"}, []string{"application/pdf"}}},
		{[]byte("\x00\x01\x02\x03\xff"), Type{"application/octet-stream", nil, []string{"application/octet-stream"}}},
	} {
		got := FromBytes(c.data)
		if got.Name != c.want.Name || !reflect.DeepEqual(got.MediaTypes, c.want.MediaTypes) || len(got.Extensions) == 0 {
			t.Errorf("FromBytes(%q) = %+v, want %+v", c.data, got, c.want)
		}
	}
	// The extension comes from mimetype when mime.types lists none.
	if got := FromBytes([]byte("\xCA\xFE\xBA\xBE\x00\x00\x00\x34")); !reflect.DeepEqual(got.Extensions, []string{"class"}) {
		t.Errorf("java class: %+v", got)
	}
}

func TestFromExtensionAndMediaType(t *testing.T) {
	md := Type{"text/markdown", []string{"markdown", "md"}, []string{"text/markdown"}}
	if got := FromExtension("MarkDown"); !reflect.DeepEqual(got, []Type{md}) {
		t.Errorf("FromExtension = %+v", got)
	}
	if got := FromMediaType("Text/Markdown; charset=utf-8"); !reflect.DeepEqual(got, []Type{md}) {
		t.Errorf("FromMediaType = %+v", got)
	}
	if got := FromExtension("no-such-ext"); len(got) != 0 || got == nil {
		t.Errorf("unknown extension: %#v", got)
	}
	if got := FromMediaType("x-no/such"); len(got) != 0 || got == nil {
		t.Errorf("unknown media type: %#v", got)
	}
}
