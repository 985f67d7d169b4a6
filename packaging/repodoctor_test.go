package packaging

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DebFile reads an installed file out of a .deb, as doctor reads the
// client package's /etc/tmate.conf.
func TestDebFile(t *testing.T) {
	conf := "set -g tmate-server-host relay.example.test\n"
	paths, err := buildClient(client{server: "relay.example.test:10022", conf: conf, maintainer: testMaintainer, homepage: "https://relay.example.test/"}, t.TempDir(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var deb []byte
	for _, p := range paths {
		if strings.HasSuffix(p, ".deb") {
			deb, _ = os.ReadFile(p)
		}
	}
	got, err := DebFile(deb, "/etc/tmate.conf")
	if err != nil || !strings.HasSuffix(string(got), conf) {
		t.Errorf("DebFile /etc/tmate.conf: %v\n%s", err, got)
	}
	if _, err := DebFile(deb, "/etc/none"); err == nil || !strings.Contains(err.Error(), "holds no /etc/none") {
		t.Errorf("DebFile of a missing file: %v", err)
	}
	if _, err := DebFile([]byte("!<arch>\n"), "/etc/tmate.conf"); err == nil {
		t.Error("DebFile of an archive without data.tar: no error")
	}
}

// ReleaseTimes reads what Repository.Write writes; VerifyClearSigned
// takes its InRelease and refuses it changed.
func TestReleaseTimesAndSignature(t *testing.T) {
	key, _, err := LoadOrCreateSigningKey(filepath.Join(t.TempDir(), SigningKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second) // not before the key
	dir := t.TempDir()
	if _, err := (Repository{Key: key, WebURL: "http://relay.example.test:10081", ValidFor: 48 * time.Hour, Now: now}).Write(dir); err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(filepath.Join(dir, "apt/dists/stable/InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	text, err := key.VerifyClearSigned(in, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	date, until, err := ReleaseTimes(text)
	if err != nil || !date.Equal(now) || !until.Equal(now.Add(48*time.Hour)) {
		t.Errorf("ReleaseTimes: %v %v %v, want %v and %v", date, until, err, now, now.Add(48*time.Hour))
	}
	if _, err := key.VerifyClearSigned([]byte(strings.Replace(string(in), "Suite: stable", "Suite: stablE", 1)), now.Add(time.Hour)); err == nil {
		t.Error("a changed InRelease verified")
	}
	if _, _, err := ReleaseTimes([]byte("Date: Thu, 03 Dec 2026 10:00:00 UTC\n")); err == nil {
		t.Error("a Release without Valid-Until: no error")
	}
}
