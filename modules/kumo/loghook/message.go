package loghook

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Message is the message a log hook builds from one log record: sender
// and recipients copied from the record, the record's JSON followed by a
// newline as its data, and meta initialised from the record's meta plus
// `log_record` (the whole record) and `reception_protocol` ("LogRecord").
// It is safe for concurrent use.
type Message struct {
	id     string
	record *logrecord.Record // nil for kumo.make_message's messages

	mu         sync.Mutex
	sender     string
	recipients []string
	data       []byte
	meta       map[string]any

	// Scheduling, owned by the queue the message is in.
	created  time.Time
	due      time.Time
	attempts int
	release  func()
}

// NewMessage builds the message of a decoded record; raw is the record as
// plain data (map[string]any, int64 for integers), rec what
// logrecord.Decode made of it.
func NewMessage(raw map[string]any, rec *logrecord.Record) (*Message, error) {
	data, err := plain.AppendJSON(nil, raw, plain.JSONOptions{})
	if err != nil {
		return nil, fmt.Errorf("log record: %w", err)
	}
	meta := map[string]any{}
	if m, ok := raw["meta"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = plain.Clone(v)
		}
	}
	meta["log_record"] = plain.Clone(raw)
	meta["reception_protocol"] = "LogRecord"
	return &Message{
		id:         newID(),
		sender:     rec.Sender,
		recipients: append([]string(nil), rec.Recipients...),
		record:     rec,
		data:       append(data, '\n'),
		meta:       meta,
	}, nil
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ID returns the message's own id (not the record's).
func (m *Message) ID() string { return m.id }

// Sender returns the envelope sender ("" for the null sender).
func (m *Message) Sender() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sender
}

// Recipients returns the envelope recipients.
func (m *Message) Recipients() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.recipients...)
}

// Record returns the decoded log record the message was built from.
func (m *Message) Record() *logrecord.Record { return m.record }

// Data returns the message body.
func (m *Message) Data() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.data
}

// SetData replaces the message body.
func (m *Message) SetData(b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data = append([]byte(nil), b...)
}

// Meta returns a copy of the meta value for key.
func (m *Message) Meta(key string) (any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.meta[key]
	return plain.Clone(v), ok
}

// SetMeta stores a copy of v, which must be plain data that has a JSON
// form (nil removes the key).
func (m *Message) SetMeta(key string, v any) error {
	if v != nil {
		if _, err := plain.AppendJSON(nil, v, plain.JSONOptions{}); err != nil {
			return fmt.Errorf("set_meta %q: %w", key, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v == nil {
		delete(m.meta, key)
	} else {
		m.meta[key] = plain.Clone(v)
	}
	return nil
}

// NumAttempts returns how many delivery attempts the message has had.
func (m *Message) NumAttempts() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.attempts
}

func (m *Message) metaString(key string) string {
	v, _ := m.Meta(key)
	s, _ := v.(string)
	return s
}

// QueueName is a scheduled queue's name in its parts, KumoMTA's
// `campaign:tenant@domain!routing_domain`.
type QueueName struct {
	Campaign, Tenant, Domain, RoutingDomain string
}

// ParseQueueName splits a queue name. A name without `@` is entirely the
// domain (so a hook name such as "http://127.0.0.1:8008.tsa.kumomta" is).
func ParseQueueName(name string) QueueName {
	at := strings.LastIndexByte(name, '@')
	if at < 0 {
		return QueueName{Domain: name}
	}
	var q QueueName
	left, right := name[:at], name[at+1:]
	if c := strings.IndexByte(left, ':'); c >= 0 {
		q.Campaign, q.Tenant = left[:c], left[c+1:]
	} else {
		q.Tenant = left
	}
	if b := strings.IndexByte(right, '!'); b >= 0 {
		q.Domain, q.RoutingDomain = right[:b], right[b+1:]
	} else {
		q.Domain = right
	}
	return q
}

// String joins the parts back into the queue name.
func (q QueueName) String() string {
	var b strings.Builder
	if q.Campaign != "" {
		b.WriteString(q.Campaign)
		b.WriteByte(':')
	}
	if q.Tenant != "" || q.Campaign != "" {
		b.WriteString(q.Tenant)
		b.WriteByte('@')
	}
	b.WriteString(q.Domain)
	if q.RoutingDomain != "" {
		b.WriteByte('!')
		b.WriteString(q.RoutingDomain)
	}
	return b.String()
}

// queueName is where the message goes: its `queue` meta, else
// campaign:tenant@domain of its campaign and tenant meta and its first
// recipient's domain.
func (m *Message) queueName() string {
	if q := m.metaString("queue"); q != "" {
		return q
	}
	q := QueueName{Campaign: m.metaString("campaign"), Tenant: m.metaString("tenant")}
	if rs := m.Recipients(); len(rs) > 0 {
		r := rs[0]
		q.Domain = r[strings.LastIndexByte(r, '@')+1:]
	}
	return q.String()
}

// validSender reports whether s parses as an envelope sender: empty (the
// null sender) or local@domain without spaces or angle brackets.
func validSender(s string) bool {
	if s == "" {
		return true
	}
	if strings.ContainsAny(s, " \t\r\n<>") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1
}
