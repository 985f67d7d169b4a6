// Package tmatetest checks a tmate.conf against the real tmate client: a
// minimal SSH server plays the relay just far enough for tmate to accept its
// host key and ask for the tmate subsystem.
package tmatetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// Tmate returns the path of the tmate binary; without one it skips the
// test, or fails it in CI (CI=true), where every tool must be installed.
func Tmate(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tmate")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("tmate is required in CI: %v", err)
		}
		t.Skipf("tmate not installed: %v", err)
	}
	return p
}

// Request is a subsystem request the server saw.
type Request struct {
	User      string
	Subsystem string
}

// Server is an SSH server on 127.0.0.1 that accepts any client and reports
// its subsystem requests.
type Server struct {
	Port     int
	Requests chan Request

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartServer serves with the given host keys until the test ends.
func StartServer(t testing.TB, signers ...ssh.Signer) *Server {
	t.Helper()
	cfg := &ssh.ServerConfig{
		// tmate tries "none" first, then public keys.
		NoClientAuth:      true,
		PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil },
	}
	for _, s := range signers {
		cfg.AddHostKey(s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Port: ln.Addr().(*net.TCPAddr).Port, Requests: make(chan Request, 16), ln: ln}
	go s.serve(cfg)
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *Server) serve(cfg *ssh.ServerConfig) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		go s.handle(c, cfg)
	}
}

func (s *Server) handle(c net.Conn, cfg *ssh.ServerConfig) {
	conn, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		c.Close()
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for r := range creqs {
				if r.Type != "subsystem" {
					r.Reply(false, nil)
					continue
				}
				var p struct{ Name string }
				if err := ssh.Unmarshal(r.Payload, &p); err != nil {
					r.Reply(false, nil)
					continue
				}
				r.Reply(true, nil)
				select {
				case s.Requests <- Request{conn.User(), p.Name}:
				default:
				}
			}
		}()
		// Keep reading what the host sends so it never blocks.
		go func() {
			buf := make([]byte, 32*1024)
			for {
				if _, err := ch.Read(buf); err != nil {
					return
				}
			}
		}()
	}
}

// Host is a headless tmate host started with a given config file.
type Host struct {
	t     testing.TB
	tmate string
	Sock  string
	dir   string
	env   []string
}

// StartHost runs `tmate -v -f conf -S SOCK new-session -d` with a private
// HOME (so no ~/.tmate.conf or ssh keys of the user take part) and kills that
// tmate server when the test ends. -v makes tmate log to its working
// directory, which Log reads.
func StartHost(t testing.TB, conf string) *Host {
	t.Helper()
	tm := Tmate(t)
	dir, err := os.MkdirTemp("", "tmt") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{t: t, tmate: tm, Sock: filepath.Join(dir, "sock"), dir: dir}
	for _, kv := range os.Environ() {
		// Inside tmux, TMUX makes tmate refuse to start; HOME and TERM
		// are set below.
		if !strings.HasPrefix(kv, "TMUX=") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "TERM=") {
			h.env = append(h.env, kv)
		}
	}
	h.env = append(h.env, "HOME="+dir, "TERM=xterm")
	t.Cleanup(func() {
		exec.Command(h.tmate, "-S", h.Sock, "kill-server").Run()
		os.RemoveAll(dir)
	})
	if out, err := h.command("-v", "-f", conf, "-S", h.Sock, "new-session", "-d", "-x", "80", "-y", "24").CombinedOutput(); err != nil {
		t.Fatalf("tmate new-session: %v\n%s", err, out)
	}
	return h
}

func (h *Host) command(args ...string) *exec.Cmd {
	c := exec.Command(h.tmate, args...)
	c.Env = h.env
	c.Dir = h.dir
	return c
}

// RefusedServer reports whether a tmate log shows it refused the server's
// host key. Debian's tmate 2.4.0 logs "Cannot authenticate server"; other
// builds say "Server fingerprint not recognized".
func RefusedServer(log string) bool {
	return strings.Contains(log, "Cannot authenticate server") || strings.Contains(log, "fingerprint not recognized")
}

// Log returns what the tmate server logged so far (its connection attempts
// and errors such as "Cannot authenticate server").
func (h *Host) Log() string {
	logs, _ := filepath.Glob(filepath.Join(h.dir, "tmate-server-*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		b.Write(data)
	}
	return b.String()
}

// ExpectTmateSubsystem waits until the host asked srv for the tmate
// subsystem as user tmate, and fails the test with tmate's log if it
// does not within timeout.
func ExpectTmateSubsystem(t testing.TB, srv *Server, h *Host, timeout time.Duration) {
	t.Helper()
	select {
	case r := <-srv.Requests:
		if r.User != "tmate" || r.Subsystem != "tmate" {
			t.Fatalf("tmate connected as user %q asking for subsystem %q, want tmate/tmate", r.User, r.Subsystem)
		}
		if l := h.Log(); RefusedServer(l) {
			t.Fatalf("tmate connected but complained:\n%s", l)
		}
	case <-time.After(timeout):
		t.Fatalf("tmate did not ask for the tmate subsystem within %v; its log:\n%s", timeout, h.Log())
	}
}

// WriteConf writes text to a file in a new temporary directory and returns
// its path.
func WriteConf(t testing.TB, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tmate.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// String describes a request, for test logs.
func (r Request) String() string { return fmt.Sprintf("%s@%s", r.User, r.Subsystem) }
