package plain

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is a decoding or encoding error: a message and where in the value
// it occurred.
type Error struct {
	Path string // e.g. "protocol.custom_lua.batch_size" or "[2].name"; "" for the top level
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// AtField returns err located under the field or map key name: the path of
// an *Error gains name as its first segment; other errors become an *Error
// at name.
func AtField(err error, name string) error {
	return at(err, name)
}

// AtIndex returns err located under the 1-based sequence index i.
func AtIndex(err error, i int) error {
	return at(err, "["+strconv.Itoa(i)+"]")
}

func at(err error, seg string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if !errors.As(err, &e) {
		return &Error{Path: seg, Msg: err.Error()}
	}
	return &Error{Path: joinPath(seg, e.Path), Msg: e.Msg}
}

// joinPath appends the path rest below the segment seg (a key or an
// "[i]" index): "a" + "b[2]" is "a.b[2]", "a" + "[2]" is "a[2]".
func joinPath(seg, rest string) string {
	switch {
	case rest == "":
		return seg
	case seg == "":
		return rest
	case strings.HasPrefix(rest, "["):
		return seg + rest
	}
	return seg + "." + rest
}

// Custom returns an *Error with a free-form message (serde's
// `Error::custom`).
func Custom(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...)}
}

// InvalidType reports a value of the wrong kind:
// “invalid type: integer `5`, expected a string“.
func InvalidType(v any, expected string) error {
	return &Error{Msg: "invalid type: " + Describe(v) + ", expected " + expected}
}

// InvalidValue reports a value of the right kind that is out of range:
// “invalid value: integer `70000`, expected u16“.
func InvalidValue(v any, expected string) error {
	return &Error{Msg: "invalid value: " + Describe(v) + ", expected " + expected}
}

// UnknownField reports a key that is not a field. With expected nil the
// list is left out (KumoMTA structs with flattened members report only
// “unknown field `x` “).
func UnknownField(name string, expected []string) error {
	msg := "unknown field `" + name + "`"
	if expected != nil {
		msg += ", " + oneOf(expected, "fields")
	}
	return &Error{Msg: msg}
}

// UnknownVariant reports a string that names no variant of an enum.
func UnknownVariant(name string, expected []string) error {
	return &Error{Msg: "unknown variant `" + name + "`, " + oneOf(expected, "variants")}
}

// MissingField reports a required field that is absent.
func MissingField(name string) error {
	return &Error{Msg: "missing field `" + name + "`"}
}

// UntaggedMismatch is serde's error for a value matching no form of an
// untagged enum, with kumopolicy's hint about what was expected or why the
// closest form failed.
func UntaggedMismatch(enumName, hint string) error {
	msg := "data did not match any variant of untagged enum " + enumName
	if hint != "" {
		msg += " (" + hint + ")"
	}
	return &Error{Msg: msg}
}

// oneOf renders serde's list of alternatives.
func oneOf(names []string, what string) string {
	switch len(names) {
	case 0:
		return "there are no " + what
	case 1:
		return "expected `" + names[0] + "`"
	case 2:
		return "expected `" + names[0] + "` or `" + names[1] + "`"
	}
	var b strings.Builder
	b.WriteString("expected one of ")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("`" + n + "`")
	}
	return b.String()
}
