package plain

import (
	"sync"
	"sync/atomic"
)

// ParseMemo remembers the results of a pure string parser for the strings
// it has seen, up to a bound. Shaping data repeats a small set of values
// ("5m", "100/h", "20") across every resolve; parsing each once takes the
// grammars off the hot path. Only successful parses are kept, so error
// texts are always computed afresh.
type ParseMemo[V any] struct {
	m     sync.Map // string -> V
	n     atomic.Int64
	limit int64
}

// NewParseMemo returns a memo that keeps at most limit strings.
func NewParseMemo[V any](limit int) *ParseMemo[V] {
	return &ParseMemo[V]{limit: int64(limit)}
}

// Parse returns parse(s), from the memo when s was parsed before.
func (p *ParseMemo[V]) Parse(s string, parse func(string) (V, error)) (V, error) {
	if v, ok := p.m.Load(s); ok {
		return v.(V), nil
	}
	v, err := parse(s)
	if err == nil && p.n.Load() < p.limit {
		if _, loaded := p.m.LoadOrStore(s, v); !loaded {
			p.n.Add(1)
		}
	}
	return v, err
}
