// Package hostkey creates, loads and fingerprints the relay's SSH host keys.
//
// The relay has exactly two host keys, in OpenSSH's file names and format so
// that ssh-keygen and sshd tooling can read them: ssh_host_ed25519_key and
// ssh_host_rsa_key (3072 bits), each with a .pub beside it.
package hostkey

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/fileperm"
)

// RSABits is the size of a generated RSA host key.
const RSABits = 3072

// Comment is written into generated keys.
const Comment = "tmate-relay"

// KeyFile describes one host key file.
type KeyFile struct {
	Name string // file name of the private key; the public key adds ".pub"
	Type string // SSH key type, e.g. ssh.KeyAlgoED25519
	new  func() (crypto.Signer, error)
}

// Files lists the host keys, in the order Load returns them.
var Files = []KeyFile{
	{"ssh_host_ed25519_key", ssh.KeyAlgoED25519, func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{"ssh_host_rsa_key", ssh.KeyAlgoRSA, func() (crypto.Signer, error) {
		return rsa.GenerateKey(rand.Reader, RSABits)
	}},
}

// Generate creates the host keys missing from dir (and dir itself, mode
// 0700, when missing) and returns the paths of the files it created. It never
// overwrites a file: each is written to a temporary file in dir and then
// hard-linked to its name, which fails if the name exists, so a crash leaves
// either no key or a whole one. A missing .pub beside an existing private key
// is recreated from it.
func Generate(dir string) (created []string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	for _, f := range Files {
		priv := filepath.Join(dir, f.Name)
		pub := priv + ".pub"
		var signer ssh.Signer
		switch _, err := os.Lstat(priv); {
		case err == nil:
			if _, err := os.Lstat(pub); err == nil {
				continue
			} else if !errors.Is(err, fs.ErrNotExist) {
				return created, err
			}
			// The private key exists, its .pub does not: an earlier
			// run stopped in between. Derive the .pub from it.
			if signer, err = readPrivate(priv, false); err != nil {
				return created, err
			}
		case errors.Is(err, fs.ErrNotExist):
			if _, err := os.Lstat(pub); err == nil {
				return created, fmt.Errorf("%s exists without its private key %s: remove it and run keygen again", pub, priv)
			}
			key, err := f.new()
			if err != nil {
				return created, fmt.Errorf("generating %s: %w", f.Name, err)
			}
			block, err := ssh.MarshalPrivateKey(key, Comment)
			if err != nil {
				return created, fmt.Errorf("encoding %s: %w", f.Name, err)
			}
			ok, err := createExclusive(priv, pem.EncodeToMemory(block), 0o600)
			if err != nil {
				return created, err
			}
			if !ok {
				// Another keygen won the race; it writes the .pub.
				continue
			}
			created = append(created, priv)
			if signer, err = ssh.NewSignerFromSigner(key); err != nil {
				return created, err
			}
		default:
			return created, err
		}
		line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(signer.PublicKey())), "\n")
		ok, err := createExclusive(pub, []byte(line+" "+Comment+"\n"), 0o644)
		if err != nil {
			return created, err
		}
		if ok {
			created = append(created, pub)
		}
	}
	return created, nil
}

// createExclusive writes data to a new file at path with mode perm. It
// reports false, and leaves the file alone, when path exists; path never
// holds partial data.
func createExclusive(path string, data []byte, perm fs.FileMode) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return false, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return true, nil
}

// Load reads the host keys from dir, in the order of Files.
func Load(dir string) ([]ssh.Signer, error) {
	var signers []ssh.Signer
	for _, f := range Files {
		s, err := readPrivate(filepath.Join(dir, f.Name), true)
		if err != nil {
			return nil, err
		}
		if got := s.PublicKey().Type(); got != f.Type {
			return nil, fmt.Errorf("%s: holds a %s key, want %s", filepath.Join(dir, f.Name), got, f.Type)
		}
		signers = append(signers, s)
	}
	return signers, nil
}

// readPrivate reads one private key. With checkPerm it refuses a key others
// could read or replace (fileperm.Secret), as OpenSSH refuses one.
func readPrivate(path string, checkPerm bool) (ssh.Signer, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("host key %s is missing: run `tmate-relay keygen` (with the same -c FILE) to create it", path)
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("host key %s is not a regular file", path)
	}
	if checkPerm {
		if err := fileperm.Secret(path, "host key"); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading host key: %w", err)
	}
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return nil, fmt.Errorf("host key %s is encrypted with a passphrase: host keys must not be", path)
		}
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return s, nil
}

// Fingerprints maps each signer's key type (ssh.KeyAlgoED25519,
// ssh.KeyAlgoRSA, ...) to its SHA256 fingerprint, "SHA256:" and unpadded
// base64, exactly as `ssh-keygen -lf` prints it and tmate expects it.
func Fingerprints(signers []ssh.Signer) map[string]string {
	fps := make(map[string]string, len(signers))
	for _, s := range signers {
		pub := s.PublicKey()
		fps[pub.Type()] = ssh.FingerprintSHA256(pub)
	}
	return fps
}
