package loghook

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// The conformance issues of message:check_fix_conformance, in KumoMTA's
// documented order.
var conformanceIssues = []string{
	"MISSING_COLON_VALUE", "NON_CANONICAL_LINE_ENDINGS", "NAME_ENDS_WITH_SPACE",
	"LINE_TOO_LONG", "NEEDS_TRANSFER_ENCODING", "MISSING_DATE_HEADER",
	"MISSING_MESSAGE_ID_HEADER", "MISSING_MIME_VERSION",
}

// undetected are the issues kumopolicy cannot tell without KumoMTA's MIME
// parser: naming one is a not-supported error rather than a silent pass.
var undetected = []string{"LINE_TOO_LONG"}

// fixable are the issues kumopolicy fixes without rebuilding the MIME tree.
var fixable = []string{"NON_CANONICAL_LINE_ENDINGS", "MISSING_DATE_HEADER", "MISSING_MESSAGE_ID_HEADER", "MISSING_MIME_VERSION"}

// ParseConformanceSet parses a `|`-separated set of issue names ("" is the
// empty set).
func ParseConformanceSet(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, "|") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !slices.Contains(conformanceIssues, name) {
			return nil, fmt.Errorf("invalid conformance issue %q, expected one of %s", name, strings.Join(conformanceIssues, ", "))
		}
		if slices.Contains(undetected, name) {
			return nil, fmt.Errorf("conformance issue %s is not supported by kumopolicy (it needs KumoMTA's MIME parser)", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// ConformanceIssues returns the issues found in the message, in
// conformanceIssues order.
func (m *Message) ConformanceIssues() []string {
	data := m.Data()
	found := map[string]bool{}
	for i, c := range data {
		if (c == '\n' && (i == 0 || data[i-1] != '\r')) || (c == '\r' && (i+1 >= len(data) || data[i+1] != '\n')) {
			found["NON_CANONICAL_LINE_ENDINGS"] = true
		}
		if c >= 0x80 {
			found["NEEDS_TRANSFER_ENCODING"] = true
		}
	}
	// Header lines: stop at the empty line; a line without a colon that
	// is not a continuation is a name without a value.
	rest := data
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, '\n') + 1
		if end == 0 {
			end = len(rest)
		}
		line := bytes.TrimRight(rest[:end], "\r\n")
		rest = rest[end:]
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		c := bytes.IndexByte(line, ':')
		if c < 0 {
			found["MISSING_COLON_VALUE"] = true
			continue
		}
		if c > 0 && (line[c-1] == ' ' || line[c-1] == '\t') {
			found["NAME_ENDS_WITH_SPACE"] = true
		}
	}
	if _, ok := m.FirstNamedHeader("Date"); !ok {
		found["MISSING_DATE_HEADER"] = true
	}
	if _, ok := m.FirstNamedHeader("Message-ID"); !ok {
		found["MISSING_MESSAGE_ID_HEADER"] = true
	}
	if v, ok := m.FirstNamedHeader("MIME-Version"); !ok || v != "1.0" {
		found["MISSING_MIME_VERSION"] = true
	}
	var out []string
	for _, name := range conformanceIssues {
		if found[name] {
			out = append(out, name)
		}
	}
	return out
}

// CheckFixConformance is message:check_fix_conformance: it returns a
// failure text when the message has one of checks, else fixes the issues
// of fixes it has. Fixes that would rebuild the MIME tree are a
// not-supported error when the message needs one.
func (m *Message) CheckFixConformance(checks, fixes []string, now time.Time) (string, error) {
	issues := m.ConformanceIssues()
	var failed []string
	for _, i := range issues {
		if slices.Contains(checks, i) {
			failed = append(failed, i)
		}
	}
	if len(failed) > 0 {
		return "Message has conformance issues: " + strings.Join(failed, "|"), nil
	}
	var todo []string
	for _, i := range issues {
		if slices.Contains(fixes, i) {
			if !slices.Contains(fixable, i) {
				return "", fmt.Errorf("fixing %s is not supported by kumopolicy (it rebuilds the message with KumoMTA's MIME builder)", i)
			}
			todo = append(todo, i)
		}
	}
	for _, i := range todo {
		switch i {
		case "NON_CANONICAL_LINE_ENDINGS":
			m.mu.Lock()
			d := bytes.ReplaceAll(m.data, []byte("\r\n"), []byte("\n"))
			d = bytes.ReplaceAll(d, []byte("\r"), []byte("\n"))
			m.data = bytes.ReplaceAll(d, []byte("\n"), []byte("\r\n"))
			m.mu.Unlock()
		case "MISSING_DATE_HEADER":
			if err := m.AddHeader("Date", now.Format(time.RFC1123Z), false); err != nil {
				return "", err
			}
		case "MISSING_MESSAGE_ID_HEADER":
			host, err := os.Hostname()
			if err != nil || host == "" {
				host = "localhost"
			}
			if err := m.AddHeader("Message-ID", "<"+newID()+"@"+host+">", false); err != nil {
				return "", err
			}
		case "MISSING_MIME_VERSION":
			m.RemoveAllNamedHeaders("MIME-Version")
			if err := m.AddHeader("MIME-Version", "1.0", false); err != nil {
				return "", err
			}
		}
	}
	return "", nil
}
