package loghook

import (
	"strings"
	"testing"
	"time"
)

func TestConformanceIssues(t *testing.T) {
	cases := []struct {
		data string
		want string
	}{
		{"Date: x\r\nMessage-ID: <a@b>\r\nMIME-Version: 1.0\r\n\r\nok\r\n", ""},
		{"Date: x\nMessage-ID: <a@b>\r\nMIME-Version: 1.0\r\n\r\nok\r\n", "NON_CANONICAL_LINE_ENDINGS"},
		{"Subject\r\nDate : x\r\nMessage-ID: <a@b>\r\nMIME-Version: 2.0\r\n\r\nh\xc3\xa9\r\n",
			"MISSING_COLON_VALUE|NAME_ENDS_WITH_SPACE|NEEDS_TRANSFER_ENCODING|MISSING_MIME_VERSION"},
		{"Subject: x\r\n\r\n", "MISSING_DATE_HEADER|MISSING_MESSAGE_ID_HEADER|MISSING_MIME_VERSION"},
	}
	for _, c := range cases {
		got := strings.Join(MakeMessage("", nil, []byte(c.data)).ConformanceIssues(), "|")
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.data, got, c.want)
		}
	}
}

func TestCheckFixConformance(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := MakeMessage("", nil, []byte("Subject: x\n\nbody\n"))
	checks, _ := ParseConformanceSet("MISSING_COLON_VALUE")
	fixes, _ := ParseConformanceSet("NON_CANONICAL_LINE_ENDINGS|MISSING_DATE_HEADER|MISSING_MIME_VERSION")
	failed, err := m.CheckFixConformance(checks, fixes, now)
	if err != nil || failed != "" {
		t.Fatalf("%q %v", failed, err)
	}
	want := "Subject: x\r\nDate: Fri, 02 Jan 2026 03:04:05 +0000\r\nMIME-Version: 1.0\r\n\r\nbody\r\n"
	if got := string(m.Data()); got != want {
		t.Errorf("fixed %q, want %q", got, want)
	}
	checks, _ = ParseConformanceSet("MISSING_MESSAGE_ID_HEADER|NON_CANONICAL_LINE_ENDINGS")
	if failed, _ := m.CheckFixConformance(checks, nil, now); failed != "Message has conformance issues: MISSING_MESSAGE_ID_HEADER" {
		t.Errorf("failed %q", failed)
	}
	fixes, _ = ParseConformanceSet("NAME_ENDS_WITH_SPACE")
	if _, err := MakeMessage("", nil, []byte("A : b\r\n\r\n")).CheckFixConformance(nil, fixes, now); err == nil || !strings.Contains(err.Error(), "fixing NAME_ENDS_WITH_SPACE is not supported") {
		t.Errorf("err %v", err)
	}
	for s, want := range map[string]string{"BOGUS": `invalid conformance issue "BOGUS"`, "LINE_TOO_LONG": "LINE_TOO_LONG is not supported"} {
		if _, err := ParseConformanceSet(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", s, err)
		}
	}
}

func TestHeaderBlockEdits(t *testing.T) {
	m := MakeMessage("a@b", []string{"c@d"}, []byte("A: 1\n B\nX: y\nA: 2\n\nbody A: 3\n"))
	if v, _ := m.FirstNamedHeader("a"); v != "1 B" {
		t.Errorf("folded value %q", v)
	}
	if vs := m.AllNamedHeaders("A"); len(vs) != 2 || vs[1] != "2" {
		t.Errorf("all %q", vs)
	}
	m.RemoveAllNamedHeaders("a")
	if err := m.AddHeader("Z", "last", false); err != nil {
		t.Fatal(err)
	}
	m.PrependRawHeader("DKIM-Signature: v=1;\r\n b=x\r\n")
	if got, want := string(m.Data()), "DKIM-Signature: v=1;\n b=x\nX: y\nZ: last\n\nbody A: 3\n"; got != want {
		t.Errorf("data %q, want %q", got, want)
	}
	if err := m.AddHeader("Bad Name", "v", true); err == nil {
		t.Error("a header name with a space was accepted")
	}
	if err := m.AddHeader("N", "a\r\nInjected: 1", true); err == nil {
		t.Error("a value with a line break was accepted")
	}
	if addrs, ok, err := MakeMessage("", nil, []byte("To: A <a@x.example>, b@y.example\r\n\r\n")).AddressHeader("to"); err != nil || !ok || len(addrs) != 2 || addrs[0].Name != "A" || addrs[1].Domain() != "y.example" {
		t.Errorf("%v %v %v", addrs, ok, err)
	}
}
