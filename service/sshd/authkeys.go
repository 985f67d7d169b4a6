package sshd

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/session"
)

// authorizedKeys is an OpenSSH authorized_keys file, read again whenever
// it is replaced (a new file renamed over it, as editors and configuration
// tools do) or its modification time or size changes, so that an
// administrator's edit takes effect for the next host without a restart.
type authorizedKeys struct {
	path string

	mu   sync.Mutex
	read os.FileInfo     // the file as last read; nil: read it
	keys map[string]bool // ssh.PublicKey.Marshal()
	err  error           // why the last read failed: no key is allowed then
}

func newAuthorizedKeys(path string) *authorizedKeys {
	return &authorizedKeys{path: path}
}

// allows reports whether key is listed; a file that cannot be read allows
// nobody, and the error says why.
func (a *authorizedKeys) allows(key ssh.PublicKey) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	st, err := os.Stat(a.path)
	if err != nil {
		a.read, a.keys, a.err = nil, nil, err
		return false, err
	}
	if a.read == nil || !os.SameFile(a.read, st) || !st.ModTime().Equal(a.read.ModTime()) || st.Size() != a.read.Size() {
		a.read = st
		a.keys, a.err = readAuthorizedKeys(a.path)
	}
	if a.err != nil {
		return false, a.err
	}
	return a.keys[string(key.Marshal())], nil
}

// readAuthorizedKeys parses an authorized_keys file; blank lines and
// comments are skipped, a line that is not a key is an error, and so is a
// line whose options would narrow who may use its key: ignored, they would
// let in more than the administrator meant.
func readAuthorizedKeys(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
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
