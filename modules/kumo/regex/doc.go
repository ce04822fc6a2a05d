// Package regex compiles and runs regular expressions written in
// KumoMTA's dialect: the syntax of the Rust regex crate extended by
// fancy-regex 0.16 (the crate behind kumo.regex and the regex field of
// shaping automation rules). It has no Lua dependency; the kumo.regex Lua
// module and the shaping engine build on it.
//
// # What the translator is for
//
// The yardstick is a thin adapter: the pattern as written, on Go's regexp
// when Go accepts it, else on regexp2 in its RE2 mode (Rust's $, and
// (?P<name>..) and [[:alpha:]] understood). This package parses the
// pattern instead, and keeps only what that adapter would get wrong: for
// each construct below, TestTranslatorNeeded holds an input on which the
// adapter's answer is not KumoMTA's and this package's is.
//
//   - Unicode \d \D \w \W \s \S, \b and \B (Go's are ASCII);
//   - classes with nesting ([a[bc]]) and the set operators &&, -- and ~~,
//     and the regex crate's nesting limit;
//   - \p{..} as Rust reads it beyond Go: an "is" prefix, gc=, sc=, scx=
//     and !=, ISO 15924 script codes, binary properties with their short
//     and loose names, and the derived properties (Alphabetic, Lowercase,
//     Uppercase, Cased, Math, ID_Start, ID_Continue, Grapheme_Extend);
//     the names Go's regexp knows come from Go's own tables;
//   - fancy-regex's syntax: {,n}, a repetition of a repetition (x{2}{3}
//     reads the second as literal text), an inline flag that outlives the
//     capture group it is set in, \h \H \O \Z \< \> \K, \u{..} and \U
//     escapes, (?P=name), \k<-1>, possessive repetitions, conditionals
//     on a named group, on an expression (which is consumed) or without
//     branches,
//     and its refusals: look-behind of variable size, a numbered
//     back-reference once a named group exists, \0, unknown escapes,
//     groups nested deeper than 64, repetition counts above 1,000,000;
//   - on the backtracking engine: groups numbered by opening parenthesis
//     (regexp2 numbers named groups last), Unicode simple case folding
//     (regexp2 lower-cases instead: (?i)ς misses Σ), and fancy-regex's
//     iteration after an empty match.
//
// Everything else the parser reads only to pass it on unchanged in
// meaning (look-around, back-references, atomic groups, \A \z \G, \e,
// (?#..), inline flags, lazy repetitions, named groups on Go's regexp).
// Compile errors are *Error values whose message quotes the pattern and
// reuses fancy-regex's wording (for example `invalid regex "a(b": Parsing
// error at position 3: Opening parenthesis without closing parenthesis`).
//
// # Engines
//
// A pattern is parsed once into a tree in which every character class is
// resolved to an explicit set of code points with Rust's semantics, and
// the tree is written out for one of two engines:
//
//   - Go's regexp ("re2", linear time, no allocation for MatchString) when
//     the pattern has no look-around, back-reference, atomic group,
//     possessive repetition, conditional, \K, \G, \Z, \< or \>, and Go
//     accepts it (it refuses repetition counts above 1000);
//   - github.com/dlclark/regexp2 ("backtracking") otherwise, with a match
//     timeout (Options.Timeout, DefaultTimeout = 1s) so that catastrophic
//     backtracking ends in a *TimeoutError (errors.Is(err, ErrTimeout))
//     instead of a hang. fancy-regex bounds the number of backtracking
//     steps instead (one million), with the same outcome: an error.
//
// Either way the emitted text spells out what differs between the
// dialects, so both engines give Rust's answers: \d \w \s and classes are
// Unicode sets (Go's own \d \w \s are ASCII; .NET's differ from Rust's),
// ^ $ become \A \z (regexp2's $ would also match before a final newline),
// case-insensitive text is folded with Unicode simple case folding
// (regexp2 gets explicit classes such as [Kk\u212A], not its culture
// rules), and groups are emitted unnamed so they are numbered by opening
// parenthesis (regexp2 numbers named groups last). Iteration (FindAll*,
// ReplaceN, Split) follows fancy-regex: after an empty match the search
// resumes one character later, and an empty match where the previous
// match ended is skipped.
//
// Word boundaries: Rust's \b and \B are Unicode-aware, Go's are ASCII-only.
// The two agree on ASCII text, so a pattern using \b or \B runs on Go's
// regexp for ASCII haystacks (the usual SMTP response) and on the
// backtracking engine, with an exact Unicode spelling of the boundary,
// for any other haystack.
//
// Prefilter: when every match needs one of a few literal strings (the
// longest such requirement is picked: "RL000010" in the shipped rule
// ^(?!.*KumoMTA internal).*RL000010), a substring search rejects
// haystacks without them before any engine runs. Case-insensitive
// literals are only checked on ASCII haystacks. When the whole pattern is
// such literals (spam|blocked, (?i)blacklisted), MatchString answers from
// the search alone.
//
// # Differences that remain
//
//   - Unicode tables are Go's (Unicode 15.0 with Go 1.26); the Rust crate
//     may be a version ahead. \p{Greek} means the Script property here,
//     Script_Extensions in Rust. Four-letter script codes are known for
//     the scripts Go has; Age, Grapheme_Cluster_Break, Word_Break and
//     Sentence_Break, and binary properties Go has no table for (Emoji,
//     Bidi_Mirrored, ...), are refused ("Unicode property not found").
//   - A case-insensitive back-reference, (?i:\1), compares with Go's
//     unicode.ToLower on the backtracking engine; fancy-regex uses simple
//     case folding, so a few pairs (s and ſ, σ and ς) differ.
//   - Limits differ: regexp2 times out (default 1s) where fancy-regex
//     counts backtracking steps; repetition counts above 1,000,000 are
//     refused here; Go and regexp2 have their own size limits.
//   - Haystacks need not be valid UTF-8 (KumoMTA refuses such Lua
//     strings): each invalid byte reads as U+FFFD, and offsets stay byte
//     offsets into the original string.
//   - \K sets the start of the match where it last ran (a hidden regexp2
//     group records it). \G after an empty match that the iteration
//     skipped may still match (fancy-regex then refuses it).
//   - A conditional with a pattern as condition, (?(cond)yes|no), consumes
//     the condition's first match, as fancy-regex does; its captures are
//     those of that first match.
package regex
