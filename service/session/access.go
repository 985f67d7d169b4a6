package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/peertext"
)

// access is what a host said, before READY, about who may join its session
// and under which names: tmate-set authorized_keys=..., tmate-session-name,
// tmate-session-name-ro and tmate-api-key. The host's reader writes it under
// Session.mu; guests' lookups read it under the read lock.
type access struct {
	guestKeys map[string]bool // ssh.PublicKey.Marshal() of keys allowed to join; empty: anyone with a token
	badKeys   []string        // authorized_keys lines that could not be parsed
	keysFile  string          // tmate-authorized-keys: the host meant to restrict its guests
	name      string          // tmate-session-name
	roName    string          // tmate-session-name-ro
	apiKey    string          // tmate-api-key
}

// RefusedError ends a host's session with a message the host reads (a
// NOTIFY) before the relay hangs up.
type RefusedError struct{ Msg string }

func (e *RefusedError) Error() string { return e.Msg }

// applyAccess takes the set-option names the relay interprets for access;
// it reports whether name was one of them.
func (a *access) apply(name, value string) bool {
	switch name {
	case "tmate-set":
		line, ok := strings.CutPrefix(value, "authorized_keys=")
		if !ok {
			return false
		}
		k, _, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
		if err != nil || UnsupportedKeyOption(options) != "" {
			// The original server drops a line with options too: a
			// from= ignored would let the key in from anywhere.
			a.badKeys = append(a.badKeys, line)
			return true
		}
		if a.guestKeys == nil {
			a.guestKeys = map[string]bool{}
		}
		a.guestKeys[string(k.Marshal())] = true
		return true
	case "tmate-authorized-keys":
		a.keysFile = value
	case "tmate-session-name":
		a.name = value
	case "tmate-session-name-ro":
		a.roName = value
	case "tmate-api-key":
		a.apiKey = value
	default:
		return false
	}
	return true
}

// Policy is what the relay requires of its hosts' sessions.
type Policy struct {
	// RequireGuestKeys refuses hosts that do not restrict their guests to
	// listed keys (tmate-authorized-keys).
	RequireGuestKeys bool
	// APIKeys, when not empty, are the tmate-api-key values that allow a
	// host to name its session.
	APIKeys []string
}

// RestrictsGuests reports whether only guests with listed SSH keys may
// join (the host set tmate-authorized-keys).
func (s *Session) RestrictsGuests() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.access.guestKeys) > 0
}

// AllowsGuestKey reports whether a guest presenting key may join: any key
// when the session is not restricted, else only a listed one.
func (s *Session) AllowsGuestKey(key ssh.PublicKey) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.access.guestKeys) == 0 || s.access.guestKeys[string(key.Marshal())]
}

// maxNameLen is the longest session name accepted.
const maxNameLen = 50

// ValidSessionName reports whether name may be a session name: 1 to 50
// letters, digits and single dashes, starting and ending with a letter or
// digit.
func ValidSessionName(name string) bool {
	if name == "" || len(name) > maxNameLen || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' && name[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// admit checks what the host asked for against the relay's policy and
// claims the session's names; it runs when the host is READY, before the
// join commands are announced. A RefusedError tells the host why not.
func (s *Session) admit() error {
	s.mu.RLock()
	a := s.access
	s.mu.RUnlock()
	reg := s.registry
	var pol Policy
	if reg != nil {
		pol = reg.Policy()
	}
	if len(a.badKeys) > 0 && len(a.guestKeys) == 0 {
		return &RefusedError{fmt.Sprintf("Relay: tmate-authorized-keys has no usable key (%q is not an SSH public key without options); no guest could join.", peertext.Cut(a.badKeys[0], 40))}
	}
	if a.keysFile != "" && len(a.guestKeys) == 0 {
		// Letting anyone with the token in would undo what the host meant.
		return &RefusedError{fmt.Sprintf("Relay: tmate-authorized-keys (%s) lists no SSH public key; no guest could join. Add the keys of those who may join.", peertext.Cut(a.keysFile, 60))}
	}
	if pol.RequireGuestKeys && len(a.guestKeys) == 0 {
		return &RefusedError{"Relay: this relay requires sessions restricted to known guests. " +
			"Add `set tmate-authorized-keys \"~/.ssh/authorized_keys\"` (a file of the SSH public keys that may join) to ~/.tmate.conf and start tmate again."}
	}
	if a.name == "" && a.roName == "" {
		if reg != nil && reg.directory() != nil {
			// The cluster learns the session's tokens, which its host
			// announces next.
			if err := reg.claim(s, "", ""); errors.Is(err, ErrEnded) {
				return &RefusedError{"Relay: " + err.Error()}
			} else if err != nil { // random tokens held elsewhere: never seen
				return &RefusedError{"Relay: this session's tokens are in use on another node: start tmate again for new ones."}
			}
		}
		return nil
	}
	// A session name is a token: the messages (which the relay also logs)
	// name the option, never its value.
	for _, n := range []struct{ opt, v string }{{"tmate-session-name", a.name}, {"tmate-session-name-ro", a.roName}} {
		if n.v != "" && !ValidSessionName(n.v) {
			return &RefusedError{fmt.Sprintf("Relay: %s is not valid: use 1 to %d letters, digits and single dashes.", n.opt, maxNameLen)}
		}
	}
	if a.name != "" && a.name == a.roName {
		return &RefusedError{"Relay: tmate-session-name-ro must differ from tmate-session-name."}
	}
	if len(pol.APIKeys) > 0 && !listed(pol.APIKeys, a.apiKey) {
		if a.apiKey == "" {
			return &RefusedError{"Relay: named sessions need an API key: set tmate-api-key to a key the relay's administrator gave you."}
		}
		return &RefusedError{"Relay: tmate-api-key is not valid on this relay, so the session cannot be named."}
	}
	if reg == nil {
		return nil
	}
	if err := reg.claim(s, a.name, a.roName); errors.Is(err, ErrEnded) {
		return &RefusedError{"Relay: " + err.Error()}
	} else if err != nil {
		opt := "tmate-session-name-ro"
		var taken *NameTakenError
		if errors.As(err, &taken) && taken.Name == a.name {
			opt = "tmate-session-name" // held here or on another node
		} else if o, _, ok := reg.Lookup(a.name); ok && o != s {
			opt = "tmate-session-name"
		}
		return &RefusedError{"Relay: the " + opt + " is in use by another live session: choose another, or end that session first."}
	}
	return nil
}

// UnsupportedKeyOption is the first of an authorized_keys line's options
// (OpenSSH's, case-insensitive) that limits where, when, how or as what its key
// may be used, "" if none: the relay cannot honour these, and ignoring
// them would let in more than meant. Options about the session (no-pty,
// command=...) mean nothing to a relay and are ignored.
func UnsupportedKeyOption(options []string) string {
	for _, o := range options {
		name, _, _ := strings.Cut(strings.ToLower(o), "=")
		switch name {
		case "from", "cert-authority", "expiry-time", "principals", "verify-required":
			return name
		}
	}
	return ""
}

func listed(keys []string, k string) bool {
	if k == "" {
		return false
	}
	// Compared as digests, so neither the time taken nor an early
	// return on a length mismatch tells how long a listed key is.
	sum := sha256.Sum256([]byte(k))
	found := false
	for _, x := range keys {
		xs := sha256.Sum256([]byte(x))
		found = subtle.ConstantTimeCompare(xs[:], sum[:]) == 1 || found
	}
	return found
}
