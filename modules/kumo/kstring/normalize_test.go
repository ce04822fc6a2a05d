package kstring

import "testing"

func TestNormalizeSMTPResponse(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		// The example of KumoMTA's reference.
		{"550 5.1.1 The email account that you tried to reach does not exist.\nPlease try double-checking the recipient's email address for typos\nor unnecessary spaces. For more information, go to\nhttps://support.google.com/mail/?p=NoSuchUser 41be03b00d2f7-b93bf44f0c0si6882731a12.803 - gsmtp",
			"550 5.1.1 The email account that you tried to reach does not exist.\nPlease try double-checking the recipient's email address for typos\nor unnecessary spaces. For more information, go to\nhttps://support.google.com/mail/?p=NoSuchUser {hash} - gsmtp"},
		{"250 OK ids=8a5475ccbbc611eda12250ebf67f93bd", "250 OK ids={uuid}"},
		{"250 2.0.0 Ok: queued as 1d98076a-bbc1-11ed-9402-50ebf67f93bd", "250 2.0.0 Ok: queued as {uuid}"},
		{"id {1D98076A-BBC1-11ED-9402-50EBF67F93BD}, urn:uuid:1d98076a-bbc1-11ed-9402-50ebf67f93bd.", "id {uuid}, {uuid}."},
		{"550 5.7.1 [192.0.2.1] blocked, see <user@example.com>", "550 5.7.1 [{ipaddr}] blocked, see <{email}>"},
		{"from 2001:db8::1 IPv6:2001:db8::2 at 2023-03-06T02:28:11Z", "from {ipaddr} {ipaddr} at {timestamp}"},
		{"token dGhpcyBpcyBhIHRlc3QgMTIz+/== and a1b2 and TLSv1.3 RFC5321", "token {base64} and a1b2 and TLSv1.3 RFC5321"},
		{"  leading\tand  trailing  ", "  leading\tand  trailing  "},
		{"a=b=c key= =v", "a=b=c key= =v"},
		{"", ""},
	} {
		if got := NormalizeSMTPResponse(c.in); got != c.want {
			t.Errorf("NormalizeSMTPResponse(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
