package ctld

import (
	"sync"
	"time"
)

// tokenCacheMax bounds a tokenCache: past it the cache forgets every token
// and starts again.
const tokenCacheMax = 4096

// tokenCache remembers the claims of tokens whose signature verified with
// the controller's key, so that a client sending the same token with every
// request (a script submitting thousands of jobs) has it checked once and
// not parsed and hashed again each time. A token is found only by its whole
// text, signature included; a cached token is used only while every time
// check passes without the leeway the full check allows, so whenever
// the cache answers, the full check would accept the token too, and a
// token near or past its expiry is checked in full (with its precise
// error). The key never changes while the controller runs. Safe for
// concurrent use.
type tokenCache struct {
	mu     sync.Mutex
	claims map[string]slurmClaims
}

// newTokenCache returns an empty cache.
func newTokenCache() *tokenCache {
	return &tokenCache{claims: map[string]slurmClaims{}}
}

// get returns the claims of tok if it verified before and its times are
// valid at now.
func (c *tokenCache) get(tok string, now time.Time) (slurmClaims, bool) {
	c.mu.Lock()
	cl, ok := c.claims[tok]
	c.mu.Unlock()
	if !ok || !timesValid(&cl, now) {
		return slurmClaims{}, false
	}
	return cl, true
}

// put remembers the claims of a token that verified.
func (c *tokenCache) put(tok string, cl slurmClaims) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.claims) >= tokenCacheMax {
		clear(c.claims)
	}
	c.claims[tok] = cl
}

// timesValid reports whether the token's times hold at now without any
// leeway: it expires after now and was neither issued nor valid only after
// now.
func timesValid(cl *slurmClaims, now time.Time) bool {
	switch {
	case cl.ExpiresAt == nil || !now.Before(cl.ExpiresAt.Time):
		return false
	case cl.IssuedAt != nil && cl.IssuedAt.After(now):
		return false
	case cl.NotBefore != nil && cl.NotBefore.After(now):
		return false
	}
	return true
}
