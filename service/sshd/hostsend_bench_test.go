package sshd

import (
	"io"
	"log/slog"
	"testing"
	"time"
)

// discardChannel is a host's channel that takes every write at once.
type discardChannel struct{}

func (discardChannel) Read([]byte) (int, error)    { return 0, io.EOF }
func (discardChannel) Write(b []byte) (int, error) { return len(b), nil }
func (discardChannel) Close() error                { return nil }
func (discardChannel) CloseWrite() error           { return nil }
func (discardChannel) SendRequest(string, bool, []byte) (bool, error) {
	return true, nil
}
func (discardChannel) Stderr() io.ReadWriter { return nil }

// BenchmarkHostSendKey is one guest keystroke sent to the host as the
// session sends it: encoded, written under the stall guard, the nudges
// armed again.
func BenchmarkHostSendKey(b *testing.B) {
	c := &conn{srv: &Server{cfg: Config{HostWriteTimeout: time.Minute}}, ch: discardChannel{}}
	h := newHostSender(c.stallGuard(slog.New(slog.DiscardHandler)), nil)
	h.nudge = func() {}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.PaneKey(-1, 'a'); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHostSendPaste is a guest's 4 KiB paste sent to the host as
// the guest's loop sends one read's keys: in one write.
func BenchmarkHostSendPaste(b *testing.B) {
	c := &conn{srv: &Server{cfg: Config{HostWriteTimeout: time.Minute}}, ch: discardChannel{}}
	h := newHostSender(c.stallGuard(slog.New(slog.DiscardHandler)), nil)
	h.nudge = func() {}
	keys := make([]uint64, 4096)
	for i := range keys {
		keys[i] = uint64('a' + i%26)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := h.PaneKeys(-1, keys); err != nil {
			b.Fatal(err)
		}
	}
}
