package web

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"tmate-relay/service/config"
	"tmate-relay/service/session"
)

// serveWeb runs the web side's server on a loopback Listener.
func serveWeb(t *testing.T, idle time.Duration, perAddress int) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := NewServer(Handler(config.Default()), idle, log)
	go srv.Serve(Listener(l, perAddress, false, log))
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// keepAliveGet sends one keep-alive request on c and reads its response.
func keepAliveGet(t *testing.T, c net.Conn, r *bufio.Reader) {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 200", resp.StatusCode, resp.Close)
	}
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, r io.Reader, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, r)
	return err == nil || errors.Is(err, syscall.ECONNRESET)
}

func TestAnIdleKeepAliveConnectionIsClosed(t *testing.T) {
	addr := serveWeb(t, 200*time.Millisecond, 10)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	keepAliveGet(t, c, r)
	keepAliveGet(t, c, r) // kept alive between requests
	start := time.Now()
	if !closedWithin(c, r, 10*time.Second) {
		t.Fatal("an idle keep-alive connection is still open after 10 s")
	}
	t.Logf("closed %v after its last response", time.Since(start).Round(time.Millisecond))
}

func TestOversizedHeadersAreRefused(t *testing.T) {
	addr := serveWeb(t, 0, 10)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: relay\r\nX-Big: "+strings.Repeat("a", 2*MaxHeaderBytes)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

func TestWebConnectionsAreCappedPerAddress(t *testing.T) {
	addr := serveWeb(t, 0, 2)
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		keepAliveGet(t, c, bufio.NewReader(c))
		held = append(held, c)
	}
	over, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	if !closedWithin(over, over, 5*time.Second) {
		t.Fatal("a third connection from the address was kept open")
	}
	held[0].Close()
	// Its place is free once the server has seen the close.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err == nil && resp.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection did not free its address's place")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAWebSocketGuestThatStopsAnsweringFreesItsPlace(t *testing.T) {
	cfg := config.Default()
	cfg.Repo.Enabled = false
	reg := session.NewRegistry(0)
	sess := session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022, MaxGuests: 1}, &quietHost{})
	if err := reg.Add(sess); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(cfg, Options{Registry: reg, PingInterval: 100 * time.Millisecond}))
	t.Cleanup(srv.Close)

	// The first guest never reads again, so it answers no ping: a browser
	// whose machine went to sleep, or a peer gone without a close.
	dead, _, err := dial(t, wsURL(srv, sess.Token()), "")
	if err != nil {
		t.Fatal(err)
	}
	defer dead.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := dead.Read(ctx); err != nil { // its first frame: it has joined
		t.Fatal(err)
	}
	joined := func() bool {
		c, _, err := dial(t, wsURL(srv, sess.Token()), "")
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		typ, _, err := c.Read(ctx)
		return err == nil && typ == websocket.MessageBinary // a frame, not the refusal
	}
	if joined() {
		t.Fatal("a second guest joined a session that takes one")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !joined() {
		if time.Now().After(deadline) {
			t.Fatal("the silent guest still holds its place after 10 s")
		}
	}
}
