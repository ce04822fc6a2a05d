// Package filetype is the Lua-free core of kumo.file_type: file types from
// content, from a filename extension and from a media type.
//
// Data sources, and how they differ from KumoMTA's: KumoMTA uses the Rust
// file_type crate, whose database merges PRONOM, Wikidata, Apache httpd's
// mime.types and GitHub Linguist and names types by PRONOM or Wikidata
// ("Java class file", "Q1193600"). That database is not available to
// kumopolicy. Here content is recognized by github.com/gabriel-vasile/mimetype's
// signatures, and extensions and media types come from Debian's
// media-types mime.types (public domain, embedded as mime.types), which
// derives from Apache's and IANA's. Neither has human-readable names, so a
// type's Name is its media type; a media type has the extensions that
// mime.types lists for it (or mimetype's one when it lists none).
package filetype

import (
	"bufio"
	_ "embed"
	"sort"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// Type is a file type: what kumo.file_type calls a FileTypeResult.
type Type struct {
	Name       string
	Extensions []string // without the dot, sorted
	MediaTypes []string // sorted
}

//go:embed mime.types
var mimeTypes string

type table struct {
	types []string            // media types in file order
	exts  map[string][]string // media type -> extensions
	byExt map[string][]string // extension -> media types
}

var tbl = parse(mimeTypes)

func parse(src string) *table {
	t := &table{exts: map[string][]string{}, byExt: map[string][]string{}}
	sc := bufio.NewScanner(strings.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		mt := strings.ToLower(f[0])
		if _, seen := t.exts[mt]; !seen {
			t.types = append(t.types, mt)
			t.exts[mt] = nil
		}
		for _, e := range f[1:] {
			e = strings.ToLower(e)
			t.exts[mt] = append(t.exts[mt], e)
			t.byExt[e] = append(t.byExt[e], mt)
		}
	}
	return t
}

func (t *table) typeFor(mt string) Type {
	exts := append([]string(nil), t.exts[mt]...)
	sort.Strings(exts)
	if exts == nil {
		exts = []string{}
	}
	return Type{Name: mt, Extensions: exts, MediaTypes: []string{mt}}
}

// FromBytes always returns a guess at the type of data:
// application/octet-stream when nothing more specific matches.
func FromBytes(data []byte) Type {
	m := mimetype.Detect(data)
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(m.String(), ";", 2)[0]))
	ft := tbl.typeFor(mt)
	if len(ft.Extensions) == 0 {
		if e := strings.TrimPrefix(m.Extension(), "."); e != "" {
			ft.Extensions = []string{e}
		}
	}
	return ft
}

// FromExtension returns the types that have extension ext (without the
// dot; case does not matter), in mime.types order.
func FromExtension(ext string) []Type {
	out := []Type{}
	for _, mt := range tbl.byExt[strings.ToLower(strings.TrimPrefix(ext, "."))] {
		out = append(out, tbl.typeFor(mt))
	}
	return out
}

// FromMediaType returns the types of media type mt (parameters and case do
// not matter): none when the table does not know it.
func FromMediaType(mt string) []Type {
	mt = strings.ToLower(strings.TrimSpace(strings.SplitN(mt, ";", 2)[0]))
	if _, ok := tbl.exts[mt]; !ok {
		return []Type{}
	}
	return []Type{tbl.typeFor(mt)}
}
