package adminpages

import (
	"testing"
	"time"
)

// A right login is remembered until loginTTL has passed; a wrong
// password, or another user, is not taken for it.
func TestLoginCache(t *testing.T) {
	c := newLoginCache()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	c.add("alice", "s3cret pass")
	for _, tc := range []struct {
		user, pw string
		after    time.Duration
		want     bool
	}{
		{"alice", "s3cret pass", 0, true},
		{"alice", "s3cret pas", 0, false},
		{"alic", "es3cret pass", 0, false},
		{"bob", "s3cret pass", 0, false},
		{"alice", "s3cret pass", loginTTL - time.Second, true},
		{"alice", "s3cret pass", loginTTL + time.Second, false},
	} {
		now = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC).Add(tc.after)
		if got := c.has(tc.user, tc.pw); got != tc.want {
			t.Errorf("has(%q, %q) after %s = %v, want %v", tc.user, tc.pw, tc.after, got, tc.want)
		}
	}
}

// The cache stays bounded however many logins there are.
func TestLoginCacheBounded(t *testing.T) {
	c := newLoginCache()
	for i := range 3 * maxKnownLogins {
		c.add("alice", string(rune('a'+i%26))+time.Duration(i).String())
	}
	if n := len(c.until); n > maxKnownLogins {
		t.Errorf("%d logins remembered, more than %d", n, maxKnownLogins)
	}
}
