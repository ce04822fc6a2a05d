// Package egress holds KumoMTA's egress schemas (EgressPathConfig,
// QueueConfig, EgressSource, EgressPool) and the value grammars only they
// use (rates, limits, CIDR sets, key sources, socket addresses, TLS option
// names), shared by kumopolicy's bindings and commands. Configs are decoded
// strictly from plain data with package plain's path-qualified errors and
// serialized in KumoMTA's form, as *plain.Map values with their fields in
// declaration order.
package egress
