package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/logtest"
)

// relayBin is the tmate-relay binary built once for the whole run, or the
// one named by relayBinEnv: a build of another commit, to compare with.
var relayBin string

const relayBinEnv = "TMATE_RELAY_E2E_BIN"

func TestMain(m *testing.M) {
	if addr := os.Getenv(floorRelayListen); addr != "" {
		err := runFloorRelay(addr, os.Getenv(floorRelayKeys))
		fmt.Fprintln(os.Stderr, "floor relay:", err)
		os.Exit(1)
	}
	if addr := os.Getenv(tcpProxyListen); addr != "" {
		err := runTCPProxy(addr, os.Getenv(tcpProxyTarget))
		fmt.Fprintln(os.Stderr, "tcp proxy:", err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "tmate-relay-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	relayBin = os.Getenv(relayBinEnv)
	if relayBin == "" {
		relayBin = filepath.Join(dir, "tmate-relay")
		build := exec.Command("go", "build", "-o", relayBin, "tmate-relay/cmd/tmate-relay")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building tmate-relay:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needTools fails the test in CI, and skips it elsewhere, when a program the
// test drives is missing.
func needTools(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required (make deps installs it)", tool)
			}
			t.Skipf("%s not installed (CI fails here; make deps installs it)", tool)
		}
	}
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last state:\n%s", what, within, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relay is a running tmate-relay process.
type relay struct {
	t       testing.TB
	dir     string
	conf    string
	port    int
	webPort int
	cmd     *exec.Cmd
	log     *logtest.Buffer
	tmateRC string   // tmate.conf for hosts of this relay
	env     []string // added to the process's environment

	// metricsPort is [metrics] listen's: each relay has its own, never
	// the default 127.0.0.1:10090.
	metricsPort int
}

// prepareRelay writes a relay's configuration and keys.
func prepareRelay(t testing.TB, extra string) *relay {
	t.Helper()
	dir := t.TempDir()
	r := &relay{t: t, dir: dir, conf: filepath.Join(dir, "relay.toml"), port: freePort(t), webPort: freePort(t), metricsPort: freePort(t), log: &logtest.Buffer{}}
	conf := fmt.Sprintf(`[ssh]
listen = "127.0.0.1:%d"
advertise_host = "127.0.0.1"
advertise_port = %d
host_keys_dir = "%s/keys"
[web]
listen = "127.0.0.1:%d"
[metrics]
listen = "127.0.0.1:%d"
[log]
level = "debug"
%s`, r.port, r.port, dir, r.webPort, r.metricsPort, extra)
	if err := os.WriteFile(r.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(relayBin, "keygen", "-c", r.conf).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	out, err := exec.Command(relayBin, "client-config", "-c", r.conf).CombinedOutput()
	if err != nil {
		t.Fatalf("client-config: %v\n%s", err, out)
	}
	r.tmateRC = string(out)
	return r
}

func startRelay(t testing.TB, extra string) *relay {
	t.Helper()
	r := prepareRelay(t, extra)
	r.launch(relayBin, "serve", "-c", r.conf)
	return r
}

// launch runs the relay with argv and waits until its SSH port answers.
func (r *relay) launch(argv ...string) {
	t := r.t
	t.Helper()
	r.cmd = exec.Command(argv[0], argv[1:]...)
	if r.env != nil {
		r.cmd.Env = append(os.Environ(), r.env...)
	}
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.stop)
	ports := []int{r.port}
	if r.webPort != 0 {
		ports = append(ports, r.webPort) // opened after the SSH port
	}
	eventually(t, 10*time.Second, "relay listening", func() (bool, string) {
		for _, port := range ports {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return false, err.Error()
			}
			c.Close()
		}
		return true, ""
	})
}

func (r *relay) stop() {
	if r.cmd.ProcessState != nil {
		return
	}
	r.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
	if r.t.Failed() {
		r.t.Logf("relay log:\n%s", r.log.String())
	}
}

// restart stops the relay with SIGTERM, by its PID, and starts it again
// with the same configuration and state directory, on the same port.
func (r *relay) restart() {
	r.t.Helper()
	argv := r.cmd.Args
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.cmd.Wait()
	r.launch(append([]string{relayBin}, argv[1:]...)...)
}

// host is a real tmate host session, headless.
type host struct {
	t    testing.TB
	dir  string
	home string
	sock string
	env  []string
}

var serial atomic.Int64

// startHost starts `tmate new-session -d` of w x h against r, waits for
// tmate-ready and dismisses the start-up tips.
func startHost(t testing.TB, r *relay, w, h int, extraConf string) *host {
	t.Helper()
	return launchHost(t, r, w, h, extraConf, false)
}

// startAttachedHost starts tmate as a user does, attached in a w x h
// terminal, so its client logs the relay's messages.
func startAttachedHost(t testing.TB, r *relay, w, h int, extraConf string) *host {
	t.Helper()
	return launchHost(t, r, w, h, extraConf, true)
}

func launchHost(t testing.TB, r *relay, w, h int, extraConf string, attached bool) *host {
	hs, confPath := newHost(t, r, extraConf)
	if attached {
		startTerm(t, w, h, nil, append([]string{"env", "-u", "TMUX", "HOME=" + hs.home}, hs.tmateArgs("-f", confPath)...)...)
	} else {
		hs.run("-f", confPath, "new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h))
	}
	hs.waitReady(20 * time.Second)
	return hs
}

// newHost prepares a host's home, key and tmate.conf (returned); nothing
// runs yet.
func newHost(t testing.TB, r *relay, extraConf string) (*host, string) {
	dir := removedAfterProcesses(t)
	hs := &host{t: t, dir: dir, sock: filepath.Join(dir, "tmate.sock")}
	home := filepath.Join(dir, "home")
	hs.home = home
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(home, ".ssh", "id_ed25519")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	// A plain shell with a known prompt, whoever runs the tests.
	conf := r.tmateRC + "set -g tmate-display-time 1\nset -g display-time 1\nset -g status-interval 0\n" +
		"set -g default-command 'PS1=\"$ \" exec /bin/sh'\n" + extraConf
	confPath := filepath.Join(dir, "tmate.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	hs.env = append(os.Environ(), "HOME="+home, "TERM=screen-256color", "SHELL=/bin/sh", "ENV=", "PS1=$ ")
	hs.env = filterEnv(hs.env, "TMUX", "TMATE")
	t.Cleanup(hs.kill)
	return hs, confPath
}

// removedAfterProcesses is t.TempDir for a host's files: removed after the
// cleanups registered later (the host's kill-server), again and again for
// up to 5 s, since tmate's server and its panes' processes exit, and may
// still write there, after kill-server has returned.
func removedAfterProcesses(t testing.TB) string {
	dir, err := os.MkdirTemp("", "e2e-host-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if err = os.RemoveAll(dir); err == nil || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Errorf("removing the host's files: %v", err)
		}
	})
	return dir
}

// waitReady waits until the host's session exists and is ready (waitSession),
// then leaves the start-up tips.
func (h *host) waitReady(within time.Duration) {
	h.t.Helper()
	if h.waitSession(within) {
		h.run("send-keys", "q") // leave the start-up tips
	}
}

// waitSession waits until the host's session exists and is ready, and
// reports whether its pane is in a mode (the start-up tips). `wait
// tmate-ready` alone is not enough: tmate connects once its configuration
// is loaded, which for an attached tmate can be before its client's
// new-session has run, and a server without a session releases every
// waiting client at once. Until the session exists there is no pane to
// send q to ("no current session").
func (h *host) waitSession(within time.Duration) (inMode bool) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, waitErr := h.outputWithin(time.Until(deadline), "wait", "tmate-ready") // fails while no server runs yet
		state, err := h.output("display", "-p", "#{pane_in_mode} #{tmate_ssh}")
		if waitErr == nil && err == nil && strings.Contains(state, "@") {
			return strings.HasPrefix(state, "1")
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("tmate did not become ready with a session: %v, %v %s", waitErr, err, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func filterEnv(env []string, names ...string) []string {
	out := env[:0]
next:
	for _, e := range env {
		for _, n := range names {
			if strings.HasPrefix(e, n+"=") {
				continue next
			}
		}
		out = append(out, e)
	}
	return out
}

// tmateArgs is the command line of a tmate client of this host.
func (h *host) tmateArgs(args ...string) []string {
	return append([]string{"tmate", "-S", h.sock}, args...)
}

func (h *host) command(args ...string) *exec.Cmd {
	argv := h.tmateArgs(args...)
	c := exec.Command(argv[0], argv[1:]...)
	c.Env = h.env
	return c
}

func (h *host) output(args ...string) (string, error) {
	out, err := h.command(args...).CombinedOutput()
	return string(out), err
}

// outputWithin is output for a command that may block, killed after d.
func (h *host) outputWithin(d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	argv := h.tmateArgs(args...)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	c.Env = h.env
	out, err := c.CombinedOutput()
	return string(out), err
}

func (h *host) run(args ...string) string {
	h.t.Helper()
	out, err := h.output(args...)
	if err != nil {
		h.t.Fatalf("tmate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// display expands a format on the host.
func (h *host) display(format string) string {
	return strings.TrimSpace(h.run("display", "-p", format))
}

func (h *host) kill() {
	h.command("kill-server").Run()
}

// capture returns the host's active pane as text (with -e: SGR).
func (h *host) capture(args ...string) string {
	return h.run(append([]string{"capture-pane", "-p"}, args...)...)
}

// term is a plain tmux server with one pane of known size: the guest's (or
// a reference client's) terminal.
type term struct {
	t    testing.TB
	name string
}

// startTerm runs argv in a w x h tmux pane.
func startTerm(t testing.TB, w, h int, env []string, argv ...string) *term {
	t.Helper()
	tm := &term{t: t, name: fmt.Sprintf("e2e-%d-%d", os.Getpid(), serial.Add(1))}
	args := []string{"-L", tm.name, "-f", "/dev/null", "new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, strings.Join(quoteAll(argv), " "))
	c := exec.Command("tmux", args...)
	c.Env = filterEnv(os.Environ(), "TMUX", "TMATE")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	tm.tmux("set-option", "-g", "remain-on-exit", "on")
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.name, "kill-server").Run() })
	return tm
}

func quoteAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

func (tm *term) tmux(args ...string) string {
	out, _ := exec.Command("tmux", append([]string{"-L", tm.name}, args...)...).CombinedOutput()
	return string(out)
}

// screen is what the terminal shows (with -e: SGR).
func (tm *term) screen(args ...string) string {
	return tm.tmux(append([]string{"capture-pane", "-p"}, args...)...)
}

// send types literal text into the terminal.
func (tm *term) send(text string) { tm.tmux("send-keys", "-l", text) }

// key sends tmux key names (Enter, C-b...).
func (tm *term) key(names ...string) { tm.tmux(append([]string{"send-keys"}, names...)...) }

// sshExited is what a guest's terminal shows once ssh has exited. The shell
// around ssh keeps the pane alive: tmux drops a dead pane's last output.
const sshExited = "[ssh exited]"

// exited reports whether the ssh in the terminal exited.
func (tm *term) exited() bool {
	return strings.Contains(tm.screen(), sshExited)
}

// sshGuest joins as a guest with token in a w x h terminal.
func sshGuest(t testing.TB, r *relay, token string, w, h int) *term {
	return startTerm(t, w, h, []string{"TERM=screen-256color"}, "sh", "-c", `ssh "$@"; echo "`+sshExited+`"; exec sleep 600`, "ssh",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "BatchMode=yes", "-tt", "-p", strconv.Itoa(r.port), token+"@127.0.0.1")
}

// tokenOf takes the token out of an "ssh -pPORT TOKEN@HOST" line.
func tokenOf(t testing.TB, sshCmd string) string {
	t.Helper()
	f := strings.Fields(sshCmd)
	if len(f) == 0 {
		t.Fatalf("no ssh command in %q", sshCmd)
	}
	last := f[len(f)-1]
	at := strings.LastIndex(last, "@")
	if at < 0 {
		t.Fatalf("no token in %q", sshCmd)
	}
	return last[:at]
}

// contains waits until the terminal shows want.
func (tm *term) waitFor(want string, within time.Duration) {
	tm.t.Helper()
	eventually(tm.t, within, fmt.Sprintf("screen shows %q", want), func() (bool, string) {
		s := tm.screen()
		return strings.Contains(s, want), s
	})
}
