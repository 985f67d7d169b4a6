package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tmate-relay/service/hostkey"
)

// writeRelayConf writes a relay.toml with the given body in a new temporary
// directory and returns its path.
func writeRelayConf(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "relay.toml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKeygen(t *testing.T) {
	conf := writeRelayConf(t, "[ssh]\nhost_keys_dir = \"state/keys\"\n")
	dir := filepath.Join(filepath.Dir(conf), "state", "keys")

	var out, errOut bytes.Buffer
	if err := keygen([]string{"-c", conf}, &out, &errOut); err != nil {
		t.Fatalf("keygen: %v\n%s", err, errOut.String())
	}
	signers, err := hostkey.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	fps := hostkey.Fingerprints(signers)
	want := "created " + filepath.Join(dir, "ssh_host_ed25519_key") + "\n" +
		"created " + filepath.Join(dir, "ssh_host_ed25519_key.pub") + "\n" +
		"created " + filepath.Join(dir, "ssh_host_rsa_key") + "\n" +
		"created " + filepath.Join(dir, "ssh_host_rsa_key.pub") + "\n" +
		fps["ssh-ed25519"] + " ssh-ed25519\n" +
		fps["ssh-rsa"] + " ssh-rsa\n"
	if out.String() != want {
		t.Errorf("first run printed\n%s\nwant\n%s", out.String(), want)
	}

	before, _ := os.ReadFile(filepath.Join(dir, "ssh_host_rsa_key"))
	out.Reset()
	if err := keygen([]string{"-c", conf}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	want = "all host keys exist in " + dir + "\n" +
		fps["ssh-ed25519"] + " ssh-ed25519\n" +
		fps["ssh-rsa"] + " ssh-rsa\n"
	if out.String() != want {
		t.Errorf("second run printed\n%s\nwant\n%s", out.String(), want)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "ssh_host_rsa_key")); !bytes.Equal(before, after) {
		t.Error("second run changed a key")
	}
}

func TestKeygenErrors(t *testing.T) {
	bad := writeRelayConf(t, "[ssh]\nhost_keys_dir = \"k\"\nlisten = 5\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad config", []string{"-c", bad}, bad + ":3: ssh.listen has type integer, want string"},
		{"missing config", []string{"-c", filepath.Join(t.TempDir(), "nope.toml")}, "no such file"},
		{"extra argument", []string{"-c", bad, "extra"}, `unexpected argument "extra"`},
		{"unknown flag", []string{"-x"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := keygen(tc.args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	var out, errOut bytes.Buffer
	if err := keygen([]string{"-h"}, &out, &errOut); err != nil || !strings.Contains(errOut.String(), "usage: tmate-relay keygen") {
		t.Errorf("-h: %v\n%s", err, errOut.String())
	}
}

func TestKeygenDefaultConfig(t *testing.T) {
	if defaultConfig != "/etc/tmate-relay/relay.toml" {
		t.Errorf("defaultConfig = %q", defaultConfig)
	}
}
