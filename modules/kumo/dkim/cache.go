package dkim

import (
	"crypto"
	"sync"
	"time"
)

// keyCacheCapacity bounds a KeyCache; past it, expired entries go first,
// then the entry closest to expiring.
const keyCacheCapacity = 1024

// KeyCache holds parsed signing keys for the ttl of the signer that loaded
// them, as KumoMTA's dkim_key_cache does, so a policy that builds a signer
// per message does not read and parse the key file each time. It is safe
// for concurrent use.
type KeyCache struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]cachedKey
}

type cachedKey struct {
	key     crypto.Signer
	expires time.Time
}

// NewKeyCache returns an empty cache on clock now (nil: time.Now).
func NewKeyCache(now func() time.Time) *KeyCache {
	if now == nil {
		now = time.Now
	}
	return &KeyCache{now: now, m: map[string]cachedKey{}}
}

// Get returns the key cached under id, or loads it and keeps it for ttl
// (a ttl of 0 neither uses nor keeps a cached key). A failed load is not
// cached.
func (c *KeyCache) Get(id string, ttl time.Duration, load func() (crypto.Signer, error)) (crypto.Signer, error) {
	if ttl <= 0 {
		return load()
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	key, err := load()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= keyCacheCapacity {
		c.evict(now)
	}
	c.m[id] = cachedKey{key: key, expires: now.Add(ttl)}
	return key, nil
}

func (c *KeyCache) evict(now time.Time) {
	var soonest string
	for id, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, id)
		} else if soonest == "" || e.expires.Before(c.m[soonest].expires) {
			soonest = id
		}
	}
	if len(c.m) >= keyCacheCapacity && soonest != "" {
		delete(c.m, soonest)
	}
}
