package packaging

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The booted-systemd tests (testing-systemd.md): a clean bookworm root made
// once with debootstrap and cached in var/packaging-test (git-ignored), then
// booted read-only with --volatile=overlay so every test starts clean.

var (
	rootOnce sync.Once
	rootPath string
	rootErr  error
)

func bookwormRoot(t *testing.T) string {
	t.Helper()
	need(t, "debootstrap", "systemd-nspawn", "nsenter")
	rootOnce.Do(func() { rootPath, rootErr = makeRoot() })
	if rootErr != nil {
		t.Fatalf("bookworm root: %v", rootErr)
	}
	return rootPath
}

func makeRoot() (string, error) {
	cache, err := filepath.Abs("../var/packaging-test")
	if err != nil {
		return "", err
	}
	root := filepath.Join(cache, "bookworm")
	done := root + ".done"
	// A root made with other packages is made again.
	if b, err := os.ReadFile(done); err == nil && string(b) == "bookworm "+rootPackages+"\n" {
		return root, nil
	}
	mirror, err := aptMirror()
	if err != nil {
		return "", err
	}
	tmp := root + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("debootstrap", "--variant=minbase",
		"--include="+rootPackages, "bookworm", tmp, mirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("debootstrap: %v\n%s", err, out)
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		return "", err
	}
	return root, os.WriteFile(done, []byte("bookworm "+rootPackages+"\n"), 0o644)
}

// rootPackages are installed in the root besides minbase: systemd, the
// host (tmate), ssh guests and the audit file's rotation.
const rootPackages = "systemd,systemd-sysv,dbus,iproute2,tmate,openssh-client,logrotate"

// aptMirror reads this machine's Debian mirror from its apt sources.
func aptMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "URIs:"); ok && !strings.Contains(u, "security") {
				return strings.Fields(u)[0], nil
			}
		}
	}
	if b, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "deb" && !strings.Contains(f[1], "security") {
				return f[1], nil
			}
		}
	}
	return "", fmt.Errorf("no Debian mirror in /etc/apt")
}

// container is one booted systemd-nspawn container with its own cgroups.
type container struct {
	t       *testing.T
	name    string
	cmd     *exec.Cmd
	leader  int
	cgroups []string
	log     *os.File
}

// boot starts ROOT with systemd as PID 1, a private network and the
// directory bind mounted read-only at /mnt/x, and waits for it to be up.
func boot(t *testing.T, root, name, bind string) *container {
	t.Helper()
	return bootWith(t, root, name, "--private-network", "--bind-ro="+bind+":/mnt/x")
}

// bootWith starts ROOT with systemd as PID 1 and more systemd-nspawn
// options, and waits for it to be up.
func bootWith(t *testing.T, root, name string, options ...string) *container {
	t.Helper()
	name = fmt.Sprintf("%s-%d", name, os.Getpid())
	c := &container{t: t, name: name}
	for _, h := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		dir := filepath.Join(h, "nspawn-"+name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatalf("cgroup: %v", err)
		}
		c.cgroups = append(c.cgroups, dir)
	}
	log, err := os.Create(filepath.Join(t.TempDir(), "nspawn.log"))
	if err != nil {
		t.Fatal(err)
	}
	c.log = log
	script := `for g in $CGROUPS; do echo $$ > "$g/cgroup.procs"; done; exec systemd-nspawn -q -D "$ROOT" --boot --register=no --keep-unit --volatile=overlay -M "$NAME" "$@"`
	c.cmd = exec.Command("sh", append([]string{"-c", script, "sh"}, options...)...)
	c.cmd.Env = append(os.Environ(), "ROOT="+root, "NAME="+name, "CGROUPS="+strings.Join(c.cgroups, " "))
	c.cmd.Stdout, c.cmd.Stderr = log, log
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	deadline := time.Now().Add(30 * time.Second)
	for c.leader == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no container leader; nspawn log:\n%s", c.logText())
		}
		time.Sleep(100 * time.Millisecond)
		// The container's systemd: nspawn's first child is a helper that
		// exits once it has started it.
		out, _ := exec.Command("pgrep", "-x", "-P", strconv.Itoa(c.cmd.Process.Pid), "systemd").Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			c.leader, _ = strconv.Atoi(f[0])
		}
	}
	// PID 1's bus socket appears a moment after the leader does.
	var state string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _ := c.sh(60*time.Second, "systemctl is-system-running --wait")
		if state = strings.TrimSpace(out); state == "running" || state == "degraded" {
			return c
		}
	}
	t.Fatalf("container state %q; nspawn log:\n%s", state, c.logText())
	return nil
}

func (c *container) logText() string {
	b, _ := os.ReadFile(c.log.Name())
	return string(b)
}

// stop halts the container cleanly (SIGTERM to nspawn) and removes the
// cgroups made for it.
func (c *container) stop() {
	if c.cmd.Process != nil && c.cmd.ProcessState == nil {
		c.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			c.cmd.Process.Kill()
			<-done
		}
	}
	// nspawn makes payload/ and supervisor/ below ours: remove depth-first.
	for _, g := range c.cgroups {
		for i := 0; i < 50; i++ {
			if err := rmdirTree(g); err == nil || os.IsNotExist(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	c.log.Close()
}

// rmdirTree removes an empty cgroup and its empty child cgroups (cgroupfs
// takes rmdir only, never unlink).
func rmdirTree(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := rmdirTree(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return syscall.Rmdir(dir)
}

// sh runs a shell command inside the container (all its namespaces).
func (c *container) sh(timeout time.Duration, script string) (string, error) {
	cmd := exec.Command("timeout", strconv.Itoa(int(timeout.Seconds())), "nsenter", "-t", strconv.Itoa(c.leader), "-a",
		"/bin/sh", "-c", "cd / && "+script)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"HOME=/root", "TERM=xterm-256color", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs script and fails the test if it fails.
func (c *container) must(script string) string {
	c.t.Helper()
	out, err := c.sh(120*time.Second, script)
	if err != nil {
		c.t.Fatalf("in %s: %s: %v\n%s", c.name, script, err, out)
	}
	return out
}

// check runs script and reports (without stopping) if it fails.
func (c *container) check(what, script string) string {
	c.t.Helper()
	out, err := c.sh(60*time.Second, script)
	if err != nil {
		c.t.Errorf("%s: %s: %v\n%s", what, script, err, out)
	}
	return out
}

// tmateReady starts a headless tmate host (as user, or root when "") and
// waits for it to reach tmate-ready through the relay.
func (c *container) tmateReady(user, conf string) {
	c.t.Helper()
	sock := "/tmp/tmate-" + user + ".sock"
	f := ""
	if conf != "" {
		f = "-f " + conf + " "
	}
	start := "tmate " + f + "-S " + sock + " new-session -d -x 80 -y 24 && timeout 30 tmate -S " + sock + " wait tmate-ready && tmate -S " + sock + " display -p '#{tmate_ssh}'"
	if user != "" {
		start = "runuser -u " + user + " -- sh -c 'cd && " + strings.ReplaceAll(start, "'", `'\''`) + "'"
	}
	out, err := c.sh(45*time.Second, start)
	if err != nil || !strings.Contains(out, "ssh ") {
		j, _ := c.sh(10*time.Second, "journalctl -u tmate-relay.service --no-pager | tail -30")
		c.t.Errorf("tmate host %q did not reach tmate-ready: %v\n%s\nrelay journal:\n%s", user, err, out, j)
		return
	}
	c.t.Logf("tmate host %q: %s", user, strings.TrimSpace(out))
	c.sh(10*time.Second, "tmate -S "+sock+" kill-server")
}

// The relay package in a booted Debian 12: socket listening, the service
// started by a real tmate host that reaches tmate-ready, journal lines, keys
// kept and an edited relay.toml kept across an upgrade, a graceful stop,
// remove stops it, purge removes the state.
func TestBootedRelay(t *testing.T) {
	a := built(t)
	root := bookwormRoot(t)
	t.Parallel()
	dist := t.TempDir()
	for _, p := range []string{a.debV1, a.debV2} {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(dist, filepath.Base(p)), b, 0o644)
	}
	start := time.Now()
	c := boot(t, root, "relay", dist)
	t.Logf("booted in %v", time.Since(start))

	c.must("apt-get install -y -q /mnt/x/" + filepath.Base(a.debV1))
	c.check("socket active", "systemctl is-active tmate-relay.socket tmate-relay-http.socket")
	c.check("socket listening", "ss -Hltn | grep -q ':10022 ' && ss -Hltn | grep -q ':10081 '")
	out := c.check("socket status", "systemctl status --no-pager tmate-relay.socket")
	if !strings.Contains(out, "Listen:") || !strings.Contains(out, "10022") {
		t.Errorf("socket status:\n%s", out)
	}
	if out, _ := c.sh(10*time.Second, "systemctl is-active tmate-relay.service"); strings.TrimSpace(out) != "inactive" {
		t.Errorf("service before the first connection: %q, want inactive", out)
	}
	c.check("enabled", "systemctl is-enabled tmate-relay.socket tmate-relay-admin.socket")

	// The admin socket is socket-activated too: the first command starts
	// the relay. Root and members of tmate-relay-admin may use it (the
	// relay sees the members only as unmapped ids: PrivateUsers=yes),
	// nobody else.
	c.check("admin socket", `systemctl is-active tmate-relay-admin.socket && test "$(stat -c '%U:%G %a' /run/tmate-relay/admin.sock)" = "root:tmate-relay-admin 660"`)
	if out := c.check("sessions as root", "tmate-relay sessions"); !strings.HasPrefix(out, "ID ") {
		t.Errorf("tmate-relay sessions as root:\n%s", out)
	}
	c.must("useradd -m -G tmate-relay-admin ops")
	if out := c.check("sessions as a member of tmate-relay-admin", "runuser -u ops -- tmate-relay sessions --json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("tmate-relay sessions --json as a member of tmate-relay-admin: %q, want [] (no sessions)", out)
	}
	if out, err := c.sh(20*time.Second, "runuser -u nobody -- tmate-relay sessions"); err == nil || !strings.Contains(out, "permission denied") {
		t.Errorf("tmate-relay sessions as nobody: %v\n%s", err, out)
	}
	c.check("audit event in the journal", "journalctl _SYSTEMD_UNIT=tmate-relay.service TMATE_EVENT=admin TMATE_ACTION=sessions TMATE_CALLER_UID=0 TMATE_RESULT=ok -o cat --no-pager | grep -q 'admin sessions by uid 0: ok'")
	keys := c.must("cd /var/lib/tmate-relay/keys && stat -c '%U %a %n' * && sha256sum *")
	if !strings.Contains(keys, "tmate-relay 600 ssh_host_ed25519_key") || !strings.Contains(keys, "ssh_host_rsa_key") {
		t.Errorf("keys:\n%s", keys)
	}

	// A local edit of the conffile, kept by the upgrade below.
	c.must(`sed -i 's/^advertise_host = .*/advertise_host = "127.0.0.1"/' /etc/tmate-relay/relay.toml`)
	c.must("tmate-relay client-config -c /etc/tmate-relay/relay.toml > /tmp/host.conf && cat /tmp/host.conf")
	c.tmateReady("", "/tmp/host.conf")
	c.check("service started by the connection", "systemctl is-active tmate-relay.service")
	checkAuditTrail(c)
	checkRecording(c)
	if j := c.check("journal", "journalctl _SYSTEMD_UNIT=tmate-relay.service -o cat --no-pager"); strings.TrimSpace(j) == "" {
		t.Errorf("no journal lines from the relay")
	} else {
		t.Logf("relay journal:\n%s", j)
	}

	// Upgrade to a newer build: keys and the edited relay.toml are kept.
	c.must("apt-get install -y -q /mnt/x/" + filepath.Base(a.debV2))
	if v := c.must("dpkg-query -W -f '${Version}' tmate-relay"); v != v2+"-1" {
		t.Errorf("after upgrade: version %q", v)
	}
	if after := c.must("cd /var/lib/tmate-relay/keys && stat -c '%U %a %n' * && sha256sum *"); after != keys {
		t.Errorf("keys changed by the upgrade:\n%s\nwas:\n%s", after, keys)
	}
	c.check("edited relay.toml kept", `grep -qx 'advertise_host = "127.0.0.1"' /etc/tmate-relay/relay.toml`)
	if out, err := c.sh(30*time.Second, "systemctl is-active tmate-relay.socket"); err != nil {
		j, _ := c.sh(30*time.Second, "systemctl status --no-pager tmate-relay.socket tmate-relay-http.socket tmate-relay-admin.socket tmate-relay.service; journalctl -o short-monotonic --no-pager -u tmate-relay.socket -u tmate-relay-http.socket -u tmate-relay-admin.socket -u tmate-relay.service | tail -40")
		t.Errorf("socket active after upgrade: %v %s\n%s", err, out, j)
	}
	c.tmateReady("", "/tmp/host.conf")
	doctorChecks(t, c)
	checkStopMessages(c, filepath.Base(a.debV2))

	// A graceful stop: SIGTERM ends it by itself, well before SIGKILL.
	t0 := time.Now()
	c.must("systemctl stop tmate-relay.service")
	took := time.Since(t0)
	res := c.must("systemctl show -p Result -p ExecMainCode -p ExecMainStatus tmate-relay.service")
	t.Logf("stop took %v: %s", took, strings.Join(strings.Fields(res), " "))
	if !strings.Contains(res, "Result=success") || took > 10*time.Second {
		t.Errorf("stop was not graceful (%v):\n%s", took, res)
	}

	// Remove stops everything; the state stays until purge.
	c.must("apt-get remove -y -q tmate-relay")
	c.check("remove stops socket and service", "! systemctl is-active --quiet tmate-relay.socket && ! systemctl is-active --quiet tmate-relay-http.socket && ! systemctl is-active --quiet tmate-relay-admin.socket && ! systemctl is-active --quiet tmate-relay.service && ! test -e /run/tmate-relay/admin.sock")
	if out, _ := c.sh(10*time.Second, "ss -Hltn"); strings.Contains(out, ":10022 ") {
		t.Errorf("still listening after remove:\n%s", out)
	}
	c.check("keys kept after remove", "test -f /var/lib/tmate-relay/keys/ssh_host_ed25519_key")
	c.must("apt-get purge -y -q tmate-relay")
	c.check("purge removes state", "! test -e /var/lib/tmate-relay && ! test -e /etc/tmate-relay")
}

// The client package in a second clean root: plain tmate, as root and as an
// existing user, reaches the relay with no edits; a user's own file is never
// touched; purge removes only the files still unchanged.
func TestBootedClient(t *testing.T) {
	a := built(t)
	root := bookwormRoot(t)
	t.Parallel()
	dist := t.TempDir()
	b, _ := os.ReadFile(a.debV1)
	os.WriteFile(filepath.Join(dist, filepath.Base(a.debV1)), b, 0o644)
	c := boot(t, root, "client", dist)

	// The relay runs here too; it writes the client package from its own keys.
	c.must("apt-get install -y -q /mnt/x/" + filepath.Base(a.debV1))
	c.must(`sed -i 's/^advertise_host = .*/advertise_host = "127.0.0.1"/' /etc/tmate-relay/relay.toml`)
	c.must("useradd -m -s /bin/bash alice && useradd -m -s /bin/bash bob")
	own := "# the own file of bob\nset -g status-left bob\n"
	c.must("printf '" + own + "' > /home/bob/.tmate.conf && chown bob:bob /home/bob/.tmate.conf")
	tmuxBefore, _ := c.sh(10*time.Second, "sha256sum /etc/tmux.conf 2>&1")
	out := c.must("tmate-relay packages -c /etc/tmate-relay/relay.toml --out /tmp/client")
	t.Logf("packages:\n%s", out)
	c.must("apt-get install -y -q /tmp/client/elephant-shed-tmate_*_all.deb")

	c.check("/etc/tmate.conf", "grep -q '^set -g tmate-server-host 127.0.0.1$' /etc/tmate.conf && grep -q '^set -g tmate-server-ed25519-fingerprint SHA256:' /etc/tmate.conf")
	for _, f := range []string{"/etc/skel/.tmate.conf", "/root/.tmate.conf", "/home/alice/.tmate.conf"} {
		c.check(f, "grep -qx 'source-file /etc/tmate.conf' "+f)
	}
	c.check("alice owns hers", "test $(stat -c %U /home/alice/.tmate.conf) = alice")
	if got := c.must("cat /home/bob/.tmate.conf"); got != own {
		t.Errorf("bob's own file changed: %q", got)
	}
	if after, _ := c.sh(10*time.Second, "sha256sum /etc/tmux.conf 2>&1"); after != tmuxBefore {
		t.Errorf("/etc/tmux.conf touched: %q -> %q", tmuxBefore, after)
	}

	c.tmateReady("", "")
	c.tmateReady("alice", "")

	// After install: a new user gets the file from /etc/skel; alice edits hers.
	c.must("useradd -m -s /bin/bash carol && echo 'set -g status-left alice' >> /home/alice/.tmate.conf")
	c.must("apt-get purge -y -q elephant-shed-tmate")
	c.check("purge removes unchanged files", "! test -e /root/.tmate.conf && ! test -e /etc/skel/.tmate.conf && ! test -e /home/carol/.tmate.conf && ! test -e /etc/tmate.conf")
	c.check("purge keeps alice's edited file", "grep -q 'status-left alice' /home/alice/.tmate.conf")
	if got := c.must("cat /home/bob/.tmate.conf"); got != own {
		t.Errorf("bob's own file changed by purge: %q", got)
	}
}
