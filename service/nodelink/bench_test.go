package nodelink

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// BenchmarkLinkRoundTrip is what a byte and its echo cost on a link
// channel (a forwarded guest's keystroke and the frame back take one
// each), for each cipher the link may use, next to the same over a bare
// loopback TCP connection: the difference is the link's own cost.
func BenchmarkLinkRoundTrip(b *testing.B) {
	b.Run("tcp", func(b *testing.B) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.Copy(c, c)
			c.Close()
		}()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		roundTrips(b, c)
	})
	for _, cipher := range []string{ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES128CTR} {
		b.Run(cipher, func(b *testing.B) {
			key := newKey(b)
			_, addr := echoNode(b, key)
			d := NewDialer([]ssh.Signer{key})
			d.cfg.Ciphers = []string{cipher}
			defer d.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ch, reqs, err := d.Open(ctx, addr, "echo", nil)
			if err != nil {
				b.Fatal(err)
			}
			go ssh.DiscardRequests(reqs)
			defer ch.Close()
			roundTrips(b, ch)
		})
	}
}

// roundTrips writes a byte to rw and reads its echo, b.N times.
func roundTrips(b *testing.B, rw io.ReadWriter) {
	buf := make([]byte, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := rw.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(rw, buf); err != nil {
			b.Fatal(err)
		}
	}
}
