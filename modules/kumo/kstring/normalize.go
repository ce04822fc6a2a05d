package kstring

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// NormalizeSMTPResponse replaces the per-recipient and per-transaction parts
// of an SMTP response with placeholder tokens, as kumo.string's
// normalize_smtp_response documents, so that similar responses group
// together: each whitespace-separated word (its surrounding brackets,
// quotes and trailing punctuation set aside) becomes {timestamp} (RFC 3339),
// {uuid} (hyphenated, 32 hex digits, braced or urn:uuid:), {ipaddr} (IPv4 or
// IPv6, optionally IPv6:-prefixed), {email} (local@domain), {hash} (at least
// hashMinLen letters, digits and . - _ with at least hashMinEach letters and
// as many digits) or {base64} (at least base64MinLen characters of either
// base64 alphabet that decode, mixing upper case, lower case and digits).
// A word of the form lhs=rhs keeps lhs and has rhs normalized. Any other
// word, plain words among them, is left as it is, and so is the whitespace
// between words. This is a best effort, not a guarantee that no personal
// data remains.
func NormalizeSMTPResponse(text string) string {
	var b strings.Builder
	i := 0
	for i < len(text) {
		j := i
		for j < len(text) && isSpaceByte(text[j]) {
			j++
		}
		b.WriteString(text[i:j])
		k := j
		for k < len(text) && !isSpaceByte(text[k]) {
			k++
		}
		if k > j {
			b.WriteString(normalizeWord(text[j:k]))
		}
		i = k
	}
	return b.String()
}

const (
	hashMinLen   = 8
	hashMinEach  = 2
	base64MinLen = 16
)

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// normalizeWord normalizes one word, keeping the brackets, quotes and
// punctuation around its core. Braces stay with the core: a braced uuid is
// one of the recognized forms.
func normalizeWord(word string) string {
	lead := len(word) - len(strings.TrimLeft(word, `([<"'`))
	core := strings.TrimRight(word[lead:], `)]>"',;:.!?`)
	return word[:lead] + normalizeCore(core) + word[lead+len(core):]
}

var (
	uuidRe   = regexp.MustCompile(`^(?i:(?:urn:uuid:)?(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\})$`)
	hashRe   = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`)
	emailRe  = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~.-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+|\[[^\]]+\])$`)
	base64Re = regexp.MustCompile(`^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$`)
)

func normalizeCore(w string) string {
	if w == "" {
		return w
	}
	if _, err := time.Parse(time.RFC3339Nano, w); err == nil {
		return "{timestamp}"
	}
	if uuidRe.MatchString(w) {
		return "{uuid}"
	}
	if isIPAddr(w) {
		return "{ipaddr}"
	}
	if emailRe.MatchString(w) {
		return "{email}"
	}
	if isHash(w) {
		return "{hash}"
	}
	if isBase64(w) {
		return "{base64}"
	}
	if lhs, rhs, ok := strings.Cut(w, "="); ok && lhs != "" && rhs != "" {
		return lhs + "=" + normalizeCore(rhs)
	}
	return w
}

func isIPAddr(w string) bool {
	w = strings.TrimPrefix(w, "IPv6:")
	if !strings.ContainsAny(w, ".:") {
		return false
	}
	_, err := netip.ParseAddr(w)
	return err == nil
}

func counts(w string) (letters, digits int, upper, lower bool) {
	for _, r := range w {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case unicode.IsLetter(r):
			letters++
			upper = upper || unicode.IsUpper(r)
			lower = lower || unicode.IsLower(r)
		}
	}
	return
}

func isHash(w string) bool {
	if len(w) < hashMinLen || !hashRe.MatchString(w) {
		return false
	}
	letters, digits, _, _ := counts(w)
	return letters >= hashMinEach && digits >= hashMinEach
}

func isBase64(w string) bool {
	if len(w) < base64MinLen || !base64Re.MatchString(w) {
		return false
	}
	if _, digits, upper, lower := counts(w); digits == 0 || !upper || !lower {
		return false
	}
	raw := strings.TrimRight(w, "=")
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		if _, err := enc.DecodeString(raw); err == nil {
			return true
		}
	}
	return false
}
