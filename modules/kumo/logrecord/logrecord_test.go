package logrecord

import (
	"strings"
	"testing"
	"time"
)

const minimal = `{"type":"TransientFailure","id":"abc","sender":"s@example.com","recipient":"user@gmail.com",
"queue":"gmail.com","site":"unspecified->(alt1)?.gmail-smtp-in.l.google.com@smtp_client","size":1024,
"response":{"code":421,"enhanced_code":{"class":4,"subject":7,"detail":28},"content":"slow down","command":null},
"timestamp":1700000000,"created":1699999990,"num_attempts":1,"bounce_classification":"Uncategorized",
"meta":{},"headers":{},"nodeid":"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"}`

func TestParseMinimalRecord(t *testing.T) {
	r, err := ParseJSON([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if r.Type != "TransientFailure" || len(r.Recipients) != 1 || r.Response.Code != 421 || r.Response.Enhanced.Detail != 28 {
		t.Fatalf("%+v", r)
	}
	if !r.Time().Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("time %v", r.Time())
	}
}

func TestEventTimeWins(t *testing.T) {
	r, err := ParseJSON([]byte(strings.Replace(minimal, `"timestamp"`, `"event_time":"2023-11-14T22:13:20.123456789Z","timestamp"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Time().Nanosecond() != 123456789 {
		t.Fatalf("event_time not used: %v", r.Time())
	}
}

func TestRecordErrors(t *testing.T) {
	cases := map[string]string{
		`"site":"unspecified->(alt1)?.gmail-smtp-in.l.google.com@smtp_client",`: "missing field `site`",
		`"type":"TransientFailure"`:                       "type: unknown variant `Nope`, expected one of",
		`"size":1024`:                                     "size: invalid type: string \"big\", expected an integer",
		`"timestamp":1700000000`:                          "timestamp: invalid type: floating point `1.5`, expected an integer",
		`"nodeid":"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"`: "nodeid: invalid value: string \"node-1\", expected a UUID",
		`"recipient":"user@gmail.com"`:                    "recipient: invalid type: integer `5`, expected a string or an array of strings",
		`"response":{"code":421,`:                         "response.code: invalid value: integer `70000`, expected an integer from 0 to 65535",
	}
	repl := map[string]string{
		`"site":"unspecified->(alt1)?.gmail-smtp-in.l.google.com@smtp_client",`: ``,
		`"type":"TransientFailure"`:                       `"type":"Nope"`,
		`"size":1024`:                                     `"size":"big"`,
		`"timestamp":1700000000`:                          `"timestamp":1.5`,
		`"nodeid":"d7ef132b-5a2a-4b2e-9b1c-6a1b5d4a9a11"`: `"nodeid":"node-1"`,
		`"recipient":"user@gmail.com"`:                    `"recipient":5`,
		`"response":{"code":421,`:                         `"response":{"code":70000,`,
	}
	for old, want := range cases {
		_, err := ParseJSON([]byte(strings.Replace(minimal, old, repl[old], 1)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", repl[old], err, want)
		}
	}
	if _, err := ParseJSON([]byte(`{"broken"`)); err == nil || !strings.Contains(err.Error(), "invalid JSON") {
		t.Errorf("broken JSON: %v", err)
	}
	if _, err := ParseJSON([]byte(`[1]`)); err == nil {
		t.Error("array accepted")
	}
}

func TestRecipientArray(t *testing.T) {
	r, err := ParseJSON([]byte(strings.Replace(minimal, `"recipient":"user@gmail.com"`, `"recipient":["a@x.com","b@y.com"]`, 1)))
	if err != nil || len(r.Recipients) != 2 || r.Recipients[1] != "b@y.com" {
		t.Fatalf("%v %v", r, err)
	}
}

func TestParseEventTimeLeniently(t *testing.T) {
	want := time.Date(2026, 11, 30, 12, 3, 4, 123456789, time.UTC)
	for _, s := range []string{
		"2026-11-30T12:03:04.123456789Z",
		"2026-11-30t12:03:04.123456789z",
		"2026-11-30 12:03:04.123456789Z",
		"2026-11-30 12:03:04.123456789 UTC",
		"2026-11-30T12:03:04.123456789UTC",
		"2026-11-30T13:03:04.123456789+01:00",
		"2026-11-30T13:03:04.123456789+0100",
		"2026-11-30T11:33:04.123456789-0030",
		"2026-11-30T12:3:4.1234567891Z", // unpadded, a tenth fractional digit dropped
	} {
		got, err := ParseEventTime(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("%s: got %v, want %v", s, got.UTC(), want)
		}
	}
	for _, s := range []string{"", "2026-11-30", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T12:00:00", "2026-11-30T12:00:00+25:00", "yesterday"} {
		if _, err := ParseEventTime(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	// In a record: event_time replaces timestamp, with its nanoseconds.
	r, err := ParseJSON([]byte(strings.Replace(minimal, `"timestamp":1700000000`, `"timestamp":1700000000,"event_time":"2023-11-14 22:13:20.5 UTC"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Time(); !got.Equal(time.Unix(1700000000, 500000000)) {
		t.Errorf("record time %v", got)
	}
}
