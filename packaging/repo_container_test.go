package packaging

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The relay's own apt repository, end to end in a booted clean Debian 12:
// the packaged relay (socket-activated, sandboxed) writes and serves the
// repository; the same root, as a host, fetches the key from it, adds the
// sources entry with signed-by, apt-get update (no warning), apt-get install
// elephant-shed-tmate, and plain tmate reaches tmate-ready. A host key is
// rotated on the relay: apt-get upgrade brings the new fingerprint and tmate
// connects again.
func TestBootedAptRepository(t *testing.T) {
	a := built(t)
	root := bookwormRoot(t)
	t.Parallel()
	dist := t.TempDir()
	b, _ := os.ReadFile(a.debV1)
	os.WriteFile(filepath.Join(dist, filepath.Base(a.debV1)), b, 0o644)
	start := time.Now()
	c := boot(t, root, "repo", dist)

	c.must("apt-get install -y -q /mnt/x/" + filepath.Base(a.debV1))
	c.must(`sed -i -e 's/^advertise_host = .*/advertise_host = "127.0.0.1"/' -e 's|^packages_dir = .*|packages_dir = "/mnt/x"|' /etc/tmate-relay/relay.toml`)
	c.must("systemctl start tmate-relay.service")
	const url = "http://127.0.0.1:10081"
	// apt's own downloader: a minimal root has no curl.
	get := func(path, to string) string {
		return "/usr/lib/apt/apt-helper download-file " + url + path + " " + to
	}
	c.waitFor("the repository", get("/apt/dists/stable/InRelease", "/tmp/InRelease"), 60*time.Second)
	c.check("signing key in the state dir", `test "$(stat -c '%U %a' /var/lib/tmate-relay/repo-signing-key)" = 'tmate-relay 600'`)

	// The host side, as the README says (apt-helper standing in for curl).
	c.must(get("/tmate-relay.gpg", "/tmp/tmate-relay.gpg") + " && install -m 644 /tmp/tmate-relay.gpg /usr/share/keyrings/tmate-relay.gpg")
	c.must(get("/apt/tmate-relay.sources", "/tmp/tmate-relay.sources") + " && install -m 644 /tmp/tmate-relay.sources /etc/apt/sources.list.d/tmate-relay.sources")
	t.Logf("sources entry:\n%s", c.must("cat /etc/apt/sources.list.d/tmate-relay.sources"))
	// Only the relay's repository: the container has no network to a mirror.
	c.must("mv /etc/apt/sources.list /etc/apt/sources.list.off")
	update := func() {
		t.Helper()
		out := c.must("apt-get update 2>&1")
		t.Logf("apt-get update:\n%s", out)
		if regexp.MustCompile(`(?m)^(W|E|N|Err):`).MatchString(out) || !strings.Contains(out, "InRelease") {
			t.Errorf("apt-get update is not clean:\n%s", out)
		}
	}
	update()
	if out := c.must("apt-cache policy elephant-shed-tmate tmate-relay"); !strings.Contains(out, url+"/apt stable/main") {
		t.Errorf("packages not from the relay's repository:\n%s", out)
	} else {
		t.Logf("apt-cache policy:\n%s", out)
	}
	c.must("apt-get install -y -q elephant-shed-tmate")
	fp1 := c.must("grep ed25519-fingerprint /etc/tmate.conf")
	c.tmateReady("", "")

	// Rotate the ed25519 host key; the relay publishes it on restart.
	v1 := c.must("dpkg-query -W -f '${Version}' elephant-shed-tmate")
	c.must("rm /var/lib/tmate-relay/keys/ssh_host_ed25519_key* && runuser -u tmate-relay -- tmate-relay keygen -c /etc/tmate-relay/relay.toml && systemctl restart tmate-relay.service")
	c.waitFor("the new client version", get("/apt/dists/stable/main/binary-all/Packages", "/tmp/Packages")+
		" && grep '^Version: ' /tmp/Packages | grep -vqx 'Version: "+v1+"'", 60*time.Second)
	update()
	t.Logf("apt-get upgrade:\n%s", c.must("apt-get upgrade -y -q 2>&1"))
	if v2 := c.must("dpkg-query -W -f '${Version}' elephant-shed-tmate"); v2 == v1 {
		t.Errorf("apt-get upgrade kept version %s", v1)
	}
	fp2 := c.must("grep ed25519-fingerprint /etc/tmate.conf")
	relayFP := c.must("tmate-relay client-config -c /etc/tmate-relay/relay.toml | grep ed25519-fingerprint")
	if fp2 == fp1 || fp2 != relayFP {
		t.Errorf("after rotation /etc/tmate.conf has %q (was %q), the relay %q", fp2, fp1, relayFP)
	}
	c.tmateReady("", "")
	t.Logf("whole test in the container: %v", time.Since(start).Round(time.Second))
}

// waitFor runs script until it succeeds, failing the test after timeout.
func (c *container) waitFor(what, script string, timeout time.Duration) {
	c.t.Helper()
	var out string
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if out, err = c.sh(30*time.Second, script); err == nil {
			return
		}
	}
	j, _ := c.sh(10*time.Second, "journalctl -u tmate-relay.service --no-pager | tail -30")
	c.t.Fatalf("waiting for %s: %v\n%s\nrelay journal:\n%s", what, err, out, j)
}
