package sshd

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// testSigner is a fresh SSH key; kind is "ed25519" or "ecdsa".
func testSigner(t *testing.T, kind string) ssh.Signer {
	t.Helper()
	var priv any
	switch kind {
	case "ed25519":
		_, priv, _ = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// authorizedLine is k's authorized_keys line, without its newline.
func authorizedLine(k ssh.Signer) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.PublicKey())))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestAuthorizedKeysFile(t *testing.T) {
	a, b, c := testSigner(t, "ed25519"), testSigner(t, "ecdsa"), testSigner(t, "ed25519")
	la, lb := authorizedLine(a), authorizedLine(b)
	for _, tc := range []struct {
		name    string
		content string
		allowed []ssh.Signer
		refused []ssh.Signer
		wantErr string // with FILE: prefix left out; "" for none
	}{
		{"one key", la + "\n", []ssh.Signer{a}, []ssh.Signer{b, c}, ""},
		{"no final newline", la, []ssh.Signer{a}, []ssh.Signer{b}, ""},
		{"comments and blank lines", "# hosts\n\n   \n" + la + " alice@laptop\n  # " + lb + "\n", []ssh.Signer{a}, []ssh.Signer{b}, ""},
		{"options before the key", `no-pty,command="echo hi",environment="A=b c" ` + la + "\n" + `restrict ` + lb + " bob\n", []ssh.Signer{a, b}, []ssh.Signer{c}, ""},
		{"CRLF line ends", la + "\r\n" + lb + "\r\n", []ssh.Signer{a, b}, []ssh.Signer{c}, ""},
		{"indented key", "\t  " + la + "\n", []ssh.Signer{a}, nil, ""},
		{"empty file allows nobody", "", nil, []ssh.Signer{a}, ""},
		{"only comments allows nobody", "# nobody yet\n", nil, []ssh.Signer{a}, ""},
		{"a bad line names its line", la + "\n# x\n\nnot-a-key AAAA\n" + lb + "\n", nil, []ssh.Signer{a, b}, ":4: "},
		{"a truncated key", la[:len(la)-10] + "\n", nil, []ssh.Signer{a}, ":1: "},
		// Options the relay cannot honour would let the key in from
		// anywhere, at any time: the file is refused instead.
		{"from= is refused", la + "\n" + `from="10.0.0.0/8" ` + lb + "\n", nil, []ssh.Signer{a, b}, ":2: option from "},
		{"FROM= in capitals too", `FROM="10.0.0.0/8" ` + la + "\n", nil, []ssh.Signer{a}, ":1: option from "},
		{"expiry-time= is refused", `expiry-time="20200101" ` + la + "\n", nil, []ssh.Signer{a}, ":1: option expiry-time "},
		{"cert-authority is refused", `cert-authority ` + la + "\n", nil, []ssh.Signer{a}, ":1: option cert-authority "},
		{"verify-required is refused", `verify-required ` + la + "\n", nil, []ssh.Signer{a}, ":1: option verify-required "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "hosts_authorized_keys")
			writeFile(t, path, tc.content)
			ak := newAuthorizedKeys(path)
			for _, k := range tc.allowed {
				if ok, err := ak.allows(k.PublicKey()); !ok || err != nil {
					t.Errorf("listed %s key refused: %v", k.PublicKey().Type(), err)
				}
			}
			for _, k := range tc.refused {
				ok, err := ak.allows(k.PublicKey())
				if ok {
					t.Errorf("unlisted %s key allowed", k.PublicKey().Type())
				}
				switch {
				case tc.wantErr == "" && err != nil:
					t.Errorf("error %v, want none", err)
				case tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), path+tc.wantErr)):
					t.Errorf("error %v, want it to start with %s%s", err, path, tc.wantErr)
				}
			}
		})
	}
}

func TestAuthorizedKeysAreReadAgainWhenTheFileChanges(t *testing.T) {
	a, b := testSigner(t, "ed25519"), testSigner(t, "ed25519")
	path := filepath.Join(t.TempDir(), "hosts_authorized_keys")
	ak := newAuthorizedKeys(path)
	const (
		edit    = iota // written in place, a second after the last change
		same           // written in place with the same size, its time put back
		replace        // a new file renamed over it, with the same size and time
		remove
	)
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, step := range []struct {
		how     int
		content string
		allowA  bool
		allowB  bool
		err     string
	}{
		{remove, "", false, false, "no such file"},
		{edit, authorizedLine(a) + "\n", true, false, ""},
		{edit, authorizedLine(b) + "\n", false, true, ""}, // same size as before
		{same, authorizedLine(a) + "\n", true, false, ""},
		{same, authorizedLine(b) + "\n", false, true, ""},
		{replace, authorizedLine(a) + "\n", true, false, ""},
		{edit, authorizedLine(a) + "\n" + authorizedLine(b) + "\n", true, true, ""},
		{edit, "garbage\n" + authorizedLine(a) + "\n", false, false, ":1: "},
		{remove, "", false, false, "no such file"},
		{edit, authorizedLine(b) + " back\n", false, true, ""},
		{edit, "", false, false, ""},
	} {
		switch step.how {
		case remove:
			os.Remove(path)
		case edit:
			writeFile(t, path, step.content)
			mtime = mtime.Add(time.Second)
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		case same:
			before, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteString(step.content); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.Chtimes(path, before.ModTime(), before.ModTime()); err != nil {
				t.Fatal(err)
			}
			after, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) || !os.SameFile(before, after) {
				t.Fatalf("step %d: the edit changed the file's size, time or inode", i+1)
			}
		case replace:
			tmp := path + ".new"
			writeFile(t, tmp, step.content)
			if err := os.Chtimes(tmp, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []struct {
			name string
			key  ssh.Signer
			want bool
		}{{"a", a, step.allowA}, {"b", b, step.allowB}} {
			ok, err := ak.allows(k.key.PublicKey())
			if ok != k.want {
				t.Errorf("step %d: key %s allowed = %v, want %v", i+1, k.name, ok, k.want)
			}
			if step.err == "" && err != nil || step.err != "" && (err == nil || !strings.Contains(err.Error(), step.err)) {
				t.Errorf("step %d: error %v, want %q", i+1, err, step.err)
			}
		}
	}
}
