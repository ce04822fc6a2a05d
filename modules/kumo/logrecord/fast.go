package logrecord

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"
)

// parseFast decodes a record straight from the JSON text, without building
// the generic map the reference path (parseSlow) decodes. It only ever
// accepts: any text it is not certain the reference path accepts with
// exactly this Record — a syntax error, a wrong type, a missing field, a
// value out of range, an escaped key, deep nesting — makes it give up
// (ok false), and ParseJSON then runs the reference path, which decides and
// words the error. Its acceptance mirrors the reference path's:
// encoding/json's grammar (invalid UTF-8 inside strings allowed, replaced
// as encoding/json replaces it), every number finite as a float64, only
// white space after the object, the last of duplicate keys winning, null
// meaning absent.
func parseFast(data []byte) (*Record, bool) {
	s := scanner{data: data}
	s.ws()
	if s.pos >= len(data) || data[s.pos] != '{' {
		return nil, false
	}
	r := &Record{}
	var have uint32
	var size, timestamp, created, attempts int64
	var eventTime string
	set := func(bit uint32, present bool) {
		if present {
			have |= bit
		} else {
			have &^= bit
		}
	}
	ok := s.object(func(key []byte) bool {
		switch string(key) {
		case "type":
			v, null, ok := s.str()
			r.Type = v
			set(fType, !null)
			return ok
		case "id":
			v, null, ok := s.str()
			r.ID = v
			set(fID, !null)
			return ok
		case "sender":
			v, null, ok := s.str()
			r.Sender = v
			set(fSender, !null)
			return ok
		case "recipient":
			v, null, ok := s.recipients()
			r.Recipients = v
			set(fRecipient, !null)
			return ok
		case "queue":
			v, null, ok := s.str()
			r.Queue = v
			set(fQueue, !null)
			return ok
		case "site":
			v, null, ok := s.str()
			r.Site = v
			set(fSite, !null)
			return ok
		case "size":
			v, null, ok := s.int()
			size = v
			set(fSize, !null)
			return ok
		case "response":
			v, null, ok := s.response()
			r.Response = v
			set(fResponse, !null)
			return ok
		case "timestamp":
			v, null, ok := s.int()
			timestamp = v
			set(fTimestamp, !null)
			return ok
		case "created":
			v, null, ok := s.int()
			created = v
			set(fCreated, !null)
			return ok
		case "num_attempts":
			v, null, ok := s.int()
			attempts = v
			set(fAttempts, !null)
			return ok
		case "bounce_classification":
			v, null, ok := s.str()
			r.BounceClassification = v
			set(fBounce, !null)
			return ok
		case "meta":
			null, ok := s.mapValue()
			set(fMeta, !null)
			return ok
		case "headers":
			null, ok := s.mapValue()
			set(fHeaders, !null)
			return ok
		case "nodeid":
			v, null, ok := s.str()
			r.NodeID = v
			set(fNodeID, !null)
			return ok
		case "event_time":
			v, _, ok := s.str()
			eventTime = v
			return ok
		case "egress_source":
			v, null, ok := s.str()
			r.EgressSource = v
			r.EgressSourceSet = !null
			return ok
		case "egress_pool":
			v, _, ok := s.str()
			r.EgressPool = v
			return ok
		case "reception_protocol":
			v, _, ok := s.str()
			r.ReceptionProtocol = v
			return ok
		}
		return s.skip()
	})
	if !ok || have != fRequired {
		return nil, false
	}
	if s.peek() != 0 || s.pos < len(data) { // trailing characters
		return nil, false
	}
	if !validType(r.Type) || !uuidRe.MatchString(r.NodeID) ||
		size < 0 || attempts < 0 || attempts > math.MaxUint16 {
		return nil, false
	}
	r.Size = uint64(size)
	r.Timestamp = timestamp
	r.Created = created
	r.NumAttempts = uint16(attempts)
	if eventTime != "" {
		t, err := ParseEventTime(eventTime)
		if err != nil {
			return nil, false
		}
		r.EventTime = t
	}
	return r, true
}

// The required fields, as bits of parseFast's have.
const (
	fType uint32 = 1 << iota
	fID
	fSender
	fRecipient
	fQueue
	fSite
	fSize
	fResponse
	fTimestamp
	fCreated
	fAttempts
	fBounce
	fMeta
	fHeaders
	fNodeID
	fRequired = 1<<iota - 1
)

// maxFastDepth is the nesting parseFast follows; deeper text (legal up to
// encoding/json's own limit) goes to the reference path.
const maxFastDepth = 200

// scanner walks JSON text; its methods return ok false on anything
// parseFast leaves to the reference path.
type scanner struct {
	data  []byte
	pos   int
	depth int
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek skips white space and returns the next byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// object walks an object at s.pos, calling field for each key with s.pos
// at the key's value; field must consume the value. Keys with escapes are
// left to the reference path.
func (s *scanner) object(field func(key []byte) bool) bool {
	if s.peek() != '{' {
		return false
	}
	s.pos++
	if s.depth++; s.depth > maxFastDepth {
		return false
	}
	if s.peek() == '}' {
		s.pos++
		s.depth--
		return true
	}
	for {
		a, b, esc, ok := s.rawString()
		if !ok || esc {
			return false
		}
		if s.peek() != ':' {
			return false
		}
		s.pos++
		if s.peek() == 0 || !field(s.data[a:b]) {
			return false
		}
		switch s.peek() {
		case ',':
			s.pos++
			s.ws()
		case '}':
			s.pos++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// rawString scans a string at s.pos and returns its contents' span; esc
// reports a backslash in it.
func (s *scanner) rawString() (a, b int, esc, ok bool) {
	if s.peek() != '"' {
		return 0, 0, false, false
	}
	s.pos++
	a = s.pos
	d := s.data
	for i := s.pos; i < len(d); i++ {
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return a, i, esc, true
		case c == '\\':
			esc = true
			i++
			if i >= len(d) {
				return 0, 0, false, false
			}
			switch d[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(d) || !isHex(d[i+1]) || !isHex(d[i+2]) || !isHex(d[i+3]) || !isHex(d[i+4]) {
					return 0, 0, false, false
				}
				i += 4
			default:
				return 0, 0, false, false
			}
		case c < 0x20:
			return 0, 0, false, false
		}
	}
	return 0, 0, false, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// null consumes a null at s.pos.
func (s *scanner) null() bool {
	if bytes.HasPrefix(s.data[s.pos:], []byte("null")) {
		s.pos += 4
		return true
	}
	return false
}

// str reads a string or null.
func (s *scanner) str() (v string, null, ok bool) {
	if s.peek() == 'n' {
		return "", true, s.null()
	}
	start := s.pos
	a, b, esc, ok := s.rawString()
	if !ok {
		return "", false, false
	}
	raw := s.data[a:b]
	if esc || !utf8.Valid(raw) {
		// encoding/json's own unquoting (escapes, invalid UTF-8 replaced).
		if json.Unmarshal(s.data[start:s.pos], &v) != nil {
			return "", false, false
		}
		return v, false, true
	}
	return string(raw), false, true
}

// int reads an integer (a JSON number without fraction or exponent that
// fits an int64) or null.
func (s *scanner) int() (v int64, null, ok bool) {
	if s.peek() == 'n' {
		return 0, true, s.null()
	}
	tok, isInt, ok := s.number()
	if !ok || !isInt {
		return 0, false, false
	}
	if len(tok) <= 18 { // cannot overflow: convert without allocating
		neg := tok[0] == '-'
		if neg {
			tok = tok[1:]
		}
		for _, c := range tok {
			v = v*10 + int64(c-'0')
		}
		if neg {
			v = -v
		}
		return v, false, true
	}
	v, err := strconv.ParseInt(string(tok), 10, 64)
	return v, false, err == nil
}

// number scans a JSON number; isInt reports neither fraction nor exponent.
func (s *scanner) number() (tok []byte, isInt, ok bool) {
	d, i := s.data, s.pos
	start := i
	digits := func() bool {
		j := i
		for i < len(d) && '0' <= d[i] && d[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return nil, false, false
	}
	isInt = true
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return nil, false, false
		}
		isInt = false
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return nil, false, false
		}
		isInt = false
	}
	s.pos = i
	return d[start:i], isInt, true
}

// skip consumes any value, checking it as the reference path would: its
// syntax, and every number finite as a float64.
func (s *scanner) skip() bool {
	switch c := s.peek(); c {
	case '"':
		_, _, _, ok := s.rawString()
		return ok
	case '{':
		return s.object(func([]byte) bool { return s.skip() })
	case '[':
		return s.array(s.skip)
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.null()
	default:
		if c != '-' && (c < '0' || c > '9') {
			return false
		}
		tok, isInt, ok := s.number()
		if !ok {
			return false
		}
		if isInt && len(tok) <= 18 {
			return true
		}
		return finite(string(tok))
	}
}

// finite reports whether the JSON number n converts as plain's JSON
// reader converts numbers: to an int64, or to a float64 that is not
// infinite (an underflow to zero is fine).
func finite(n string) bool {
	if _, err := strconv.ParseInt(n, 10, 64); err == nil {
		return true
	}
	f, err := strconv.ParseFloat(n, 64)
	return err == nil || !math.IsInf(f, 0) && errors.Is(err, strconv.ErrRange)
}

func (s *scanner) literal(word string) bool {
	if bytes.HasPrefix(s.data[s.pos:], []byte(word)) {
		s.pos += len(word)
		return true
	}
	return false
}

// array walks an array at s.pos, calling elem with s.pos at each element.
func (s *scanner) array(elem func() bool) bool {
	if s.peek() != '[' {
		return false
	}
	s.pos++
	if s.depth++; s.depth > maxFastDepth {
		return false
	}
	if s.peek() == ']' {
		s.pos++
		s.depth--
		return true
	}
	for {
		if s.peek() == 0 || !elem() {
			return false
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// recipients reads a string, an array of strings, or null.
func (s *scanner) recipients() (v []string, null, ok bool) {
	switch s.peek() {
	case 'n':
		return nil, true, s.null()
	case '[':
		out := []string{}
		ok := s.array(func() bool {
			e, null, ok := s.str()
			out = append(out, e)
			return ok && !null
		})
		return out, false, ok
	}
	e, null, ok := s.str()
	if !ok || null {
		return nil, false, false
	}
	return []string{e}, false, true
}

// mapValue consumes meta or headers: an object, an empty array, or null.
func (s *scanner) mapValue() (null, ok bool) {
	switch s.peek() {
	case 'n':
		return true, s.null()
	case '[':
		return false, s.array(func() bool { return false })
	}
	return false, s.skipObject()
}

func (s *scanner) skipObject() bool {
	return s.object(func([]byte) bool { return s.skip() })
}

// response reads the response object or null.
func (s *scanner) response() (resp Response, null, ok bool) {
	if s.peek() == 'n' {
		return Response{}, true, s.null()
	}
	const (
		rCode = 1 << iota
		rContent
	)
	var have int
	var code int64
	ok = s.object(func(key []byte) bool {
		switch string(key) {
		case "code":
			v, null, ok := s.int()
			code = v
			have = setBit(have, rCode, !null)
			return ok
		case "content":
			v, null, ok := s.str()
			resp.Content = v
			have = setBit(have, rContent, !null)
			return ok
		case "command":
			v, _, ok := s.str()
			resp.Command = v
			return ok
		case "enhanced_code":
			v, ok := s.enhanced()
			resp.Enhanced = v
			return ok
		}
		return s.skip()
	})
	if !ok || have != rCode|rContent || code < 0 || code > math.MaxUint16 {
		return Response{}, false, false
	}
	resp.Code = uint16(code)
	return resp, false, true
}

// enhanced reads the enhanced_code object or null (nil).
func (s *scanner) enhanced() (*EnhancedCode, bool) {
	if s.peek() == 'n' {
		return nil, s.null()
	}
	var vals [3]int64
	var have int
	ok := s.object(func(key []byte) bool {
		i := -1
		switch string(key) {
		case "class":
			i = 0
		case "subject":
			i = 1
		case "detail":
			i = 2
		default:
			return s.skip()
		}
		v, null, ok := s.int()
		vals[i] = v
		have = setBit(have, 1<<i, !null)
		return ok
	})
	if !ok || have != 7 || vals[0] < 0 || vals[0] > math.MaxUint8 ||
		vals[1] < 0 || vals[1] > math.MaxUint16 || vals[2] < 0 || vals[2] > math.MaxUint16 {
		return nil, false
	}
	return &EnhancedCode{Class: uint8(vals[0]), Subject: uint16(vals[1]), Detail: uint16(vals[2])}, true
}

func setBit(have, bit int, on bool) int {
	if on {
		return have | bit
	}
	return have &^ bit
}
