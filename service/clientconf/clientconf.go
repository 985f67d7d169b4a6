// Package clientconf writes the tmate.conf a host needs to use this relay.
//
// `tmate-relay client-config` prints it, the client package installs it as
// /etc/tmate.conf and the web page shows it, so all three come from Render.
package clientconf

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"tmate-relay/service/config"
	"tmate-relay/service/hostkey"
)

// Option names tmate 2.4.0 reads (its options-table.c) for each key type.
var fingerprintOption = map[string]string{
	ssh.KeyAlgoED25519:  "tmate-server-ed25519-fingerprint",
	ssh.KeyAlgoRSA:      "tmate-server-rsa-fingerprint",
	ssh.KeyAlgoECDSA256: "tmate-server-ecdsa-fingerprint",
	ssh.KeyAlgoECDSA384: "tmate-server-ecdsa-fingerprint",
	ssh.KeyAlgoECDSA521: "tmate-server-ecdsa-fingerprint",
}

// order of the fingerprint lines.
var order = []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521}

// Render returns the tmate.conf text for a relay at host:port whose host keys
// have the given fingerprints (key type -> "SHA256:...", as
// hostkey.Fingerprints returns them). tmate checks only the fingerprint of
// the key type it negotiated, so every key the relay serves is listed.
//
//	set -g tmate-server-host relay.example.com
//	set -g tmate-server-port 10022
//	set -g tmate-server-ed25519-fingerprint SHA256:...
//	set -g tmate-server-rsa-fingerprint SHA256:...
func Render(host string, port int, fingerprints map[string]string) (string, error) {
	if host == "" || strings.ContainsAny(host, " \t\r\n\"'#;\\$") {
		return "", fmt.Errorf("host %q cannot be used in tmate.conf", host)
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("port %d is out of range 1..65535", port)
	}
	if len(fingerprints) == 0 {
		return "", errors.New("no host key fingerprints")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "set -g tmate-server-host %s\n", host)
	fmt.Fprintf(&b, "set -g tmate-server-port %s\n", strconv.Itoa(port))
	seen := map[string]bool{}
	var extra []string
	for t := range fingerprints {
		if _, ok := fingerprintOption[t]; !ok {
			extra = append(extra, t)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return "", fmt.Errorf("tmate has no fingerprint option for host key type %s", strings.Join(extra, ", "))
	}
	for _, t := range order {
		fp, ok := fingerprints[t]
		if !ok {
			continue
		}
		opt := fingerprintOption[t]
		if seen[opt] {
			return "", fmt.Errorf("more than one %s key", opt)
		}
		seen[opt] = true
		if !validFingerprint(fp) {
			return "", fmt.Errorf("%s fingerprint %q is not of the form SHA256:<base64>", t, fp)
		}
		fmt.Fprintf(&b, "set -g %s %s\n", opt, fp)
	}
	return b.String(), nil
}

func validFingerprint(fp string) bool {
	b64, ok := strings.CutPrefix(fp, "SHA256:")
	if !ok || len(b64) != 43 { // 32 bytes, unpadded base64
		return false
	}
	for _, r := range b64 {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '+' || r == '/') {
			return false
		}
	}
	return true
}

// FromConfig loads the relay's host keys and renders the tmate.conf for the
// advertised host and port of cfg.
func FromConfig(cfg *config.Config) (string, error) {
	signers, err := hostkey.Load(cfg.SSH.HostKeysDir)
	if err != nil {
		return "", err
	}
	return Render(cfg.AdvertiseHost(), cfg.SSH.AdvertisePort, hostkey.Fingerprints(signers))
}
