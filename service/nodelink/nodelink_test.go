package nodelink

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func newKey(t testing.TB) ssh.Signer {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// echoNode serves links with keys on loopback; its "echo" channels echo.
func echoNode(t testing.TB, keys ...ssh.Signer) (*Server, string) {
	return echoNodeWith(t, nil, keys...)
}

// echoNodeWith is echoNode with what changes its server before it serves.
func echoNodeWith(t testing.TB, change func(*Server), keys ...ssh.Signer) (*Server, string) {
	t.Helper()
	srv := NewServer(keys, func(_ string, nc ssh.NewChannel) {
		if nc.ChannelType() != "echo" {
			nc.Reject(ssh.UnknownChannelType, "no such channel")
			return
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		ch.Write(nc.ExtraData())
		io.Copy(ch, ch)
		ch.Close()
	}, slog.New(slog.DiscardHandler))
	if change != nil {
		change(srv)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(srv.Close)
	return srv, l.Addr().String()
}

func echo(t *testing.T, d *Dialer, addr, text string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, reqs, err := d.Open(ctx, addr, "echo", []byte("hello "))
	if err != nil {
		return err
	}
	go ssh.DiscardRequests(reqs)
	defer ch.Close()
	if _, err := ch.Write([]byte(text)); err != nil {
		return err
	}
	ch.CloseWrite()
	got, err := io.ReadAll(ch)
	if err != nil {
		return err
	}
	if string(got) != "hello "+text {
		t.Fatalf("echo %q, want %q", got, "hello "+text)
	}
	return nil
}

func TestNodesLinkWithTheClusterKeys(t *testing.T) {
	cluster := []ssh.Signer{newKey(t)}
	srv, addr := echoNode(t, cluster...)
	d := NewDialer(cluster)
	defer d.Close()
	for _, text := range []string{"one", "two", strings.Repeat("x", 1<<20)} {
		if err := echo(t, d, addr, text); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.Links(); n != 1 {
		t.Errorf("%d links for three channels, want one kept", n)
	}
	// An unknown kind of channel is refused, the link stays.
	if _, _, err := d.Open(context.Background(), addr, "nope", nil); err == nil || !strings.Contains(err.Error(), "no such channel") {
		t.Fatalf("unknown channel: %v", err)
	}
	if err := echo(t, d, addr, "after"); err != nil {
		t.Fatal(err)
	}
}

func TestStrangersAreRefusedBothWays(t *testing.T) {
	cluster, stranger := []ssh.Signer{newKey(t)}, []ssh.Signer{newKey(t)}
	srv, addr := echoNode(t, cluster...)

	// A client without the cluster's key gets no link.
	d := NewDialer(stranger)
	defer d.Close()
	err := echo(t, d, addr, "x")
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") && !strings.Contains(err.Error(), "not this cluster's") {
		t.Fatalf("a stranger linked: %v", err)
	}
	if n := srv.Links(); n != 0 {
		t.Fatalf("%d links after a stranger's try", n)
	}

	// A server without the cluster's key is not trusted, even one that
	// would accept the client.
	_, impostor := echoNodeWith(t, func(s *Server) {
		s.cfg.PublicKeyCallback = func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }
	}, stranger...)
	d2 := NewDialer(cluster)
	defer d2.Close()
	err = echo(t, d2, impostor, "x")
	if err == nil || !strings.Contains(err.Error(), "not this cluster's") {
		t.Fatalf("linked to a node with another host key: %v", err)
	}
}

func TestABrokenLinkIsMadeAgain(t *testing.T) {
	cluster := []ssh.Signer{newKey(t)}
	srv, addr := echoNode(t, cluster...)
	d := NewDialer(cluster)
	defer d.Close()
	if err := echo(t, d, addr, "before"); err != nil {
		t.Fatal(err)
	}
	// The peer drops every link (as a restarted node does); the next
	// channel links again.
	srv.mu.Lock()
	for c := range srv.conns {
		c.Close()
	}
	srv.mu.Unlock()
	if err := echo(t, d, addr, "after"); err != nil {
		t.Fatal(err)
	}
}

// HTTP runs over a channel of the link, and the server sees the address
// of the client the peer carries.
func TestHTTPOverALinkChannel(t *testing.T) {
	cluster := []ssh.Signer{newKey(t)}
	l := NewListener()
	defer l.Close()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr+" "+r.Host+r.URL.Path)
	})}
	go srv.Serve(l)
	defer srv.Close()
	node := NewServer(cluster, func(_ string, nc ssh.NewChannel) {
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		l.Hand(ChannelConn(ch, string(nc.ExtraData())))
	}, slog.New(slog.DiscardHandler))
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go node.Serve(nl)
	defer node.Close()
	d := NewDialer(cluster)
	defer d.Close()
	client := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			ch, reqs, err := d.Open(ctx, nl.Addr().String(), "http", []byte("192.0.2.7"))
			if err != nil {
				return nil, err
			}
			go ssh.DiscardRequests(reqs)
			return ChannelConn(ch, "node"), nil
		},
	}}
	resp, err := client.Get("http://relay.example.com/t/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if got, want := string(body), "192.0.2.7:0 relay.example.com/t/x"; got != want {
		t.Fatalf("served %q, want %q", got, want)
	}
}

// A read deadline cuts a pending read short, as an HTTP server does when a
// handler takes the connection over, and nothing sent is lost.
func TestChannelConnReadDeadline(t *testing.T) {
	cluster := []ssh.Signer{newKey(t)}
	conns := make(chan net.Conn, 1)
	node := NewServer(cluster, func(_ string, nc ssh.NewChannel) {
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		conns <- ChannelConn(ch, "192.0.2.7")
	}, slog.New(slog.DiscardHandler))
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go node.Serve(nl)
	defer node.Close()
	d := NewDialer(cluster)
	defer d.Close()
	ch, reqs, err := d.Open(context.Background(), nl.Addr().String(), "x", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	c := <-conns
	errc := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 10))
		errc <- err
	}()
	c.SetReadDeadline(time.Unix(1, 0))
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read cut short by a deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	ch.Write([]byte("after"))
	b := make([]byte, 3)
	var got []byte
	for len(got) < 5 {
		n, err := c.Read(b)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, b[:n]...)
	}
	if string(got) != "after" {
		t.Fatalf("read %q after the deadline, want %q", got, "after")
	}
	if c.RemoteAddr().String() != "192.0.2.7:0" {
		t.Fatalf("remote address %s", c.RemoteAddr())
	}
}

// freezer carries TCP connections to addr until frozen: then it stops
// carrying bytes either way and closes nothing, as a node that hangs or a
// network that drops packets does.
type freezer struct {
	l      net.Listener
	frozen chan struct{}
	done   chan struct{} // closed when the test ends
}

func newFreezer(t *testing.T, addr string) *freezer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l, frozen: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { l.Close(); close(f.done) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); up.Close() })
			go f.carry(up, c)
			go f.carry(c, up)
		}
	}()
	return f
}

func (f *freezer) carry(dst, src net.Conn) {
	b := make([]byte, 32<<10)
	for {
		n, err := src.Read(b)
		select {
		case <-f.frozen:
			<-f.done // hold the bytes, and the connection, until the test ends
			return
		default:
		}
		if err != nil {
			return
		}
		dst.Write(b[:n])
	}
}

// A link whose other end stops answering is closed on both sides after
// three unanswered probes, and every channel on it ends: a forwarded
// guest's place in its session is not held by a node that hung.
func TestALinkThatStopsAnsweringIsClosed(t *testing.T) {
	cluster := []ssh.Signer{newKey(t)}
	const interval = 100 * time.Millisecond
	served := make(chan ssh.Channel, 1)
	node := NewServer(cluster, func(_ string, nc ssh.NewChannel) {
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go ssh.DiscardRequests(reqs)
		served <- ch
	}, slog.New(slog.DiscardHandler))
	node.KeepAlive = interval
	nl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go node.Serve(nl)
	defer node.Close()
	f := newFreezer(t, nl.Addr().String())
	d := NewDialer(cluster)
	d.KeepAlive = interval
	defer d.Close()
	ch, reqs, err := d.Open(context.Background(), f.l.Addr().String(), "guest", nil)
	if err != nil {
		t.Fatal(err)
	}
	go ssh.DiscardRequests(reqs)
	owner := <-served
	close(f.frozen)
	for name, c := range map[string]ssh.Channel{"owner's": owner, "dialer's": ch} {
		done := make(chan error, 1)
		go func() { _, err := io.ReadAll(c); done <- err }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s channel is still open 10 s after the link stopped answering", name)
		}
	}
	for node.Links() != 0 { // its count drops once the link's loop has ended
		time.Sleep(10 * time.Millisecond)
	}
}
