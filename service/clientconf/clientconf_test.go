package clientconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/clientconf/tmatetest"
	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

const (
	fpEd  = "SHA256:jfttvoypkHiQYUqUCwKeqd9d1fJj/ZiQlFOHVl6E9sI"
	fpRSA = "SHA256:Hthk2T/M/Ivqfk1YYUn5ijC2Att3+UPzD7Rn72P5VWs"
)

func TestRender(t *testing.T) {
	got, err := Render("relay.example.com", 10022, map[string]string{
		ssh.KeyAlgoRSA:     fpRSA,
		ssh.KeyAlgoED25519: fpEd,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "set -g tmate-server-host relay.example.com\n" +
		"set -g tmate-server-port 10022\n" +
		"set -g tmate-server-ed25519-fingerprint " + fpEd + "\n" +
		"set -g tmate-server-rsa-fingerprint " + fpRSA + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestRenderErrors(t *testing.T) {
	good := map[string]string{ssh.KeyAlgoED25519: fpEd}
	for _, tc := range []struct {
		name string
		host string
		port int
		fps  map[string]string
		want string
	}{
		{"empty host", "", 22, good, "cannot be used"},
		{"host with space", "a b", 22, good, "cannot be used"},
		{"host with semicolon", "a;kill-server", 22, good, "cannot be used"},
		{"port 0", "h", 0, good, "out of range"},
		{"port too big", "h", 65536, good, "out of range"},
		{"no keys", "h", 22, nil, "no host key fingerprints"},
		{"md5 fingerprint", "h", 22, map[string]string{ssh.KeyAlgoRSA: "af:2d:81:c1:fe:49:70:2d:7f:09:a9:d7:4b:32:e3:be"}, "not of the form"},
		{"unknown type", "h", 22, map[string]string{"ssh-dss": fpEd}, "no fingerprint option for host key type ssh-dss"},
		{"two ecdsa", "h", 22, map[string]string{ssh.KeyAlgoECDSA256: fpEd, ssh.KeyAlgoECDSA384: fpRSA}, "more than one tmate-server-ecdsa-fingerprint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(tc.host, tc.port, tc.fps)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "relay.toml")
	os.WriteFile(conf, []byte("[ssh]\nadvertise_host = \"relay.example.com\"\nadvertise_port = 2222\nhost_keys_dir = \"keys\"\n"), 0o644)
	cfg, err := config.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FromConfig(cfg); err == nil || !strings.Contains(err.Error(), "tmate-relay keygen") {
		t.Fatalf("without keys: %v", err)
	}
	if _, err := hostkey.Generate(cfg.SSH.HostKeysDir); err != nil {
		t.Fatal(err)
	}
	got, err := FromConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	signers, _ := hostkey.Load(cfg.SSH.HostKeysDir)
	fps := hostkey.Fingerprints(signers)
	want := "set -g tmate-server-host relay.example.com\n" +
		"set -g tmate-server-port 2222\n" +
		"set -g tmate-server-ed25519-fingerprint " + fps[ssh.KeyAlgoED25519] + "\n" +
		"set -g tmate-server-rsa-fingerprint " + fps[ssh.KeyAlgoRSA] + "\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestRealTmateAcceptsRenderedConf proves the contract end to end: the real
// tmate, given only the rendered tmate.conf, accepts a server holding our
// host keys and asks it for the tmate subsystem. Each key type is served
// alone, so each fingerprint line is checked on its own.
func TestRealTmateAcceptsRenderedConf(t *testing.T) {
	tmatetest.Tmate(t)
	dir := t.TempDir()
	if _, err := hostkey.Generate(dir); err != nil {
		t.Fatal(err)
	}
	signers, err := hostkey.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fps := hostkey.Fingerprints(signers)
	for _, s := range signers {
		t.Run(s.PublicKey().Type(), func(t *testing.T) {
			srv := tmatetest.StartServer(t, s)
			text, err := Render("127.0.0.1", srv.Port, fps)
			if err != nil {
				t.Fatal(err)
			}
			h := tmatetest.StartHost(t, tmatetest.WriteConf(t, text))
			tmatetest.ExpectTmateSubsystem(t, srv, h, 20*time.Second)
		})
	}
}

// TestRealTmateRefusesWrongFingerprint shows the check above has teeth: with
// the fingerprint of another key, tmate refuses the server.
func TestRealTmateRefusesWrongFingerprint(t *testing.T) {
	tmatetest.Tmate(t)
	dir := t.TempDir()
	if _, err := hostkey.Generate(dir); err != nil {
		t.Fatal(err)
	}
	signers, err := hostkey.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv := tmatetest.StartServer(t, signers[0]) // ed25519
	text, err := Render("127.0.0.1", srv.Port, map[string]string{ssh.KeyAlgoED25519: fpEd, ssh.KeyAlgoRSA: fpRSA})
	if err != nil {
		t.Fatal(err)
	}
	h := tmatetest.StartHost(t, tmatetest.WriteConf(t, text))
	deadline := time.Now().Add(20 * time.Second)
	for !tmatetest.RefusedServer(h.Log()) {
		select {
		case r := <-srv.Requests:
			t.Fatalf("tmate accepted a server with the wrong fingerprint (%v)", r)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("tmate never reported the wrong fingerprint; log:\n%s", h.Log())
		}
	}
	select {
	case r := <-srv.Requests:
		t.Fatalf("tmate accepted a server with the wrong fingerprint (%v)", r)
	default:
	}
}
