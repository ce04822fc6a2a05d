// Package lua runs the Lua test scripts in this directory through the
// real policy host: each *.lua file is loaded as a policy and its `main`
// handler fired, exactly as `kumopolicy script FILE` does. One Go subtest
// per file; a Lua error fails the subtest with the file:line it came from.
package lua
