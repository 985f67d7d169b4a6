package password

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// argon2idOf is the PHC string other tools (argon2, passlib) write.
func argon2idOf(pw string) string {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 2, 1024, 1, 32)
	return fmt.Sprintf("$argon2id$v=19$m=1024,t=2,p=1$%s$%s",
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func TestHashVerifies(t *testing.T) {
	h, err := Hash([]byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(h); err != nil {
		t.Fatalf("Check(%q) = %v", h, err)
	}
	if !Verify(h, []byte("correct horse")) {
		t.Error("the right password does not verify")
	}
	if Verify(h, []byte("correct horsE")) {
		t.Error("a wrong password verifies")
	}
}

func TestHashRefuses(t *testing.T) {
	for _, pw := range []string{"", strings.Repeat("x", MaxLength+1)} {
		if _, err := Hash([]byte(pw)); err == nil {
			t.Errorf("Hash of a %d-byte password: no error", len(pw))
		}
	}
}

func TestArgon2idVerifies(t *testing.T) {
	h := argon2idOf("s3cret")
	if err := Check(h); err != nil {
		t.Fatalf("Check(%q) = %v", h, err)
	}
	if !Verify(h, []byte("s3cret")) {
		t.Error("the right password does not verify")
	}
	if Verify(h, []byte("s3cre")) {
		t.Error("a wrong password verifies")
	}
}

func TestCheckRefuses(t *testing.T) {
	bcrypt, _ := Hash([]byte("pw"))
	argon := argon2idOf("pw")
	for _, tc := range []struct{ name, hash, want string }{
		{"plain text", "hunter2", "not a password hash"},
		{"empty", "", "not a password hash"},
		{"md5 crypt", "$1$salt$hash", "not a password hash"},
		{"cut bcrypt", bcrypt[:40], "not a valid bcrypt hash"},
		{"argon2i", strings.Replace(argon, "argon2id", "argon2i", 1), "only argon2id"},
		{"argon2id version", strings.Replace(argon, "v=19", "v=16", 1), "version"},
		{"argon2id huge memory", strings.Replace(argon, "m=1024", "m=4194304", 1), "exceed"},
		{"argon2id no threads", strings.Replace(argon, ",p=1", "", 1), "want m=M,t=T,p=P"},
		{"argon2id bad salt", strings.Replace(argon, "$MDEy", "$!!!!", 1), "salt"},
		{"argon2id missing part", argon[:strings.LastIndex(argon, "$")], "want $argon2id$"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.hash)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check(%q) = %v, want an error with %q", tc.hash, err, tc.want)
			}
			if Verify(tc.hash, []byte("pw")) {
				t.Errorf("Verify(%q) accepted", tc.hash)
			}
		})
	}
}

// What one login costs the relay's CPU: a bcrypt hash as Hash makes them,
// and argon2id with the parameters RFC 9106 suggests for low memory
// (m=64 MiB, t=3, p=4).
func BenchmarkVerify(b *testing.B) {
	bc, err := Hash([]byte("s3cret pass"))
	if err != nil {
		b.Fatal(err)
	}
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("s3cret pass"), salt, 3, 64<<10, 4, 32)
	ar := fmt.Sprintf("$argon2id$v=19$m=%d,t=3,p=4$%s$%s", 64<<10,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	for _, h := range []struct{ name, hash string }{{"bcrypt-cost12", bc}, {"argon2id-m64MiB-t3-p4", ar}} {
		b.Run(h.name, func(b *testing.B) {
			for b.Loop() {
				if !Verify(h.hash, []byte("s3cret pass")) {
					b.Fatal("does not verify")
				}
			}
		})
	}
}
