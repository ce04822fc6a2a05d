package dns

import (
	"strings"
	"testing"
)

func TestParseSTSPolicy(t *testing.T) {
	p, err := ParseSTSPolicy("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 86400\r\nextension: ignored\r\n")
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != "enforce" || p.MaxAge != 86400 || strings.Join(p.MX, ",") != "mail.example.com,*.example.net" {
		t.Fatalf("%+v", p)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com.": true, "a.example.net": true,
		"example.net": false, "a.b.example.net": false, "other.example.com": false,
	} {
		if got := p.Permits(host); got != want {
			t.Errorf("Permits(%q) = %v", host, got)
		}
	}
	if p, err := ParseSTSPolicy("version: STSv1\nmode: none\nmax_age: 0\n"); err != nil || p.Mode != "none" {
		t.Errorf("mode none without mx: %v %+v", err, p)
	}
}

func TestParseSTSPolicyErrors(t *testing.T) {
	for text, want := range map[string]string{
		"":                                "the policy is empty",
		"mode: enforce\nversion: STSv1\n": "line 1: the policy must start with `version: STSv1`",
		"version: STSv2\n":                "must start with `version: STSv1`",
		"version: STSv1\nmode enforce\n":  "line 2: expected `key: value`",
		"version: STSv1\nmode: strict\nmax_age: 1\n":         `line 2: mode must be enforce, testing or none, got "strict"`,
		"version: STSv1\nmode: enforce\nmax_age: 1\n":        "a policy in enforce mode must list at least one mx",
		"version: STSv1\nmode: testing\nmx: a.b\n":           "the policy has no max_age",
		"version: STSv1\nmx: a.b\nmax_age: 5\n":              "the policy has no mode",
		"version: STSv1\nmode: none\nmax_age: 99999999999\n": "line 3: max_age must be a whole number of seconds up to 31557600",
		"version: STSv1\nmode: none\nmode: none\n":           "line 3: mode is given more than once",
		"version: STSv1\nmode: enforce\nmx: *.*.x\n":         `line 3: mx "*.*.x" is not a host name or *.domain pattern`,
	} {
		_, err := ParseSTSPolicy(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", text, err, want)
		}
	}
}
