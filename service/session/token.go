package session

import (
	"crypto/rand"
	"math/big"
)

// tokenAlphabet has no look-alike characters (no 0/O, 1/l/I, i), as the
// tokens users read aloud from the original server.
const tokenAlphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// TokenLen is the length of a random token (without the "ro-" prefix).
const TokenLen = 25

// ReadOnlyPrefix marks the token of a read-only guest.
const ReadOnlyPrefix = "ro-"

// NewToken returns a random token from crypto/rand.
func NewToken() string {
	b := make([]byte, TokenLen)
	n := big.NewInt(int64(len(tokenAlphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, n)
		if err != nil {
			panic("session: crypto/rand failed: " + err.Error())
		}
		b[i] = tokenAlphabet[v.Int64()]
	}
	return string(b)
}

// ValidTokenSyntax reports whether s may be a token at all: guests may only
// present [A-Za-z0-9_/-], and nothing absurdly long reaches a lookup or a log.
func ValidTokenSyntax(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '/', c == '-':
		default:
			return false
		}
	}
	return true
}
