// Package kumo provides the `kumo` Lua module of kumopolicy: the functions
// KumoMTA policies call (kumo.on, kumo.memoize, kumo.json_parse, ...).
//
// Bindings are thin: they check arguments, call a native Go package and
// convert the results. Each sub-module lives in its own file and adds its
// functions to the module table through an opener (see openers below).
package kumo
