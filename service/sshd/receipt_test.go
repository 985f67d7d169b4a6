package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"
)

// channelPair is a guest's session channel, as the relay holds it, and
// the requests that reach the client on it.
func channelPair(t *testing.T) (ssh.Channel, <-chan *ssh.Request) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	srvCfg := &ssh.ServerConfig{NoClientAuth: true}
	srvCfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	server := make(chan ssh.Channel, 1)
	go func() {
		a, err := l.Accept()
		if err != nil {
			close(server)
			return
		}
		t.Cleanup(func() { a.Close() })
		_, chans, reqs, err := ssh.NewServerConn(a, srvCfg)
		if err != nil {
			close(server)
			return
		}
		go ssh.DiscardRequests(reqs)
		nc := <-chans
		ch, chReqs, _ := nc.Accept()
		go ssh.DiscardRequests(chReqs)
		server <- ch
	}()
	b, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cc, chans, reqs, err := ssh.NewClientConn(b, "relay", &ssh.ClientConfig{User: "guest", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	client := ssh.NewClient(cc, chans, reqs)
	ch, chReqs, err := client.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, ch)
	return <-server, chReqs
}

// A receipt is the guest client's answer to a request sent after the
// frame: AwaitReceipt returns only once it came.
func TestReceiptWaitsForTheGuestsAnswer(t *testing.T) {
	ch, reqs := channelPair(t)
	term := &sshTerminal{c: &conn{ch: ch}}
	if _, err := term.Write([]byte("frame")); err != nil {
		t.Fatal(err)
	}
	returned := make(chan struct{})
	go func() { term.AwaitReceipt(); close(returned) }()
	req := <-reqs
	if req.Type != receiptRequest || !req.WantReply {
		t.Fatalf("the guest was asked %q (want reply %v)", req.Type, req.WantReply)
	}
	select {
	case <-returned:
		t.Fatal("AwaitReceipt returned before the guest answered")
	default:
	}
	req.Reply(false, nil) // as OpenSSH answers a request it does not know
	<-returned
}

// A guest that never answers still gets frames: the wait is bounded, and
// the question still out is not asked again.
func TestUnansweredReceiptDoesNotStallFrames(t *testing.T) {
	ch, reqs := channelPair(t)
	term := &sshTerminal{c: &conn{ch: ch}}
	term.AwaitReceipt()
	term.AwaitReceipt()
	if n := len(reqs); n != 1 {
		t.Fatalf("the guest was asked %d times, want once", n)
	}
}
