package sshd

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/session"
)

// authorizedKeys is an OpenSSH authorized_keys file, read each time a host
// authenticates and parsed again whenever its content changed, so that an
// administrator's edit takes effect for the next host without a restart,
// however it was made: a new file renamed over it, or an edit in place that
// keeps its size and modification time. Reading a small file costs far
// less than the key exchange each host does first, and unlike a watch
// (inotify) it needs no goroutine and sees every change, also through bind
// mounts and network file systems, with no window in which the old keys
// still hold.
type authorizedKeys struct {
	path string

	mu   sync.Mutex
	sum  [sha256.Size]byte // of the content last parsed
	keys map[string]bool   // ssh.PublicKey.Marshal()
	err  error             // why the last read failed: no key is allowed then
	read bool              // sum, keys and err describe a read content
}

func newAuthorizedKeys(path string) *authorizedKeys {
	return &authorizedKeys{path: path}
}

// allows reports whether key is listed; a file that cannot be read allows
// nobody, and the error says why.
func (a *authorizedKeys) allows(key ssh.PublicKey) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	data, err := os.ReadFile(a.path)
	if err != nil {
		a.read, a.keys, a.err = false, nil, err
		return false, err
	}
	if sum := sha256.Sum256(data); !a.read || sum != a.sum {
		a.sum, a.read = sum, true
		a.keys, a.err = parseAuthorizedKeys(a.path, data)
	}
	if a.err != nil {
		return false, a.err
	}
	return a.keys[string(key.Marshal())], nil
}

// parseAuthorizedKeys parses the content of the authorized_keys file at
// path; blank lines and comments are skipped, a line that is not a key is
// an error, and so is a line whose options would narrow who may use its
// key: ignored, they would let in more than the administrator meant.
func parseAuthorizedKeys(path string, data []byte) (map[string]bool, error) {
	keys := map[string]bool{}
	for n, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, options, _, err := ssh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, n+1, err)
		}
		if opt := session.UnsupportedKeyOption(options); opt != "" {
			return nil, fmt.Errorf("%s:%d: option %s is not supported: the relay would accept the key without it", path, n+1, opt)
		}
		keys[string(k.Marshal())] = true
	}
	return keys, nil
}
