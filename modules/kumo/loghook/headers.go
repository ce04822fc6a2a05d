package loghook

import (
	"bytes"
	"fmt"
	"mime"
	"net/mail"
	"strings"
)

// The header methods of a Message work on the RFC 5322 header block at the
// start of its data: fields up to the first empty line (CRLF or LF line
// endings), folded lines joined to their field. A data without an empty
// line is all header.

// MakeMessage builds a message from an envelope and a body, as
// kumo.make_message does; its meta starts empty.
func MakeMessage(sender string, recipients []string, body []byte) *Message {
	return &Message{
		id:         newID(),
		sender:     sender,
		recipients: append([]string(nil), recipients...),
		data:       append([]byte(nil), body...),
		meta:       map[string]any{},
	}
}

// SetSender replaces the envelope sender.
func (m *Message) SetSender(s string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sender = s
}

// SetRecipients replaces the envelope recipients.
func (m *Message) SetRecipients(rs []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.recipients = append([]string(nil), rs...)
}

// headerField is one field of the header block: its name and its raw
// bytes, folded lines and line ending included.
type headerField struct {
	name string
	raw  []byte
}

// value returns the field's value unfolded, without the leading and
// trailing white space.
func (f headerField) value() string {
	c := bytes.IndexByte(f.raw, ':')
	if c < 0 { // a name without a colon or value (MISSING_COLON_VALUE)
		return ""
	}
	v := f.raw[c+1:]
	s := strings.ReplaceAll(string(v), "\r\n", "")
	s = strings.ReplaceAll(s, "\n", "")
	return strings.Trim(s, " \t\r")
}

// splitHeader returns the fields of data's header block and the rest (the
// empty line and the body).
func splitHeader(data []byte) ([]headerField, []byte) {
	var fields []headerField
	rest := data
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, '\n') + 1
		if end == 0 {
			end = len(rest)
		}
		line := rest[:end]
		trimmed := bytes.TrimRight(line, "\r\n")
		switch {
		case len(trimmed) == 0:
			return fields, rest
		case (trimmed[0] == ' ' || trimmed[0] == '\t') && len(fields) > 0:
			f := &fields[len(fields)-1]
			f.raw = append(f.raw, line...)
		default:
			// Parsed leniently: a line without a colon is a field name
			// without a value (check_fix_conformance's MISSING_COLON_VALUE).
			name := trimmed
			if c := bytes.IndexByte(trimmed, ':'); c >= 0 {
				name = trimmed[:c]
			}
			fields = append(fields, headerField{name: string(bytes.TrimRight(name, " \t")), raw: append([]byte(nil), line...)})
		}
		rest = rest[end:]
	}
	return fields, rest
}

func joinHeader(fields []headerField, rest []byte) []byte {
	var b []byte
	for _, f := range fields {
		b = append(b, f.raw...)
	}
	return append(b, rest...)
}

// lineEnding is the line ending new fields get: LF when the header block
// uses bare LF, else CRLF.
func lineEnding(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] != '\r' {
		return "\n"
	}
	return "\r\n"
}

var wordDecoder = mime.WordDecoder{}

// decodeValue decodes RFC 2047 encoded words; a value that does not decode
// stays as it is.
func decodeValue(v string) string {
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		return d
	}
	return v
}

// FirstNamedHeader returns the decoded value of the first field called
// name (case-insensitively).
func (m *Message) FirstNamedHeader(name string) (string, bool) {
	fields, _ := splitHeader(m.Data())
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			return decodeValue(f.value()), true
		}
	}
	return "", false
}

// AllNamedHeaders returns the decoded values of every field called name.
func (m *Message) AllNamedHeaders(name string) []string {
	fields, _ := splitHeader(m.Data())
	var out []string
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, decodeValue(f.value()))
		}
	}
	return out
}

// RemoveAllNamedHeaders removes every field called name.
func (m *Message) RemoveAllNamedHeaders(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fields, rest := splitHeader(m.data)
	kept := fields[:0]
	for _, f := range fields {
		if !strings.EqualFold(f.name, name) {
			kept = append(kept, f)
		}
	}
	m.data = joinHeader(kept, rest)
}

// checkFieldName rejects names that cannot start a header field.
func checkFieldName(name string) error {
	if name == "" {
		return fmt.Errorf("header name must not be empty")
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("invalid header name %q", name)
		}
	}
	return nil
}

// encodeValue returns v as a header value: RFC 2047 encoded when it is
// not ASCII; line breaks are not allowed.
func encodeValue(v string) (string, error) {
	if strings.ContainsAny(v, "\r\n") {
		return "", fmt.Errorf("header value must not contain line breaks")
	}
	for _, c := range []byte(v) {
		if c >= 0x80 {
			return mime.QEncoding.Encode("utf-8", v), nil
		}
	}
	return v, nil
}

// AddHeader adds the field name: value at the start of the header block
// (prepend) or after its last field.
func (m *Message) AddHeader(name, value string, prepend bool) error {
	if err := checkFieldName(name); err != nil {
		return err
	}
	v, err := encodeValue(value)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.addRawLocked(name, []byte(name+": "+v+lineEnding(m.data)), prepend)
	return nil
}

// PrependRawHeader puts a complete field (such as a DKIM-Signature made
// with CRLF line endings) at the start of the header block, in the line
// ending the message uses.
func (m *Message) PrependRawHeader(raw string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b := []byte(raw)
	if lineEnding(m.data) == "\n" {
		b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	}
	m.addRawLocked("", b, true)
}

func (m *Message) addRawLocked(name string, raw []byte, prepend bool) {
	fields, rest := splitHeader(m.data)
	f := headerField{name: name, raw: raw}
	if prepend {
		fields = append([]headerField{f}, fields...)
	} else {
		fields = append(fields, f)
	}
	if len(rest) == 0 {
		// No empty line yet: the header block needs one before a body.
		m.data = joinHeader(fields, nil)
		return
	}
	m.data = joinHeader(fields, rest)
}

// Address is one mailbox of an address header.
type Address struct {
	Name  string // display name, "" when none
	Email string // local@domain
}

// User is the local part of the address.
func (a Address) User() string {
	if at := strings.LastIndexByte(a.Email, '@'); at >= 0 {
		return a.Email[:at]
	}
	return a.Email
}

// Domain is the domain of the address.
func (a Address) Domain() string {
	if at := strings.LastIndexByte(a.Email, '@'); at >= 0 {
		return a.Email[at+1:]
	}
	return ""
}

// AddressHeader parses the first field called name as an address list;
// ok is false when there is no such field.
func (m *Message) AddressHeader(name string) (addrs []Address, ok bool, err error) {
	fields, _ := splitHeader(m.Data())
	for _, f := range fields {
		if !strings.EqualFold(f.name, name) {
			continue
		}
		list, err := mail.ParseAddressList(f.value())
		if err != nil {
			return nil, true, fmt.Errorf("parsing the %s header %q: %w", name, f.value(), err)
		}
		for _, a := range list {
			addrs = append(addrs, Address{Name: a.Name, Email: a.Address})
		}
		return addrs, true, nil
	}
	return nil, false, nil
}

// HeaderNames returns the names of the header block's fields, in order.
func (m *Message) HeaderNames() []string {
	fields, _ := splitHeader(m.Data())
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}
