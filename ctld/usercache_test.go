package ctld

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// countingUsers is a user database that counts its lookups; "gone" is not
// found.
type countingUsers struct{ lookups int }

func (u *countingUsers) byUID(uid int) (account, error) {
	u.lookups++
	return account{User: "ann", UID: uid, GID: 100, Groups: []string{"users"}, GIDs: []int{100}}, nil
}

func (u *countingUsers) byName(name string) (account, error) {
	u.lookups++
	if name == "gone" {
		return account{}, errors.New("unknown user gone")
	}
	return account{User: name, UID: 1000, GID: 100, Groups: []string{"users"}, GIDs: []int{100}}, nil
}

// A user is looked up in the host's database again only after
// userCacheTTL; a user not found is looked up every time; the groups a
// caller gets are its own.
func TestCachedUsers(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	db := &countingUsers{}
	c := newCachedUsers(db, func() time.Time { return now })
	steps := []struct {
		name    string
		advance time.Duration
		look    func() (account, error)
		lookups int
	}{
		{"first", 0, func() (account, error) { return c.byName("ann") }, 1},
		{"again", time.Second, func() (account, error) { return c.byName("ann") }, 1},
		{"by uid", 0, func() (account, error) { return c.byUID(1000) }, 2},
		{"by uid again", 0, func() (account, error) { return c.byUID(1000) }, 2},
		{"not found", 0, func() (account, error) { return c.byName("gone") }, 3},
		{"not found again", 0, func() (account, error) { return c.byName("gone") }, 4},
		{"after the TTL", userCacheTTL, func() (account, error) { return c.byName("ann") }, 5},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		a, err := s.look()
		if err == nil {
			a.Groups[0] = "changed by the caller"
		}
		if db.lookups != s.lookups {
			t.Errorf("%s: %d lookups in the host database, want %d", s.name, db.lookups, s.lookups)
		}
	}
	a, err := c.byName("ann")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"users"}, a.Groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}
