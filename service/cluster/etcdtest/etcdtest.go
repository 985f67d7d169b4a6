// Package etcdtest runs Debian's etcd for tests: one member on loopback
// ports, its data in the test's temporary directory, stopped (and
// restartable) by the test itself, never the system service.
package etcdtest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
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

// Binary returns the path of etcd; without one it skips the test, or fails
// it in CI (CI=true), where every tool must be installed.
func Binary(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("etcd is required in CI (Debian package etcd-server): %v", err)
		}
		t.Skipf("etcd not installed (Debian package etcd-server): %v", err)
	}
	return p
}

// Etcd is one running (or stopped) etcd member.
type Etcd struct {
	t       testing.TB
	bin     string
	dir     string
	client  string // host:port for clients
	peer    string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	logfile *os.File
}

// Start runs etcd until the test ends.
func Start(t testing.TB) *Etcd {
	t.Helper()
	e := &Etcd{t: t, bin: Binary(t), dir: t.TempDir()}
	var lastErr error
	for range 5 { // a port picked free may be taken before etcd binds it
		e.client, e.peer = freePort(t), freePort(t)
		if lastErr = e.start(); lastErr == nil {
			t.Cleanup(e.Stop)
			return e
		}
	}
	t.Fatalf("etcd did not start: %v", lastErr)
	return nil
}

// Endpoint is the URL clients use.
func (e *Etcd) Endpoint() string { return "http://" + e.client }

// Addr is the client address, host:port.
func (e *Etcd) Addr() string { return e.client }

// Restart starts a stopped etcd again on the same ports and data.
func (e *Etcd) Restart() {
	e.t.Helper()
	var err error
	for range 20 { // the old process's ports may linger briefly
		if err = e.start(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	e.t.Fatalf("etcd did not start again: %v", err)
}

func (e *Etcd) start() error {
	logPath := filepath.Join(e.dir, "etcd.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(e.bin,
		"--name", "test",
		"--data-dir", filepath.Join(e.dir, "data"),
		"--listen-client-urls", "http://"+e.client,
		"--advertise-client-urls", "http://"+e.client,
		"--listen-peer-urls", "http://"+e.peer,
		"--initial-advertise-peer-urls", "http://"+e.peer,
		"--initial-cluster", "test=http://"+e.peer,
		"--log-outputs", "stderr",
	)
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	e.mu.Lock()
	e.cmd, e.exited, e.logfile = cmd, exited, lf
	e.mu.Unlock()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case <-exited:
			lf.Close()
			return fmt.Errorf("etcd exited: %s", tail(logPath))
		case <-deadline:
			e.Stop()
			return fmt.Errorf("etcd not healthy within 30s: %s", tail(logPath))
		case <-time.After(100 * time.Millisecond):
		}
		if healthy(e.client) {
			return nil
		}
	}
}

// Stop kills etcd (SIGKILL: its clients see it vanish) and waits for it.
func (e *Etcd) Stop() {
	e.mu.Lock()
	cmd, exited, lf := e.cmd, e.exited, e.logfile
	e.cmd = nil
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
	lf.Close()
}

// Proposals is etcd's count of committed raft proposals: every write (put,
// delete, transaction with a write, lease grant or revoke) is one; reads
// and lease keep-alives are none.
func (e *Etcd) Proposals() int64 {
	e.t.Helper()
	return int64(e.Metric("etcd_server_proposals_committed_total"))
}

// Metric is the value of one of etcd's own metrics (a line "NAME VALUE"
// of its /metrics, without labels).
func (e *Etcd) Metric(name string) float64 {
	e.t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	r, err := c.Get("http://" + e.client + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer r.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				e.t.Fatal(err)
			}
			return f
		}
	}
	e.t.Fatalf("etcd's metrics lack %s", name)
	return 0
}

func healthy(addr string) bool {
	c := http.Client{Timeout: time.Second}
	r, err := c.Get("http://" + addr + "/health")
	if err != nil {
		return false
	}
	defer r.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(r.Body)
	return r.StatusCode == 200 && strings.Contains(b.String(), `"true"`)
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
