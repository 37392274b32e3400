package ctld

import (
	"slices"
	"sync"
	"time"
)

// userCacheTTL is how long a user found in the host's user database (and
// the user's groups) is remembered: a change of groups counts after at
// most this long, as Slurm's controller caches groups (GroupUpdateTime).
// Users not found are not remembered.
const userCacheTTL = 30 * time.Second

// userCacheMax bounds the users remembered; past it the cache starts over.
const userCacheMax = 10_000

// cachedUsers remembers the lookups of db for userCacheTTL. The host's
// lookup (NSS and getgrouplist through cgo) for every request carrying a
// token was 7% of the leader's CPU at 400 submissions/s (docs/scale.md).
type cachedUsers struct {
	db  userDB
	now func() time.Time

	mu   sync.Mutex
	byNm map[string]cachedAccount
	byID map[int]cachedAccount
}

// cachedAccount is a remembered account and when it was looked up.
type cachedAccount struct {
	acct account
	at   time.Time
}

// newCachedUsers wraps db.
func newCachedUsers(db userDB, now func() time.Time) *cachedUsers {
	return &cachedUsers{db: db, now: now, byNm: map[string]cachedAccount{}, byID: map[int]cachedAccount{}}
}

func (c *cachedUsers) byUID(uid int) (account, error) {
	return cachedLookup(c, c.byID, uid, c.db.byUID)
}

func (c *cachedUsers) byName(name string) (account, error) {
	return cachedLookup(c, c.byNm, name, c.db.byName)
}

// cachedLookup answers from m when the entry is fresh, else from look,
// remembering a success. The answer's slices are the caller's own.
func cachedLookup[K comparable](c *cachedUsers, m map[K]cachedAccount, key K, look func(K) (account, error)) (account, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := m[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < userCacheTTL && !now.Before(e.at) {
		return e.acct.clone(), nil
	}
	a, err := look(key)
	if err != nil {
		return a, err
	}
	c.mu.Lock()
	if len(c.byNm)+len(c.byID) >= userCacheMax {
		clear(c.byNm)
		clear(c.byID)
	}
	m[key] = cachedAccount{acct: a.clone(), at: now}
	c.mu.Unlock()
	return a, nil
}

// clone copies an account's slices.
func (a account) clone() account {
	a.Groups = slices.Clone(a.Groups)
	a.GIDs = slices.Clone(a.GIDs)
	return a
}
