// Package dnsname holds kumopolicy's one rule for what a DNS name is: the
// rule of KumoMTA's resolver library in its relaxed mode, with that
// library's reasons ("Malformed label: -bad", "label bytes exceed 63: 64"),
// which KumoMTA's messages embed. It is Lua-free and imports nothing of
// kumopolicy, so every package that checks names can share it.
package dnsname
