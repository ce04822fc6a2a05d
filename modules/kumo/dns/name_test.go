package dns

import (
	"testing"
	"time"
)

func TestFormatElapsedLikeRustDebug(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ns"},
		{950, "950ns"},
		{1000, "1µs"},
		{812300, "812.3µs"},
		{1500 * time.Microsecond, "1.5ms"},
		{12*time.Millisecond + 345678, "12.345678ms"},
		{5*time.Second + 218431, "5.000218431s"},
		{90 * time.Second, "90s"},
	} {
		if got := formatElapsed(c.d); got != c.want {
			t.Errorf("formatElapsed(%d) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestHasColonPort(t *testing.T) {
	for _, c := range []struct {
		in    string
		label string
		port  uint16
		ok    bool
	}{
		{"example.com:25", "example.com", 25, true},
		{"example.com", "", 0, false},
		{"::1", "", 0, false},
		{"[::1]:25", "", 0, false}, // the label has a colon
		{"[127.0.0.1]:2525", "[127.0.0.1]", 2525, true},
		{"example.com:65536", "", 0, false},
		{"example.com:x", "", 0, false},
		{"example.com:+25", "example.com", 25, true},
	} {
		label, port, ok := hasColonPort(c.in)
		if label != c.label || port != c.port || ok != c.ok {
			t.Errorf("hasColonPort(%q) = %q %d %v", c.in, label, port, ok)
		}
	}
}

func TestParseName(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		err  bool
	}{
		{"Example.COM", "example.com.", false},
		{"example.com.", "example.com.", false},
		{".", ".", false},
		{"_dmarc.example.com", "_dmarc.example.com.", false},
		{"ÖBB.at", "xn--bb-eka.at.", false},
		{"xn--bb-eka.at", "xn--bb-eka.at.", false},
		{"a..b", "", true},
		{".a", "", true},
		{"a.b..", "", true},
		{string(make([]byte, 64)) + ".com", "", true},
	} {
		got, err := fullyQualify(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("fullyQualify(%q) = %q, %v", c.in, got, err)
		}
	}
}

func TestClassifyErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"[127.0.0.1", "domain_name `[127.0.0.1` is a malformed literal domain with no trailing `]`"},
		// The outer port is not split off when the rest has a colon, so
		// KumoMTA's "port both inside and outside" error cannot be reached.
		{"[127.0.0.1:25]:25", "domain_name `[127.0.0.1:25]:25` is a malformed literal domain with no trailing `]`"},
		{"[IPv6:1.2.3.4]", "invalid ipv6 address: `1.2.3.4`: invalid IPv6 address syntax"},
		{"[nonsense]", "invalid address: `nonsense`: invalid IP address syntax"},
		// A port after a bracketed IPv6 literal is not split off (the part
		// before the last colon has colons), so the brackets do not close.
		{"[::1]:25", "domain_name `[::1]:25` is a malformed literal domain with no trailing `]`"},
	} {
		_, err := classify(c.in)
		if err == nil || err.Error() != c.want {
			t.Errorf("classify(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func TestClassifyLiterals(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"[127.0.0.1]", "127.0.0.1"},
		{"[IPv6:::1]", "::1"},
		{"[ipv6:::1]", "::1"},
		{"[::1]", "::1"},
		{"[127.0.0.1]:2525", "127.0.0.1:2525"},
		{"[127.0.0.1:2525]", "127.0.0.1:2525"},
		{"[IPv6:::1:2525]", "::1:2525"}, // all of it is the address
		{"[IPv6:2001:db8::1]", "2001:db8::1"},
	} {
		cl, err := classify(c.in)
		if err != nil || !cl.literal || cl.literalString() != c.want {
			t.Errorf("classify(%q) = %+v %q, %v; want %q", c.in, cl, cl.literalString(), err, c.want)
		}
	}
}

// KumoMTA's documented site_name examples (the same hosts are resolved
// through a real DNS exchange in mx_test.go).
func TestFactorNamesExamples(t *testing.T) {
	for _, c := range []struct {
		hosts []string
		want  string
	}{
		{[]string{"mta5.am0.yahoodns.net", "mta6.am0.yahoodns.net", "mta7.am0.yahoodns.net"}, "(mta5|mta6|mta7).am0.yahoodns.net"},
		{[]string{"mta5.AM0.yahoodns.net", "mta6.am0.yAHOodns.net", "mta7.am0.yahoodns.net"}, "(mta5|mta6|mta7).am0.yahoodns.net"},
		{[]string{
			"gmail-smtp-in.l.google.com",
			"alt1.gmail-smtp-in.l.google.com",
			"alt2.gmail-smtp-in.l.google.com",
			"alt3.gmail-smtp-in.l.google.com",
			"alt4.gmail-smtp-in.l.google.com",
		}, "(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com"},
		{[]string{"mta5.am0.yahoodns.net:123", "mta6.am0.yahoodns.net:123", "mta7.am0.yahoodns.net:123"}, "(mta5|mta6|mta7).am0.yahoodns.net:123"},
		{[]string{"mta5.am0.yahoodns.net:123", "mta6.am0.yahoodns.net:456", "mta7.am0.yahoodns.net:123"}, "(mta5|mta6|mta7).am0.yahoodns.(net:123|net:456)"},
		{[]string{
			"example-com.mail.protection.outlook.com.",
			"mx-biz.mail.am0.yahoodns.net.",
			"mx-biz.mail.am0.yahoodns.net.",
		}, "(example-com|mx-biz).mail.(protection|am0).(outlook|yahoodns).(com|net)"},
		{[]string{
			"mx-biz.mail.am0.yahoodns.net.",
			"mx-biz.mail.am0.yahoodns.net.",
			"example-com.mail.protection.outlook.com.",
		}, "(mx-biz|example-com).mail.(am0|protection).(yahoodns|outlook).(net|com)"},
		{[]string{"do.havedane.net."}, "do.havedane.net"},
		{[]string{"."}, ""},
		{[]string{".:25"}, ""},
		{[]string{"www.example.com."}, "www.example.com"},
		{[]string{"mx.example.com.", "alt1.mx.example.com."}, "alt1?.mx.example.com"},
		{[]string{".", "mx.example.com."}, "mx?.example?.com?"},
		{[]string{"a..b", "mx.example.com."}, "mx.example.com"}, // unparseable names are skipped
		{nil, ""},
	} {
		if got := FactorNames(c.hosts); got != c.want {
			t.Errorf("FactorNames(%q) = %q, want %q", c.hosts, got, c.want)
		}
	}
}
