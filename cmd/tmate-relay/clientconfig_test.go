package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"tmate-relay/service/clientconf/tmatetest"
	"tmate-relay/service/hostkey"
)

func TestClientConfigOutput(t *testing.T) {
	conf := writeRelayConf(t, "[ssh]\nhost_keys_dir = \"keys\"\nadvertise_host = \"relay.example.com\"\nlisten = \"0.0.0.0:2222\"\n")
	var out, errOut bytes.Buffer
	err := clientConfig([]string{"-c", conf}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "run `tmate-relay keygen`") {
		t.Fatalf("before keygen: %v", err)
	}
	if err := keygen([]string{"-c", conf}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := clientConfig([]string{"-c", conf}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 4 ||
		lines[0] != "set -g tmate-server-host relay.example.com" ||
		lines[1] != "set -g tmate-server-port 2222" ||
		!strings.HasPrefix(lines[2], "set -g tmate-server-ed25519-fingerprint SHA256:") ||
		!strings.HasPrefix(lines[3], "set -g tmate-server-rsa-fingerprint SHA256:") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
}

// TestKeygenClientConfigWithRealTmate is the contract end to end: keygen
// makes the keys, a server holds them, and the real tmate given nothing but
// `client-config` output accepts that server and asks for the tmate
// subsystem as user tmate.
func TestKeygenClientConfigWithRealTmate(t *testing.T) {
	tmatetest.Tmate(t)
	dir := t.TempDir()
	// The server needs the keys and the config needs the server's port, so
	// make the keys first in the directory the config will name.
	if _, err := hostkey.Generate(dir + "/keys"); err != nil {
		t.Fatal(err)
	}
	signers, err := hostkey.Load(dir + "/keys")
	if err != nil {
		t.Fatal(err)
	}
	srv := tmatetest.StartServer(t, signers...)
	conf := writeRelayConf(t, fmt.Sprintf("[ssh]\nhost_keys_dir = %q\nadvertise_host = \"127.0.0.1\"\nadvertise_port = %d\n", dir+"/keys", srv.Port))

	var out, errOut bytes.Buffer
	if err := keygen([]string{"-c", conf}, &out, &errOut); err != nil || !strings.Contains(out.String(), "all host keys exist") {
		t.Fatalf("keygen: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := clientConfig([]string{"-c", conf}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	h := tmatetest.StartHost(t, tmatetest.WriteConf(t, out.String()))
	tmatetest.ExpectTmateSubsystem(t, srv, h, 20*time.Second)
}
