package dns

import "sync"

// Registry holds the named resolvers of kumo.dns.define_resolver. It is
// safe for concurrent use; the zero value is not usable, create one with
// NewRegistry.
type Registry struct {
	mu sync.RWMutex
	m  map[string]*Resolver
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]*Resolver{}} }

// Define makes name resolve with a new resolver for cfg, replacing (and
// closing the idle connections of) one defined before under that name.
func (g *Registry) Define(name string, cfg Config, opts ...Option) *Resolver {
	r := New(cfg, opts...)
	g.mu.Lock()
	old := g.m[name]
	g.m[name] = r
	g.mu.Unlock()
	if old != nil {
		old.CloseIdleConnections()
	}
	return r
}

// Get returns the resolver defined as name.
func (g *Registry) Get(name string) (*Resolver, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	r, ok := g.m[name]
	return r, ok
}
