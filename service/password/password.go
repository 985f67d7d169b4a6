// Package password makes and checks the password hashes of the admin
// pages' users ([admin] users in relay.toml): bcrypt, and argon2id in the
// PHC string format ($argon2id$v=19$m=...,t=...,p=...$SALT$HASH) that
// other tools write.
package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Cost is the bcrypt cost of the hashes Hash makes.
const Cost = 12

// MaxLength is the longest password bcrypt takes (in bytes).
const MaxLength = 72

// Hash returns a bcrypt hash of pw for relay.toml.
func Hash(pw []byte) (string, error) {
	if len(pw) == 0 {
		return "", errors.New("the password is empty")
	}
	if len(pw) > MaxLength {
		return "", fmt.Errorf("the password is %d bytes long; bcrypt takes at most %d", len(pw), MaxLength)
	}
	h, err := bcrypt.GenerateFromPassword(pw, Cost)
	return string(h), err
}

// Limits of argon2id parameters, so that a hash cannot make one check
// take the relay's memory or minutes of CPU.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 64
	maxArgonThreads = 64
)

// Check says what is wrong with hash, or nil when Verify can use it.
func Check(hash string) error {
	switch {
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return fmt.Errorf("not a valid bcrypt hash: %v", strings.TrimPrefix(err.Error(), "crypto/bcrypt: "))
		}
		if len(hash) != 60 {
			return fmt.Errorf("not a valid bcrypt hash: %d characters, want 60", len(hash))
		}
		return nil
	case strings.HasPrefix(hash, "$argon2id$"):
		_, err := parseArgon2id(hash)
		return err
	case strings.HasPrefix(hash, "$argon2"):
		return errors.New("only argon2id is accepted of the argon2 variants")
	default:
		return errors.New("not a password hash: want bcrypt ($2b$...) or argon2id ($argon2id$...), as `tmate-relay hash-password` prints")
	}
}

// Verify reports whether pw matches hash, in time that does not depend
// on how much of it matches.
func Verify(hash string, pw []byte) bool {
	if strings.HasPrefix(hash, "$argon2id$") {
		a, err := parseArgon2id(hash)
		if err != nil {
			return false
		}
		got := argon2.IDKey(pw, a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
		return subtle.ConstantTimeCompare(got, a.key) == 1
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), pw) == nil
}

type argon2Hash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

// parseArgon2id reads $argon2id$v=19$m=M,t=T,p=P$SALT$HASH (base64
// without padding, as the PHC format has it).
func parseArgon2id(s string) (argon2Hash, error) {
	var a argon2Hash
	bad := func(format string, args ...any) (argon2Hash, error) {
		return a, fmt.Errorf("not a valid argon2id hash: "+format, args...)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=M,t=T,p=P$SALT$HASH")
	}
	if parts[2] != "v=19" {
		return bad("version %q, want v=19", parts[2])
	}
	params := map[string]uint64{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return bad("parameter %q is not NAME=NUMBER", kv)
		}
		params[k] = n
	}
	m, t, p := params["m"], params["t"], params["p"]
	switch {
	case len(params) != 3 || m == 0 || t == 0 || p == 0:
		return bad("parameters %q, want m=M,t=T,p=P", parts[3])
	case m > maxArgonMemory || t > maxArgonTime || p > maxArgonThreads:
		return bad("parameters %q exceed m=%d,t=%d,p=%d", parts[3], maxArgonMemory, maxArgonTime, maxArgonThreads)
	}
	a.memory, a.time, a.threads = uint32(m), uint32(t), uint8(p)
	var err error
	if a.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(a.salt) < 8 {
		return bad("salt is not base64 of at least 8 bytes")
	}
	if a.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(a.key) < 16 {
		return bad("hash is not base64 of at least 16 bytes")
	}
	return a, nil
}
