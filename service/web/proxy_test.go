package web

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"

	"tmate-relay/service/config"
	"tmate-relay/service/session"
)

// serveProxied runs the web side's server on a loopback Listener with
// [web] proxy_protocol set to proxy, recording unknown tokens' addresses
// in refusals; log gets the server's log lines.
func serveProxied(t *testing.T, proxy bool, perAddress int, refusals TokenRefusals, log io.Writer) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Repo.Enabled = false
	lg := slog.New(slog.NewTextHandler(log, nil))
	srv := NewServer(New(cfg, Options{Registry: session.NewRegistry(0), TokenRefusals: refusals, Log: lg}), 0, lg)
	go srv.Serve(Listener(l, perAddress, proxy, lg))
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

// proxyHeader is the header a balancer sends for a client at src.
func proxyHeader(version byte, src string) *proxyproto.Header {
	a, _ := net.ResolveTCPAddr("tcp", src)
	return proxyproto.HeaderProxyFromAddrs(version, a, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10081})
}

// getUnknownToken sends a page request for a token no session holds on c
// and returns its status (0: the connection closed without an answer).
func getUnknownToken(t *testing.T, c net.Conn, r *bufio.Reader) int {
	t.Helper()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /t/neverAtokenB23456789abcdefgh HTTP/1.1\r\nHost: relay\r\n\r\n")
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// With [web] proxy_protocol the address a v1 or v2 header names is the
// client's for the token slow-down (and so for logs, the audit trail and
// the host's NOTIFY, which take the same request address); a balancer's
// health check (LOCAL) keeps the balancer's. A connection without a header
// is refused, and without the setting a connection with one is.
func TestWebProxyProtocol(t *testing.T) {
	local := proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}
	for _, tc := range []struct {
		name     string
		proxy    bool
		header   *proxyproto.Header
		wantAddr string // "" when refused
		wantLog  string
	}{
		{"v1 header", true, proxyHeader(1, "203.0.113.7:40001"), "203.0.113.7", ""},
		{"v2 header", true, proxyHeader(2, "198.51.100.9:40002"), "198.51.100.9", ""},
		{"v2 IPv6 header", true, proxyHeader(2, "[2001:db8::5]:40003"), "2001:db8::5", ""},
		{"health check", true, &local, "127.0.0.1", ""},
		{"no header", true, nil, "", "no valid PROXY protocol header ([web] proxy_protocol is true)"},
		{"header while off", false, proxyHeader(2, "203.0.113.7:40001"), "", "sent a PROXY protocol header ([web] proxy_protocol is false)"},
		{"no header while off", false, nil, "127.0.0.1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refusals := &refusalLog{}
			var log lockedLog
			addr := serveProxied(t, tc.proxy, 10, refusals, &log)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if tc.header != nil {
				if _, err := tc.header.WriteTo(c); err != nil {
					t.Fatal(err)
				}
			}
			st := getUnknownToken(t, c, bufio.NewReader(c))
			switch {
			case tc.wantAddr == "" && st != 0:
				t.Fatalf("answered %d, want the connection refused", st)
			case tc.wantAddr != "" && st != http.StatusNotFound:
				t.Fatalf("answered %d, want 404", st)
			}
			refusals.mu.Lock()
			got := strings.Join(refusals.addrs, " ")
			refusals.mu.Unlock()
			if tc.wantAddr != "" && got != tc.wantAddr {
				t.Fatalf("unknown token counted against %q, want %q", got, tc.wantAddr)
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log lacks %q:\n%s", tc.wantLog, log.String())
			}
		})
	}
}

// web_connections_per_address counts the clients behind the balancer, not
// the balancer: a second connection of one client is closed, another
// client's is served.
func TestWebProxyProtocolPerAddressCap(t *testing.T) {
	addr := serveProxied(t, true, 1, &refusalLog{}, io.Discard)
	open := func(src string) (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := proxyHeader(2, src).WriteTo(c); err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	first, r := open("203.0.113.7:40001")
	keepAliveGet(t, first, r) // admitted, and held open
	if c, r := open("203.0.113.7:40002"); getUnknownToken(t, c, r) != 0 {
		t.Error("a second connection of 203.0.113.7 was served past web_connections_per_address = 1")
	}
	if c, r := open("203.0.113.8:40003"); getUnknownToken(t, c, r) != http.StatusNotFound {
		t.Error("another client behind the same balancer was refused")
	}
}

// lockedLog is a log buffer written by the server's goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
