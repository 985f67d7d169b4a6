package packaging

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"tmate-relay/service/fileperm"
)

// The repository signing key is an OpenPGP v4 RSA 4096 key made with
// github.com/ProtonMail/go-crypto, the maintained fork of the frozen
// golang.org/x/crypto/openpgp: pure Go (the relay runs no gpg), and it writes
// the clear-signed InRelease and the detached signatures apt, dnf and rpm
// check.
//
// Why RSA 4096 and not Ed25519: on this machine (Debian 12) both verify with
// gpgv, apt and rpm 4.18, but RHEL 8's rpm 4.14 (OpenSSL backend) cannot
// verify EdDSA package signatures, and RSA is the one algorithm every apt,
// dnf, yum and rpm in use accepts. v4, not v6: bookworm's gpgv (GnuPG 2.2)
// does not read v6 keys.

// SigningKeyFile is the signing key's file name in the relay's state
// directory (the parent of [ssh] host_keys_dir).
const SigningKeyFile = "repo-signing-key"

// SigningKeyBits is the size of the RSA signing key.
const SigningKeyBits = 4096

// SigningKeyName is the user ID of a generated signing key.
const SigningKeyName = "tmate-relay package repository"

// SigningKey signs the relay's apt and yum repositories and its rpms.
type SigningKey struct {
	entity *openpgp.Entity
}

// pgpConfig is used for every key generation and signature: SHA-256, and
// subpackets older rpm parsers accept.
func pgpConfig(now time.Time) *packet.Config {
	no := false
	return &packet.Config{
		DefaultHash: crypto.SHA256,
		Algorithm:   packet.PubKeyAlgoRSA,
		RSABits:     SigningKeyBits,
		Time:        func() time.Time { return now },
		// The salt notation guards EdDSA against fault attacks; RSA
		// PKCS#1 v1.5 needs none, and rpm's own OpenPGP parser (RHEL 8)
		// knows fewer subpackets the fewer there are.
		NonDeterministicSignaturesViaNotation: &no,
		// rpm 4.14 (RHEL 8, SLES 15) and yum 3 reject these two subpackets
		// when marked critical, as go-crypto does by default; GnuPG
		// writes them non-critical too.
		InsecureGenerateNonCriticalKeyFlags:              true,
		InsecureGenerateNonCriticalSignatureCreationTime: true,
	}
}

// LoadOrCreateSigningKey reads the signing key at path, or creates it when
// the file does not exist. It never overwrites: the key is written to a
// temporary file and hard-linked to path, so a concurrent creator's key wins
// and both use it, and a crash leaves either no key or a whole one.
func LoadOrCreateSigningKey(path string) (k *SigningKey, created bool, err error) {
	if k, err := LoadSigningKey(path); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, false, err
	}
	e, err := newSigningEntity(time.Now())
	if err != nil {
		return nil, false, fmt.Errorf("generating the signing key: %w", err)
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, false, err
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		return nil, false, err
	}
	w.Close()
	b.WriteString("\n")
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, false, err
	}
	if err := tmp.Close(); err != nil {
		return nil, false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process made one first
			k, err := LoadSigningKey(path)
			return k, false, err
		}
		return nil, false, err
	}
	return &SigningKey{entity: e}, true, nil
}

// newSigningEntity makes a primary key that certifies and signs, with one
// user ID and no subkeys (openpgp.NewEntity would add an encryption subkey,
// a second RSA key to generate for nothing).
func newSigningEntity(now time.Time) (*openpgp.Entity, error) {
	raw, err := rsa.GenerateKey(rand.Reader, SigningKeyBits)
	if err != nil {
		return nil, err
	}
	priv := packet.NewSignerPrivateKey(now, raw)
	e := &openpgp.Entity{PrimaryKey: &priv.PublicKey, PrivateKey: priv, Identities: map[string]*openpgp.Identity{}}
	if err := e.AddUserId(SigningKeyName, "", "", pgpConfig(now)); err != nil {
		return nil, err
	}
	return e, nil
}

// LoadSigningKey reads an armored (or binary) OpenPGP private key.
func LoadSigningKey(path string) (*SigningKey, error) {
	if err := fileperm.Secret(path, "repository signing key"); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list openpgp.EntityList
	if bytes.Contains(b, []byte("-----BEGIN PGP")) {
		list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(list) != 1 || list[0].PrivateKey == nil || list[0].PrivateKey.Encrypted {
		return nil, fmt.Errorf("%s: want one unencrypted OpenPGP private key", path)
	}
	return &SigningKey{entity: list[0]}, nil
}

// Fingerprint is the key's v4 fingerprint in upper-case hex.
func (k *SigningKey) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// PublicKeyring is the public key as a binary keyring, the form apt's
// signed-by= takes in /usr/share/keyrings/NAME.gpg.
func (k *SigningKey) PublicKeyring() []byte {
	var b bytes.Buffer
	k.entity.Serialize(&b)
	return b.Bytes()
}

// PublicArmored is the ASCII-armored public key (tmate-relay.asc), the form
// rpm --import, dnf's gpgkey= and apt's signed-by=FILE.asc take.
func (k *SigningKey) PublicArmored() []byte {
	var b bytes.Buffer
	w, _ := armor.Encode(&b, openpgp.PublicKeyType, nil)
	k.entity.Serialize(w)
	w.Close()
	b.WriteString("\n")
	return b.Bytes()
}

// ClearSign returns data clear-signed (InRelease).
func (k *SigningKey) ClearSign(data []byte, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	w, err := clearsign.Encode(&b, k.entity.PrivateKey, pgpConfig(now))
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// DetachSign returns a detached binary signature of data (an rpm header).
func (k *SigningKey) DetachSign(data []byte, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	err := openpgp.DetachSign(&b, k.entity, bytes.NewReader(data), pgpConfig(now))
	return b.Bytes(), err
}

// ArmoredDetachSign returns an armored detached signature of data
// (Release.gpg, repomd.xml.asc).
func (k *SigningKey) ArmoredDetachSign(data []byte, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, k.entity, bytes.NewReader(data), pgpConfig(now)); err != nil {
		return nil, err
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

// VerifyClearSigned checks that data (an InRelease) is clear-signed by this
// key, valid at now, and returns the signed text.
func (k *SigningKey) VerifyClearSigned(data []byte, now time.Time) ([]byte, error) {
	block, _ := clearsign.Decode(data)
	if block == nil {
		return nil, errors.New("not a clear-signed message")
	}
	keyring := openpgp.EntityList{k.entity}
	if _, err := block.VerifySignature(keyring, &packet.Config{Time: func() time.Time { return now }}); err != nil {
		return nil, err
	}
	return block.Plaintext, nil
}
