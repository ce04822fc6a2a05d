// Package upstream runs KumoMTA's own files, unmodified, against
// kumopolicy: the policy-extras helpers' self-tests and per-module Lua tests
// through the built kumopolicy binary, and KumoMTA's shaping.lua side by side
// with ours (shaping_equivalence_test.go).
//
// The files come from the pinned KumoMTA corpus beside the repository
// (../shared/kumomta; see internal/sharedref). Without it the tests skip on
// a developer's clone and fail in CI. KUMOPOLICY_KUMOMTA_CHECKOUT may name a
// KumoMTA checkout to use instead.
//
// When KUMOPOLICY_UPSTREAM_SUMMARY names a file, the tests write to it how
// many corpus files ran and passed, one line per file; .ci/run prints it.
package upstream
