package ctld

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

// TestTokenCacheSameAnswers: a controller that verified a token before
// answers every later use of it (and of tokens like it) as one that never
// saw it: accepted while valid, within the leeway too, and refused with the
// same error once expired, when tampered with or issued in the future.
func TestTokenCacheSameAnswers(t *testing.T) {
	key := []byte("test-jwt-key-of-32-bytes-or-more!")
	t0 := time.Unix(1_800_000_000, 0)
	sign := func(k []byte, claims jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := sign(key, jwt.MapClaims{"sun": "ann", "iat": t0.Unix(), "exp": t0.Add(time.Minute).Unix()})
	future := sign(key, jwt.MapClaims{"sun": "ann", "iat": t0.Add(30 * time.Second).Unix(), "exp": t0.Add(time.Hour).Unix()})
	tests := []struct {
		name string
		tok  string
		at   time.Duration // after t0
	}{
		{"valid", good, time.Second},
		{"valid, again", good, 2 * time.Second},
		{"at expiry, within the leeway", good, time.Minute + 2*time.Second},
		{"expired", good, 2 * time.Minute},
		{"signature changed", good[:len(good)-2] + "AA", time.Second},
		{"signed with another key", sign([]byte("another-key-of-32-bytes-or-more!!"), jwt.MapClaims{"sun": "ann", "exp": t0.Add(time.Minute).Unix()}), time.Second},
		{"issued in the future", future, time.Second},
		{"issued in the future, within the leeway", future, 27 * time.Second},
		{"issued in the future, now valid", future, time.Minute},
	}
	answer := func(a *authenticator, tok string) string {
		cl, err := a.parseToken(tok)
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("user %s until %v", cl.Sun, cl.ExpiresAt.Unix())
	}
	var now time.Time
	warm := &authenticator{jwtKey: key, tokens: newTokenCache(), now: func() time.Time { return now }}
	// Every token verified once while valid, so that the cache holds it.
	now = t0.Add(time.Second)
	answer(warm, good)
	now = t0.Add(time.Minute)
	answer(warm, future)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now = t0.Add(tc.at)
			cold := &authenticator{jwtKey: key, tokens: newTokenCache(), now: func() time.Time { return now }}
			if diff := cmp.Diff(answer(cold, tc.tok), answer(warm, tc.tok)); diff != "" {
				t.Errorf("answer (-never seen +verified before):\n%s", diff)
			}
		})
	}
}

// TestTokenCacheBounded: the cache never holds more than tokenCacheMax
// tokens.
func TestTokenCacheBounded(t *testing.T) {
	c := newTokenCache()
	for i := range tokenCacheMax + 10 {
		c.put(fmt.Sprint(i), slurmClaims{Sun: "ann"})
	}
	if n := len(c.claims); n > tokenCacheMax {
		t.Errorf("%d tokens cached, want at most %d", n, tokenCacheMax)
	}
}
