package nodelink

import (
	"context"
	"io"
	"log/slog"
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

// BenchmarkForwardedRoundTrip is BenchmarkLinkRoundTrip's byte and echo
// carried as a forwarding node carries a guest: in on one SSH connection,
// copied onto a channel of a second one to the echoing node, and back.
// Next to "direct" (the echoing node's channel alone), it shows what the
// forwarding node and its link add in one process, without the scheduling
// of separate ones.
func BenchmarkForwardedRoundTrip(b *testing.B) {
	key := newKey(b)
	_, owner := echoNode(b, key)
	link := NewDialer([]ssh.Signer{key})
	defer link.Close()
	fwd := NewServer([]ssh.Signer{key}, func(_ string, nc ssh.NewChannel) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, outReqs, err := link.Open(ctx, owner, "echo", nil)
		cancel()
		if err != nil {
			nc.Reject(ssh.ConnectionFailed, err.Error())
			return
		}
		go ssh.DiscardRequests(outReqs)
		in, inReqs, err := nc.Accept()
		if err != nil {
			out.Close()
			return
		}
		go ssh.DiscardRequests(inReqs)
		go func() {
			io.Copy(out, in)
			out.CloseWrite()
		}()
		io.Copy(in, out)
		in.Close()
	}, slog.New(slog.DiscardHandler))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go fwd.Serve(l)
	defer fwd.Close()
	for _, c := range []struct{ name, addr string }{{"direct", owner}, {"forwarded", l.Addr().String()}} {
		b.Run(c.name, func(b *testing.B) {
			d := NewDialer([]ssh.Signer{key})
			defer d.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ch, reqs, err := d.Open(ctx, c.addr, "echo", nil)
			if err != nil {
				b.Fatal(err)
			}
			go ssh.DiscardRequests(reqs)
			defer ch.Close()
			roundTrips(b, ch)
		})
	}
}
