// Package kumo provides the `kumo` Lua module of kumopolicy: the functions
// KumoMTA policies call (kumo.on, kumo.memoize, kumo.json_parse, ...).
//
// Bindings are thin: they check arguments, call a native Go package and
// convert the results. Each sub-module lives in its own file and adds its
// functions to the module table through an opener (see Services.openers).
// The Go services the bindings of all of a runtime's states share (DNS
// resolver, memoize registry, kumod recorder, shaping environment) are the
// typed fields of Services, given to Install; openers that need them are
// methods of *Services and capture what they use.
package kumo
