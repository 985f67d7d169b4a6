package accept

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// A file is served whole (through the connection's ReadFrom, sendfile on
// TCP) behind either wrapper, and a client that sends no header holds up
// no other connection while its header is awaited, also under the
// per-address cap, which needs each connection's address to accept it.
func TestProxyHeaderListeners(t *testing.T) {
	dir := t.TempDir()
	file := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := os.WriteFile(filepath.Join(dir, "f"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	for _, proxied := range []bool{true, false} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var wrapped net.Listener
		if proxied {
			wrapped = ProxyHeaders(l, 10*time.Second, "web", log)
		} else {
			wrapped = RefuseProxyHeaders(l, "web", log)
		}
		srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
		// PerAddress asks each connection's address as it accepts it.
		go srv.Serve(PerAddress(wrapped, 10, "web", log))
		defer srv.Close()

		if proxied { // a silent client first: the next one is served meanwhile
			silent, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
		}
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if proxied {
			a := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 40000}
			if _, err := proxyproto.HeaderProxyFromAddrs(2, a, a).WriteTo(c); err != nil {
				t.Fatal(err)
			}
		}
		io.WriteString(c, "GET /f HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("proxied %v: %v", proxied, err)
		}
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("proxied %v: %d bytes (%v), want the %d of the file", proxied, len(got), err, len(file))
		}
	}
}
