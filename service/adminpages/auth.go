package adminpages

import (
	"crypto/subtle"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"unicode/utf8"

	"tmate-relay/service/password"
)

// Realm is the HTTP Basic authentication realm of the admin pages.
const Realm = "tmate-relay admin"

// maxUserLen bounds a user name as the audit trail records it.
const maxUserLen = 64

// credentials decide who may see the admin pages: the users of
// [admin] users, or else whoever an authenticating proxy names in the
// trusted header.
type credentials struct {
	header string // canonical; set: the header alone decides
	names  []string
	hashes []string
	// decoy is checked for a user name that is not listed, so that the
	// answer takes as long as for a listed one.
	decoy string
	// slots bound the password checks running at once: each takes a
	// core for a quarter second or so, and a flood of logins must not
	// take the cores the sessions need.
	slots chan struct{}
	// known remembers logins that were right for a while, keyed by an
	// HMAC under a key of this process: a browser sends the password
	// with every request, and each check costs a quarter second.
	known *loginCache
}

func newCredentials(users map[string]string, header string) *credentials {
	c := &credentials{header: header, slots: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)), known: newLoginCache()}
	for name := range users {
		c.names = append(c.names, name)
	}
	slices.Sort(c.names)
	for _, name := range c.names {
		c.hashes = append(c.hashes, users[name])
	}
	if len(c.hashes) > 0 {
		c.decoy = c.hashes[0]
	}
	return c
}

// verdict is what authenticate found: the user (as given, even when
// refused), whether it is let in, and why not.
type verdict struct {
	user string
	ok   bool
	why  string
	// guessed: a name and password were given and were wrong, which
	// counts towards the address's slow-down (a first request without
	// any does not).
	guessed bool
}

func (c *credentials) authenticate(r *http.Request) verdict {
	if c.header != "" {
		v := strings.TrimSpace(r.Header.Get(c.header))
		if v == "" {
			return verdict{why: "no " + c.header + " header from the authenticating proxy"}
		}
		return verdict{user: clean(v), ok: true}
	}
	user, pw, ok := r.BasicAuth()
	if !ok {
		return verdict{why: "no credentials"}
	}
	// Every name is compared, in constant time, and a password is always
	// checked against a hash: how long the answer takes says nothing
	// about which names exist.
	if c.known.has(user, pw) {
		return verdict{user: user, ok: true}
	}
	hash := c.decoy
	found := 0
	for i, name := range c.names {
		if subtle.ConstantTimeCompare([]byte(name), []byte(user)) == 1 {
			hash, found = c.hashes[i], 1
		}
	}
	select {
	case c.slots <- struct{}{}:
	case <-r.Context().Done(): // gone while waiting its turn: no hash to pay for
		return verdict{user: clean(user), why: "gone before its password was checked"}
	}
	match := password.Verify(hash, []byte(pw))
	<-c.slots
	if found == 1 && match {
		c.known.add(user, pw)
		return verdict{user: user, ok: true}
	}
	return verdict{user: clean(user), why: "wrong user name or password", guessed: true}
}

// challenge is the WWW-Authenticate header of a refusal, or "" when a
// proxy authenticates.
func (c *credentials) challenge() string {
	if c.header != "" {
		return ""
	}
	return `Basic realm="` + Realm + `", charset="UTF-8"`
}

// clean makes a name given by a client fit for the audit trail: control
// characters and invalid UTF-8 become "?", and it is cut to maxUserLen.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	if len(s) > maxUserLen {
		n := maxUserLen
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}
