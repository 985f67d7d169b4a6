package adminpages

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// Bounds of the login cache: a login is checked against its hash again
// after loginTTL, and at most maxKnownLogins are remembered.
const (
	loginTTL       = 10 * time.Minute
	maxKnownLogins = 1024
)

// loginCache remembers user name and password pairs that were right. It
// holds no password, only an HMAC of it under a random key that never
// leaves the process.
type loginCache struct {
	key []byte
	now func() time.Time

	mu    sync.Mutex
	until map[[sha256.Size]byte]time.Time
}

func newLoginCache() *loginCache {
	key := make([]byte, 32)
	rand.Read(key)
	return &loginCache{key: key, now: time.Now, until: map[[sha256.Size]byte]time.Time{}}
}

func (c *loginCache) mac(user, pw string) [sha256.Size]byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(pw))
	var sum [sha256.Size]byte
	copy(sum[:], m.Sum(nil))
	return sum
}

func (c *loginCache) has(user, pw string) bool {
	k := c.mac(user, pw)
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.until[k]
	if ok && c.now().After(until) {
		delete(c.until, k)
		return false
	}
	return ok
}

func (c *loginCache) add(user, pw string) {
	k := c.mac(user, pw)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.until) >= maxKnownLogins {
		for k, until := range c.until {
			if now.After(until) {
				delete(c.until, k)
			}
		}
		if len(c.until) >= maxKnownLogins {
			clear(c.until)
		}
	}
	c.until[k] = now.Add(loginTTL)
}
