// Package sharedref locates, for tests, the reference material that sits
// beside a kumopolicy checkout in ../shared: the pinned KumoMTA corpus
// (shared/kumomta: its stock policies, policy-extras helpers and their
// self-tests, per-module Lua tests) and the upstream data fixtures
// (shared/upstream-data), plus reference tools such as lua5.4.
//
// On a developer's clone without ../shared the tests that need it skip
// with a message saying what is missing. In CI (CI=true) a missing piece
// fails the test instead: the compatibility proof must not silently turn
// into a skip.
//
// KUMOPOLICY_KUMOMTA_CHECKOUT, when set, names a KumoMTA checkout (or a
// corpus-shaped directory with assets/ and crates/) to use instead of
// shared/kumomta.
package sharedref
