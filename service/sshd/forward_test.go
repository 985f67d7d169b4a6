package sshd

import (
	"bytes"
	"testing"

	"golang.org/x/crypto/ssh"
)

// A forwarded guest's data is read as this release sends it and as the
// previous one did (no key), so that guests are carried between nodes of
// both during a rolling upgrade; anything else is refused.
func TestParseForwardedGuest(t *testing.T) {
	key := []byte("\x00\x00\x00\x0bssh-ed25519")
	for _, tc := range []struct {
		name    string
		data    []byte
		want    forwardedGuest
		wantErr bool
	}{
		{"with a key", ForwardedGuestData("abcdefghjkmnpqrstuvwxyzAB", "192.0.2.7", key), forwardedGuest{"abcdefghjkmnpqrstuvwxyzAB", "192.0.2.7", key}, false},
		{"without a key", ForwardedGuestData("abcdefghjkmnpqrstuvwxyzAB", "192.0.2.7", nil), forwardedGuest{Token: "abcdefghjkmnpqrstuvwxyzAB", Addr: "192.0.2.7"}, false},
		{"previous release", ssh.Marshal(struct{ Token, Addr string }{"abcdefghjkmnpqrstuvwxyzAB", "192.0.2.7"}), forwardedGuest{Token: "abcdefghjkmnpqrstuvwxyzAB", Addr: "192.0.2.7"}, false},
		{"garbage", []byte("\x00\x00\x01"), forwardedGuest{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseForwardedGuest(tc.data)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if got.Token != tc.want.Token || got.Addr != tc.want.Addr || !bytes.Equal(got.Key, tc.want.Key) {
				t.Fatalf("read %+v, want %+v", got, tc.want)
			}
		})
	}
}
