package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tmate-relay/service/fileperm"
)

// Reconnection data is what the relay gives every host in the environment
// variable tmate_reconnection_data and what tmate sends back, unchanged, in
// RECONNECT after it lost its connection. It is
//
//	"1." base64url(JSON claims) "." base64url(HMAC-SHA256(key, "1." claims))
//
// and the key never leaves the relay's state directory.
//
// What someone who captured the data (it travels only inside the host's SSH
// channel, but the host's read-write guests can print it with `tmate display
// -p '#{tmate_reconnection_data}'`) can do with it until it expires:
//   - when the host authenticated with an SSH key (always so when [hosts]
//     authorized_keys is set), nothing: the data names that key's
//     fingerprint and only a host holding the private key gets the tokens
//     back;
//   - otherwise take the host's place in the session while the data is
//     valid, showing its own terminal to the session's guests: that is no
//     more than a read-write guest can already do, and the real host, which
//     reconnects by itself, takes its place back at once. The data grants no
//     other session and cannot be altered (HMAC) to name another one.

// ReconnectKeyFile is the name of the reconnection key in the state
// directory.
const ReconnectKeyFile = "reconnect-key"

const (
	reconnectVersion = "1"
	reconnectKeyLen  = 32
	// maxReconnectData bounds what a host may present: real data is about
	// 250 bytes.
	maxReconnectData = 2048
	// clockSkew tolerates data issued "in the future" by a relay whose
	// clock stepped back across a restart.
	clockSkew = time.Minute
)

// ReconnectClaims is what reconnection data says.
type ReconnectClaims struct {
	// Token and ROToken are the session's tokens: for a named session,
	// its tmate-session-name and tmate-session-name-ro.
	Token   string `json:"t"`
	ROToken string `json:"r"`
	Issued  int64  `json:"iat"` // unix seconds
	Expires int64  `json:"exp"` // unix seconds
	// HostKey is the SHA256 fingerprint of the key the host authenticated
	// with, "" when it used none.
	HostKey string `json:"k,omitempty"`
	// ID is the session's id (Session.ID), kept across relay restarts.
	ID string `json:"i,omitempty"`
}

// Reasons reconnection data is refused.
var (
	ErrReconnectMalformed = errors.New("reconnection data is malformed")
	ErrReconnectForged    = errors.New("reconnection data is not signed by this relay's key")
	ErrReconnectExpired   = errors.New("reconnection data has expired")
	ErrReconnectHostKey   = errors.New("reconnection data was issued to a host with another SSH key")
)

// Reconnector signs and checks reconnection data.
type Reconnector struct {
	key []byte
	// Window is how long a host that lost its connection may take to come
	// back with its tokens.
	Window time.Duration
	now    func() time.Time
}

// NewReconnector returns a Reconnector signing with key (see
// LoadReconnectKey) whose hosts may come back within window.
func NewReconnector(key []byte, window time.Duration) *Reconnector {
	return &Reconnector{key: key, Window: window, now: time.Now}
}

// RefreshEvery is how often a connected host is given fresh data: a host's
// data is never older than that when it loses its connection, and it stays
// valid Window longer, so the host always has the whole window to return.
func (r *Reconnector) RefreshEvery() time.Duration { return max(r.Window/4, time.Second) }

// Sign returns the data for a session's tokens and id, issued now to a host that
// authenticated with hostKey ("" for none).
func (r *Reconnector) Sign(token, roToken, hostKey, id string) string {
	now := r.now()
	c := ReconnectClaims{
		Token: token, ROToken: roToken, HostKey: hostKey, ID: id,
		Issued:  now.Unix(),
		Expires: now.Add(r.Window + r.RefreshEvery()).Unix(),
	}
	payload, _ := json.Marshal(c) // strings and integers always marshal
	body := reconnectVersion + "." + base64.RawURLEncoding.EncodeToString(payload)
	return body + "." + base64.RawURLEncoding.EncodeToString(r.mac(body))
}

func (r *Reconnector) mac(body string) []byte {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(body))
	return m.Sum(nil)
}

// Verify checks data presented by a host that authenticated with hostKey
// ("" for none) and returns what it says.
func (r *Reconnector) Verify(data, hostKey string) (ReconnectClaims, error) {
	var c ReconnectClaims
	if len(data) > maxReconnectData {
		return c, ErrReconnectMalformed
	}
	parts := strings.Split(data, ".")
	if len(parts) != 3 || parts[0] != reconnectVersion {
		return c, ErrReconnectMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, ErrReconnectMalformed
	}
	if !hmac.Equal(sig, r.mac(parts[0]+"."+parts[1])) {
		return c, ErrReconnectForged
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &c) != nil ||
		!ValidTokenSyntax(c.Token) || !ValidTokenSyntax(c.ROToken) || c.Token == c.ROToken {
		return ReconnectClaims{}, ErrReconnectMalformed
	}
	now := r.now()
	if now.Unix() >= c.Expires || time.Unix(c.Issued, 0).After(now.Add(clockSkew)) {
		return ReconnectClaims{}, ErrReconnectExpired
	}
	if c.HostKey != hostKey {
		return ReconnectClaims{}, ErrReconnectHostKey
	}
	return c, nil
}

// LoadReconnectKey reads the reconnection key in stateDir, creating it
// (mode 0600) when there is none. An existing key is never replaced: every
// host's data would stop working.
func LoadReconnectKey(stateDir string) ([]byte, error) {
	path := filepath.Join(stateDir, ReconnectKeyFile)
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, err
	}
	if key, err := createReconnectKey(path); err != nil || key != nil {
		return key, err
	}
	if err := fileperm.Secret(path, "reconnection key"); err != nil {
		return nil, err
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(key) != reconnectKeyLen {
		return nil, fmt.Errorf("%s holds %d bytes, not a %d-byte key: remove it to make a new one (hosts then get new tokens when they reconnect)", path, len(key), reconnectKeyLen)
	}
	return key, nil
}

// createReconnectKey writes a new key to path unless a file is there (then
// it returns nil). The key is written to a temporary file first and linked
// into place, so that a relay starting at the same moment never reads half
// a key.
func createReconnectKey(path string) ([]byte, error) {
	key := make([]byte, reconnectKeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+ReconnectKeyFile+".tmp*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(key)
	if err == nil {
		err = tmp.Sync() // CreateTemp makes the file 0600
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return key, nil
}
