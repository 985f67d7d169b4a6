package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A new user's first hour on a bare Debian 12 (git, make, curl and
// ca-certificates; no Go, no npm): in a booted clean bookworm, a copy of the
// repository builds with `make build`, which fetches the Go release go.mod
// names from the Go module proxy, and `make run` brings up a relay that a
// tmate host reaches with the tmate.conf it printed. The container shares
// this machine's network, for the Debian mirror and the Go module proxy;
// make run gets a network namespace of its own, so its default ports are
// free whatever this machine runs.
func TestBareDebianMakeRun(t *testing.T) {
	root := bookwormRoot(t)
	t.Parallel()
	src := repositoryCopy(t)
	start := time.Now()
	// The container trusts what this machine trusts: a network may
	// intercept TLS with its own authority.
	c := bootWith(t, root, "bare", "--bind-ro="+src+":/mnt/x", "--bind-ro=/etc/ssl/certs/ca-certificates.crt:/mnt/ca.crt")
	c.must("mkdir -p /usr/local/share/ca-certificates && cp /mnt/ca.crt /usr/local/share/ca-certificates/this-machine.crt")
	c.must("apt-get update -q && apt-get install -y -q --no-install-recommends git make curl ca-certificates")
	c.must("! command -v go && ! command -v npm && ! command -v unzip")
	c.must("cp -a /mnt/x /root/tmate-relay")
	t.Logf("booted, git make curl ca-certificates installed: %v", time.Since(start).Round(time.Second))

	t0 := time.Now()
	out, err := c.sh(20*time.Minute, "cd /root/tmate-relay && make build 2>&1")
	if err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	var shown []string // all but go's download lines
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(line, "go: downloading ") {
			shown = append(shown, line)
		}
	}
	t.Logf("make build took %v:\n%s", time.Since(t0).Round(time.Second), strings.Join(shown, "\n"))
	c.must("test -x /root/tmate-relay/.toolchain/go*/bin/go && /root/tmate-relay/bin/tmate-relay version")

	// make run in a session (stopped as one) and a network namespace of its
	// own, where only loopback is up.
	t0 = time.Now()
	c.must("cd /root/tmate-relay && setsid sh -c 'echo $$ >/root/make-run.pid; exec unshare -n sh -c \"ip link set lo up && exec make run\"' </dev/null >/root/make-run.log 2>&1 &")
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		if _, err := c.sh(30*time.Second, "grep -q 'relay ready' /root/make-run.log"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			log, _ := c.sh(10*time.Second, "cat /root/make-run.log")
			t.Fatalf("make run: no relay ready:\n%s", log)
		}
	}
	t.Logf("make run ready after %v", time.Since(t0).Round(time.Second))
	host := "nsenter -n -t $(cat /root/make-run.pid) tmate -f /root/tmate-relay/var/tmate.conf -S /tmp/host.sock "
	if out, err := c.sh(60*time.Second, host+"new-session -d -x 80 -y 24 && timeout 30 "+host+"wait tmate-ready && "+host+"display -p '#{tmate_ssh}'"); err != nil || !strings.Contains(out, "ssh ") {
		log, _ := c.sh(10*time.Second, "cat /root/make-run.log")
		t.Errorf("a tmate host with var/tmate.conf did not reach tmate-ready: %v\n%s\nmake run:\n%s", err, out, log)
	} else {
		t.Logf("tmate host: %s", strings.TrimSpace(out))
	}
	c.sh(10*time.Second, host+"kill-server")
	// dash's kill takes no process group: bash's does.
	c.must(`bash -c 'kill -TERM -- -$(cat /root/make-run.pid)'`)
	c.waitFor("make run to stop", `! bash -c 'kill -0 -- -$(cat /root/make-run.pid)' 2>/dev/null`, 30*time.Second)
	t.Logf("whole test in the container: %v", time.Since(start).Round(time.Second))
}

// repositoryCopy copies the repository's files as a clone would have them
// (tracked and new, not ignored) with their current contents into a
// temporary directory: the container never writes to the working tree.
func repositoryCopy(t *testing.T) string {
	t.Helper()
	top, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	list, err := exec.Command("git", "-C", top, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	dst := t.TempDir()
	for _, name := range strings.Split(strings.TrimSuffix(string(list), "\x00"), "\x00") {
		from := filepath.Join(top, name)
		info, err := os.Lstat(from)
		if os.IsNotExist(err) {
			continue // deleted, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if info.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(from)
			if err == nil {
				err = os.Symlink(target, to)
			}
			if err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
