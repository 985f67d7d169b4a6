package session

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testReconnector(key string, window time.Duration, now time.Time) *Reconnector {
	r := NewReconnector([]byte(key), window)
	r.now = func() time.Time { return now }
	return r
}

func TestReconnectionDataVerify(t *testing.T) {
	issued := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	const window = 5 * time.Minute
	signer := testReconnector("relay key", window, issued)
	plain := signer.Sign("tokenAAAA", "ro-tokenBBBB", "", "")
	keyed := signer.Sign("tokenAAAA", "ro-tokenBBBB", "SHA256:hostkey", "")
	// flip changes one character of the part'th dot-separated part.
	flip := func(data string, part int) string {
		p := strings.Split(data, ".")
		b := []byte(p[part])
		b[len(b)/2] ^= 1
		p[part] = string(b)
		return strings.Join(p, ".")
	}
	for _, tc := range []struct {
		name    string
		data    string
		key     string // the relay's key at verification
		at      time.Time
		hostKey string
		want    error
	}{
		{"valid", plain, "relay key", issued.Add(time.Minute), "", nil},
		{"valid with its host key", keyed, "relay key", issued.Add(time.Minute), "SHA256:hostkey", nil},
		{"valid for the whole window after the last refresh", plain, "relay key", issued.Add(window + signer.RefreshEvery() - time.Second), "", nil},
		{"expired", plain, "relay key", issued.Add(window + signer.RefreshEvery()), "", ErrReconnectExpired},
		{"issued in the future", plain, "relay key", issued.Add(-2 * clockSkew), "", ErrReconnectExpired},
		{"tampered claims", flip(plain, 1), "relay key", issued, "", ErrReconnectForged},
		{"tampered signature", flip(plain, 2), "relay key", issued, "", ErrReconnectForged},
		{"another relay's key", plain, "other key", issued, "", ErrReconnectForged},
		{"another host key", keyed, "relay key", issued, "SHA256:other", ErrReconnectHostKey},
		{"bound to a key, presented without", keyed, "relay key", issued, "", ErrReconnectHostKey},
		{"issued without a key, presented with one", plain, "relay key", issued, "SHA256:hostkey", ErrReconnectHostKey},
		{"empty", "", "relay key", issued, "", ErrReconnectMalformed},
		{"garbage", "not reconnection data", "relay key", issued, "", ErrReconnectMalformed},
		{"unknown version", "2" + plain[1:], "relay key", issued, "", ErrReconnectMalformed},
		{"too long", plain + strings.Repeat("A", maxReconnectData), "relay key", issued, "", ErrReconnectMalformed},
		{"signature not base64", strings.Join(strings.Split(plain, ".")[:2], ".") + ".!!", "relay key", issued, "", ErrReconnectMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := testReconnector(tc.key, window, tc.at).Verify(tc.data, tc.hostKey)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify: got error %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				return
			}
			if c.Token != "tokenAAAA" || c.ROToken != "ro-tokenBBBB" || c.HostKey != tc.hostKey || c.Issued != issued.Unix() {
				t.Errorf("claims = %+v", c)
			}
		})
	}
}

func TestReconnectionDataRefusesForgedClaims(t *testing.T) {
	// Claims that do not hold tokens are refused even when signed.
	r := testReconnector("k", time.Minute, time.Now())
	for _, tc := range []struct{ name, token, ro string }{
		{"empty token", "", "ro-x"},
		{"same tokens", "abc", "abc"},
		{"token with a space", "a b", "ro-x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := r.Verify(r.Sign(tc.token, tc.ro, "", ""), ""); !errors.Is(err, ErrReconnectMalformed) {
				t.Fatalf("Verify: %v, want %v", err, ErrReconnectMalformed)
			}
		})
	}
}

func TestLoadReconnectKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	key, err := LoadReconnectKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, ReconnectKeyFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || len(key) != reconnectKeyLen {
		t.Fatalf("created %v with %d bytes, want 0600 and %d", fi.Mode().Perm(), len(key), reconnectKeyLen)
	}
	again, err := LoadReconnectKey(dir)
	if err != nil || !bytes.Equal(again, key) {
		t.Fatalf("second load: %v, same key %v: the key must never be replaced", err, bytes.Equal(again, key))
	}

	for _, tc := range []struct {
		name string
		data []byte
		perm os.FileMode
		want string
	}{
		{"readable by others", key, 0o644, "too open"},
		{"truncated", key[:10], 0o600, "holds 10 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			p := filepath.Join(d, ReconnectKeyFile)
			if err := os.WriteFile(p, tc.data, tc.perm); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, tc.perm)
			if _, err := LoadReconnectKey(d); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadReconnectKey: %v, want an error saying %q", err, tc.want)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, tc.data) {
				t.Fatal("the existing file was changed")
			}
		})
	}
}
