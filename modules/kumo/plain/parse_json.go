package plain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// SyntaxError reports malformed JSON or TOML text with its position, in
// serde_json's shape, "<message> at line 3 column 7"; the messages
// themselves are kumopolicy's own, not serde_json's texts. Line and Column
// count from 1; Column counts bytes.
type SyntaxError struct {
	Msg    string
	Line   int
	Column int
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at line %d column %d", e.Msg, e.Line, e.Column)
}

// syntaxErrorAt returns a *SyntaxError for the byte offset off in data.
func syntaxErrorAt(data []byte, off int, msg string) *SyntaxError {
	line, col := position(data, off)
	return &SyntaxError{Msg: msg, Line: line, Column: col}
}

// position converts a byte offset in data to a 1-based line and column.
func position(data []byte, off int) (line, col int) {
	off = max(0, min(off, len(data)))
	line = 1 + bytes.Count(data[:off], []byte{'\n'})
	return line, off - bytes.LastIndexByte(data[:off], '\n')
}

// ParseOptions select what ParseJSON accepts and produces. The zero value
// parses any strict JSON value into unordered plain data.
type ParseOptions struct {
	// Ordered makes objects *Map values, in document order, rather than
	// map[string]any.
	Ordered bool
	// Object requires the text to hold one object.
	Object bool
	// Comments accepts `//`, `#` and `/* */` comments (see StripComments).
	Comments bool
	// TrailingCommas accepts a comma before a closing } or ].
	TrailingCommas bool
	// NullError, when set, rejects null with this message.
	NullError string
	// UniqueKeys rejects an object with a key twice; otherwise the last
	// value wins.
	UniqueKeys bool
}

// Leniency records what a lenient parse had to forgive.
type Leniency struct {
	Comments       bool // the text had // /* */ or # comments
	TrailingCommas bool // the text had a comma before } or ]
}

// Any reports whether the text relied on any leniency.
func (l Leniency) Any() bool { return l.Comments || l.TrailingCommas }

func (l Leniency) String() string {
	switch {
	case l.Comments && l.TrailingCommas:
		return "comments and trailing commas"
	case l.Comments:
		return "comments"
	case l.TrailingCommas:
		return "trailing commas"
	}
	return ""
}

// ParseJSON parses the single JSON value data holds: kumopolicy's one JSON
// reader (kumo.json_parse, shaping files, log records). Numbers written as
// integers that fit in an int64 become int64, other numbers float64;
// integers beyond int64 become the nearest float64. Numbers too large for a
// float64 are an error, as are trailing characters after the value. Syntax
// errors are *SyntaxError values. The returned Leniency says which of the
// leniencies opt allowed the text used.
func ParseJSON(data []byte, opt ParseOptions) (any, Leniency, error) {
	var lenient Leniency
	if opt.Comments {
		stripped, err := StripComments(data)
		if err != nil {
			return nil, lenient, err
		}
		lenient.Comments = !bytes.Equal(stripped, data)
		data = stripped
	}
	if opt.TrailingCommas {
		data, lenient.TrailingCommas = stripTrailingCommas(data)
	}
	p := jsonParser{src: data, opt: opt, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	var v any
	var err error
	if opt.Ordered || opt.NullError != "" || opt.UniqueKeys || opt.Object {
		v, err = p.value(true)
	} else {
		// Nothing to check inside the value: decode it in one go.
		if err = p.dec.Decode(&v); err != nil {
			err = p.syntaxError(err, true)
		} else {
			v, err = convertNumbers(v)
		}
	}
	if err != nil {
		return nil, lenient, err
	}
	// Anything but whitespace after the value is an error.
	for i := int(p.dec.InputOffset()); i < len(data); i++ {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return nil, lenient, syntaxErrorAt(data, i, "trailing characters after the JSON value")
	}
	return v, lenient, nil
}

type jsonParser struct {
	src []byte
	opt ParseOptions
	dec *json.Decoder
}

// syntaxError adds a line and column to an encoding/json error.
func (p *jsonParser) syntaxError(err error, first bool) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return syntaxErrorAt(p.src, p.offendingByte(se), se.Error())
	case errors.Is(err, io.EOF) && first:
		return syntaxErrorAt(p.src, len(p.src), "expected a JSON value but found end of input")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return syntaxErrorAt(p.src, len(p.src), "unexpected end of input")
	}
	return syntaxErrorAt(p.src, int(p.dec.InputOffset()), err.Error())
}

// offendingByte returns the offset of the byte a *json.SyntaxError is
// about. Decode's errors count the bytes read, the offending one included;
// Token's own errors give the offset of the offending byte. When the
// message quotes the character, the offset is the one that holds it.
func (p *jsonParser) offendingByte(se *json.SyntaxError) int {
	off := int(se.Offset) - 1
	msg := se.Error()
	if rest, ok := strings.CutPrefix(msg, "invalid character '"); ok && off+1 < len(p.src) && off >= 0 {
		if !strings.HasPrefix(rest, string(p.src[off])) && strings.HasPrefix(rest, string(p.src[off+1])) {
			return off + 1
		}
	}
	return off
}

func (p *jsonParser) value(top bool) (any, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntaxError(err, top)
	}
	if top && p.opt.Object {
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, syntaxErrorAt(p.src, 0, "expected a JSON object at the top level")
		}
	}
	switch x := tok.(type) {
	case json.Delim:
		if x == '{' {
			return p.object()
		}
		arr := []any{}
		for p.dec.More() {
			v, err := p.value(false)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := p.dec.Token(); err != nil {
			return nil, p.syntaxError(err, false)
		}
		return arr, nil
	case json.Number:
		n, err := numberFromJSON(x)
		if err != nil {
			return nil, syntaxErrorAt(p.src, int(p.dec.InputOffset()), err.Error())
		}
		return n, nil
	case nil:
		if p.opt.NullError != "" {
			return nil, syntaxErrorAt(p.src, int(p.dec.InputOffset()), p.opt.NullError)
		}
	}
	return tok, nil
}

func (p *jsonParser) object() (any, error) {
	var ordered *Map
	var unordered map[string]any
	if p.opt.Ordered {
		ordered = NewMap(0)
	} else {
		unordered = map[string]any{}
	}
	for p.dec.More() {
		tok, err := p.dec.Token()
		if err != nil {
			return nil, p.syntaxError(err, false)
		}
		key := tok.(string)
		if p.opt.UniqueKeys {
			dup := false
			if ordered != nil {
				dup = ordered.Has(key)
			} else {
				_, dup = unordered[key]
			}
			if dup {
				return nil, syntaxErrorAt(p.src, int(p.dec.InputOffset()), "duplicate key "+Quote(key))
			}
		}
		v, err := p.value(false)
		if err != nil {
			return nil, err
		}
		if ordered != nil {
			ordered.Set(key, v)
		} else {
			unordered[key] = v
		}
	}
	if _, err := p.dec.Token(); err != nil { // the closing }
		return nil, p.syntaxError(err, false)
	}
	if ordered != nil {
		return ordered, nil
	}
	return unordered, nil
}

// convertNumbers replaces json.Number values in decoded data by int64 or
// float64, in place.
func convertNumbers(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		return numberFromJSON(x)
	case []any:
		for i, e := range x {
			n, err := convertNumbers(e)
			if err != nil {
				return nil, err
			}
			x[i] = n
		}
	case map[string]any:
		for k, e := range x {
			n, err := convertNumbers(e)
			if err != nil {
				return nil, err
			}
			x[k] = n
		}
	}
	return v, nil
}

// stripTrailingCommas blanks every comma that (outside strings) is followed
// only by white space before a closing } or ]. Offsets are preserved.
func stripTrailingCommas(src []byte) ([]byte, bool) {
	var out []byte
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		if c != ',' {
			continue
		}
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
			j++
		}
		if j < len(src) && (src[j] == '}' || src[j] == ']') {
			if out == nil {
				out = append([]byte(nil), src...)
			}
			out[i] = ' '
		}
	}
	if out == nil {
		return src, false
	}
	return out, true
}
