package dkim

import (
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestKeyCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewKeyCache(func() time.Time { return now })
	loads := 0
	_, k1, _ := ed25519.GenerateKey(nil)
	load := func() (crypto.Signer, error) { loads++; return k1, nil }
	for range 3 {
		if k, err := c.Get("a", time.Minute, load); err != nil || !k1.Equal(k) {
			t.Fatal(k, err)
		}
	}
	if loads != 1 {
		t.Errorf("%d loads within the ttl, want 1", loads)
	}
	now = now.Add(time.Minute)
	c.Get("a", time.Minute, load)
	if loads != 2 {
		t.Errorf("%d loads after the ttl, want 2", loads)
	}
	c.Get("zero", 0, load)
	c.Get("zero", 0, load)
	if loads != 4 {
		t.Errorf("ttl 0 cached: %d loads", loads)
	}
	boom := errors.New("boom")
	if _, err := c.Get("bad", time.Minute, func() (crypto.Signer, error) { return nil, boom }); err != boom {
		t.Fatal(err)
	}
	if _, err := c.Get("bad", time.Minute, load); err != nil {
		t.Errorf("a failed load was cached: %v", err)
	}
	for i := range keyCacheCapacity + 10 {
		c.Get(fmt.Sprint("k", i), time.Hour, load)
	}
	if n := len(c.m); n > keyCacheCapacity {
		t.Errorf("%d entries, capacity %d", n, keyCacheCapacity)
	}
}
