package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"tmate-relay/service/vt"
)

// ptyTerm is a program on a pty of known size. Every read of its output is
// kept with the time the read returned, so a measurement can tell when a
// byte reached the terminal however late the test looks at it; a vt
// emulator fed from those reads is what the terminal shows.
type ptyTerm struct {
	tb   testing.TB
	name string
	cmd  *exec.Cmd
	f    *os.File
	emu  *vt.Emulator
	next int // reads fed to emu so far

	mu    sync.Mutex
	reads []ptyRead
	total int64
	wake  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type ptyRead struct {
	at   time.Time
	data []byte
}

// startPty runs argv on a w x h pty with env as its whole environment.
func startPty(tb testing.TB, name string, w, h int, env []string, argv ...string) *ptyTerm {
	tb.Helper()
	p, err := newPty(name, w, h, env, argv...)
	if err != nil {
		tb.Fatal(err)
	}
	p.tb = tb
	tb.Cleanup(p.stop)
	return p
}

func newPty(name string, w, h int, env []string, argv ...string) (*ptyTerm, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(w), Rows: uint16(h)})
	if err != nil {
		return nil, fmt.Errorf("%s: starting %s on a pty: %w", name, argv[0], err)
	}
	p := &ptyTerm{name: name, cmd: cmd, f: f, emu: vt.New(w, h, 0),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	p.emu.EnableScrollCommands() // a terminal's, which the relay and tmux scroll with
	go p.readLoop()
	return p, nil
}

func (p *ptyTerm) readLoop() {
	defer close(p.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := p.f.Read(buf)
		if n > 0 {
			now := time.Now()
			p.mu.Lock()
			p.reads = append(p.reads, ptyRead{now, append([]byte(nil), buf[:n]...)})
			p.total += int64(n)
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
		if err != nil {
			return
		}
	}
}

// stop kills the program (only it, by its PID) and closes the pty.
func (p *ptyTerm) stop() {
	p.once.Do(func() {
		p.cmd.Process.Kill()
		waited := make(chan struct{})
		go func() { p.cmd.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
		}
		p.f.Close()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	})
}

// write sends bytes as if typed on the terminal.
func (p *ptyTerm) write(b []byte) {
	if _, err := p.f.Write(b); err != nil {
		p.tb.Fatalf("%s: writing to the pty: %v", p.name, err)
	}
}

// bytesRead is the number of bytes the program has written to its terminal.
func (p *ptyTerm) bytesRead() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

func (p *ptyTerm) readCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reads)
}

// until feeds the emulator read by read until cond holds for its screen,
// and returns the time the read that made it hold returned (the time of the
// latest read if it held already).
func (p *ptyTerm) until(within time.Duration, cond func(e *vt.Emulator) bool) (time.Time, error) {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var at time.Time
	if cond(p.emu) {
		return time.Now(), nil
	}
	for {
		p.mu.Lock()
		pending := p.reads[p.next:]
		p.mu.Unlock()
		for _, r := range pending {
			p.emu.Write(r.data)
			p.next++
			at = r.at
			if cond(p.emu) {
				return at, nil
			}
		}
		select {
		case <-p.wake:
		case <-p.done:
			p.mu.Lock()
			more := len(p.reads) > p.next
			p.mu.Unlock()
			if !more {
				return at, fmt.Errorf("%s: the program ended; screen:\n%s", p.name, screenText(p.emu))
			}
		case <-deadline.C:
			return at, fmt.Errorf("%s: not within %v; screen:\n%s", p.name, within, screenText(p.emu))
		}
	}
}

// quiet waits until the terminal has received nothing for d, then brings
// the emulator up to date.
func (p *ptyTerm) quiet(d, within time.Duration) error {
	deadline := time.Now().Add(within)
	for n := p.readCount(); ; {
		time.Sleep(d)
		m := p.readCount()
		if m == n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: output did not stop within %v", p.name, within)
		}
		n = m
	}
	_, err := p.until(0, func(*vt.Emulator) bool { return p.next == p.readCount() })
	return err
}

// row is the text of screen row y without trailing blanks.
func row(e *vt.Emulator, y int) string {
	var b strings.Builder
	for _, c := range e.Line(y) {
		switch {
		case c.Width == 0 && c.Rune != 0:
		case c.Rune == 0:
			b.WriteByte(' ')
		default:
			b.WriteString(c.String())
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func screenText(e *vt.Emulator) string {
	_, h := e.Size()
	var b strings.Builder
	for y := 0; y < h; y++ {
		b.WriteString(row(e, y))
		b.WriteByte('\n')
	}
	return b.String()
}

// showsRow reports whether some row of the screen reads exactly text.
func showsRow(text string) func(*vt.Emulator) bool {
	return func(e *vt.Emulator) bool {
		_, h := e.Size()
		for y := 0; y < h; y++ {
			if row(e, y) == text {
				return true
			}
		}
		return false
	}
}

// sshGuestPty joins as a guest with token, with OpenSSH on a w x h pty.
func sshGuestPty(tb testing.TB, r *relay, token string, w, h int) *ptyTerm {
	tb.Helper()
	p, err := newSSHGuestPty(r, token, w, h)
	if err != nil {
		tb.Fatal(err)
	}
	p.tb = tb
	tb.Cleanup(p.stop)
	return p
}

func newSSHGuestPty(r *relay, token string, w, h int) (*ptyTerm, error) {
	return newSSHGuestPtyAs(r, token, w, h, "screen-256color")
}

// newSSHGuestPtyAs is newSSHGuestPty with TERM set to term.
func newSSHGuestPtyAs(r *relay, token string, w, h int, term string) (*ptyTerm, error) {
	env := append(filterEnv(os.Environ(), "TMUX", "TMATE", "TERM"), "TERM="+term)
	return newPty("ssh guest", w, h, env, "ssh",
		"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
		"-o", "BatchMode=yes", "-tt", "-p", strconv.Itoa(r.port), token+"@127.0.0.1")
}

// attachPty is the no-relay baseline: a tmate client attached to the
// host's own server, on a w x h pty (TMUX unset, the host's HOME).
func attachPty(tb testing.TB, h *host, w, ht int) *ptyTerm {
	tb.Helper()
	return attachPtyAs(tb, h, w, ht, "screen-256color")
}

// attachPtyAs is attachPty with TERM set to term.
func attachPtyAs(tb testing.TB, h *host, w, ht int, term string) *ptyTerm {
	tb.Helper()
	env := append(filterEnv(slices.Clone(h.env), "TERM"), "TERM="+term)
	return startPty(tb, "tmate attach", w, ht, env, h.tmateArgs("attach")...)
}

// relayRSS is the relay process's resident set size in bytes.
func relayRSS(tb testing.TB, r *relay) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb * 1024
		}
	}
	tb.Fatal("no VmRSS in /proc/PID/status")
	return 0
}

// hostPool starts many headless tmate hosts against one relay at once.
// They share one HOME (one ssh key) and differ by socket; errors come back
// as values so the work can run on several goroutines.
type hostPool struct {
	r    *relay
	dir  string
	conf string
	env  []string
}

func newHostPool(tb testing.TB, r *relay) *hostPool {
	tb.Helper()
	dir := tb.TempDir()
	home := filepath.Join(dir, "home")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(home, ".ssh", "id_ed25519")).CombinedOutput(); err != nil {
		tb.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	conf := r.tmateRC + "set -g tmate-display-time 1\nset -g display-time 1\nset -g status-interval 0\n" +
		"set -g default-command 'PS1=\"$ \" exec /bin/sh'\n"
	hp := &hostPool{r: r, dir: dir, conf: filepath.Join(dir, "tmate.conf")}
	if err := os.WriteFile(hp.conf, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	hp.env = filterEnv(append(os.Environ(), "HOME="+home, "TERM=screen-256color", "SHELL=/bin/sh", "ENV=", "PS1=$ "), "TMUX", "TMATE")
	return hp
}

// start launches host i of size w x h and returns it once it is ready with
// its tips dismissed, with its read-write token. The caller kills it.
func (hp *hostPool) start(tb testing.TB, i, w, h int) (*host, string, error) {
	hs := &host{t: tb, dir: hp.dir, home: filepath.Join(hp.dir, "home"),
		sock: filepath.Join(hp.dir, fmt.Sprintf("tmate-%d.sock", i)), env: hp.env}
	if out, err := hs.output("-f", hp.conf, "new-session", "-d", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h)); err != nil {
		return hs, "", fmt.Errorf("host %d: new-session: %v\n%s", i, err, out)
	}
	ready := make(chan error, 1)
	go func() {
		out, err := hs.output("wait", "tmate-ready")
		if err != nil {
			err = fmt.Errorf("host %d: wait tmate-ready: %v\n%s", i, err, out)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			return hs, "", err
		}
	case <-time.After(60 * time.Second):
		return hs, "", fmt.Errorf("host %d: not ready within 60s", i)
	}
	if out, err := hs.output("send-keys", "q"); err != nil {
		return hs, "", fmt.Errorf("host %d: send-keys q: %v\n%s", i, err, out)
	}
	out, err := hs.output("display", "-p", "#{tmate_ssh}")
	if err != nil {
		return hs, "", fmt.Errorf("host %d: display: %v\n%s", i, err, out)
	}
	f := strings.Fields(out)
	if len(f) == 0 || !strings.Contains(f[len(f)-1], "@") {
		return hs, "", errors.New("host " + strconv.Itoa(i) + ": no ssh command in " + strconv.Quote(out))
	}
	last := f[len(f)-1]
	return hs, last[:strings.LastIndex(last, "@")], nil
}

// percentile is the p-th percentile (0-100) of sorted durations, in µs.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	i = min(max(i, 0), len(sorted)-1)
	return float64(sorted[i]) / float64(time.Microsecond)
}
