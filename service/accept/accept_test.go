package accept

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/logtest"
)

func testLog() (*slog.Logger, *logtest.Buffer) {
	b := &logtest.Buffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// script is a listener whose Accept returns its errors in turn, then
// connections from pipe ends.
type script struct {
	mu     sync.Mutex
	errs   []error
	closed chan struct{}
	once   sync.Once
}

func (s *script) Accept() (net.Conn, error) {
	s.mu.Lock()
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Unlock()
	select {
	case <-s.closed:
		return nil, net.ErrClosed
	default:
	}
	c, _ := net.Pipe()
	return c, nil
}

func (s *script) Close() error   { s.once.Do(func() { close(s.closed) }); return nil }
func (s *script) Addr() net.Addr { return &net.TCPAddr{} }

func emfile() error { return &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE} }

func TestRetryingWaitsOutFailedAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		errs []error
	}{
		{"out of descriptors", []error{emfile(), emfile(), emfile()}},
		{"system-wide table full", []error{&net.OpError{Op: "accept", Err: syscall.ENFILE}}},
		{"aborted and no buffers", []error{&net.OpError{Op: "accept", Err: syscall.ECONNABORTED}, &net.OpError{Op: "accept", Err: syscall.ENOBUFS}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, buf := testLog()
			l := Retrying(&script{errs: tc.errs, closed: make(chan struct{})}, "test", log)
			c, err := l.Accept()
			if err != nil {
				t.Fatalf("Accept = %v, want a connection after the failures", err)
			}
			c.Close()
			if n := strings.Count(buf.String(), "accept failed"); n != 1 {
				t.Errorf("the burst was logged %d times, want once:\n%s", n, buf)
			}
			if want := "failed_accepts=" + string(rune('0'+len(tc.errs))); !strings.Contains(buf.String(), want) {
				t.Errorf("the recovery does not say %s:\n%s", want, buf)
			}
		})
	}
}

func TestRetryingEndsWhenClosed(t *testing.T) {
	log, _ := testLog()
	errs := make([]error, 100)
	for i := range errs {
		errs[i] = emfile()
	}
	l := Retrying(&script{errs: errs, closed: make(chan struct{})}, "test", log)
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	time.Sleep(50 * time.Millisecond) // in its back-off
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept = %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Accept still waits after Close")
	}
}

// dialFrom connects to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the server closed c (rather than keeping
// it open for 2 s).
func closedByPeer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

func TestPerAddressCapsOpenConnections(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log, buf := testLog()
	l := PerAddress(inner, 2, "test", log)
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := inner.Addr().String()
	var held []net.Conn
	for range 2 {
		dialFrom(t, "127.0.0.1", addr)
		held = append(held, <-accepted)
	}
	for range 3 {
		if c := dialFrom(t, "127.0.0.1", addr); !closedByPeer(c) {
			t.Fatal("a connection over the cap was kept open")
		}
	}
	if n := strings.Count(buf.String(), "too many open connections"); n != 1 {
		t.Errorf("refusals logged %d times, want once per burst:\n%s", n, buf)
	}
	// Another address is not affected.
	dialFrom(t, "127.0.0.2", addr)
	other := <-accepted
	other.Close()
	// A closed connection frees its place, once however often it is closed.
	held[0].Close()
	held[0].Close()
	dialFrom(t, "127.0.0.1", addr)
	<-accepted
	if c := dialFrom(t, "127.0.0.1", addr); !closedByPeer(c) {
		t.Fatal("closing one connection twice freed two places")
	}
}

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := AddressKey(tc.addr); got != tc.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
