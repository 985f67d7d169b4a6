package viewer

import (
	"fmt"
	"io"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/protocol"
	"tmate-relay/service/session"
)

// BenchmarkGuestsHostOutput has an 80x24 host print about 2 MB (`seq 1
// 300000`, in tmate's 16 KiB chunks) to 30 guests in this process, and
// reports the process's CPU time per run (cpu-s) and the bytes each guest
// got. Read-only guests at 1000x1000 must cost what read-only guests at
// 80x24 cost: their frames are bounded by the window. The rw rows are
// read-write guests at 1000x1000 beside one at 80x25 that sizes the window:
// they see tmux's filler around it, drawn at their full size.
func BenchmarkGuestsHostOutput(b *testing.B) {
	for _, tc := range []struct {
		name     string
		readOnly bool
		w, h     int
	}{
		{"ro-80x24", true, 80, 24},
		{"ro-1000x1000", true, 1000, 1000},
		{"rw-80x24", false, 80, 24},
		{"rw-1000x1000", false, 1000, 1000},
	} {
		b.Run(fmt.Sprintf("guests=%d/%s", benchGuests, tc.name), func(b *testing.B) {
			benchGuestsHostOutput(b, tc.readOnly, tc.w, tc.h)
		})
	}
}

const benchGuests = 30

// countingTerm is a guest terminal that counts what it is sent and never
// types.
type countingTerm struct {
	keys    *io.PipeReader
	resizes chan Size
	bytes   atomic.Int64
	last    atomic.Int64 // unix nanoseconds of the last write
}

func (c *countingTerm) Read(b []byte) (int, error) { return c.keys.Read(b) }
func (c *countingTerm) Write(b []byte) (int, error) {
	c.bytes.Add(int64(len(b)))
	c.last.Store(time.Now().UnixNano())
	return len(b), nil
}
func (c *countingTerm) Resizes() <-chan Size { return c.resizes }
func (c *countingTerm) End(string)           {}
func (c *countingTerm) Drop()                {}

func benchGuestsHostOutput(b *testing.B, readOnly bool, w, h int) {
	s := session.New(session.Config{AdvertiseHost: "relay.example", AdvertisePort: 10022}, &hostLog{})
	if _, err := s.Apply(&protocol.SyncLayout{SX: 80, SY: 24, Windows: []protocol.Window{{
		Idx: 0, ActivePaneID: 1, Panes: []protocol.PaneLayout{{ID: 1, SX: 80, SY: 24}},
	}}}); err != nil {
		b.Fatal(err)
	}
	var terms []*countingTerm
	attach := func(readOnly bool, w, h int) {
		g, err := s.Attach(readOnly, "192.0.2.1", w, h)
		if err != nil {
			b.Fatal(err)
		}
		r, wr := io.Pipe()
		b.Cleanup(func() { wr.Close() })
		t := &countingTerm{keys: r, resizes: make(chan Size)}
		terms = append(terms, t)
		go Run(s, g, t, Config{})
	}
	if !readOnly {
		attach(false, 80, 25) // sizes the window
	}
	for range benchGuests {
		attach(readOnly, w, h)
	}
	b.Cleanup(func() { s.End("done") })
	quiet := func() {
		for {
			time.Sleep(30 * time.Millisecond)
			idle := true
			for _, t := range terms {
				if time.Since(time.Unix(0, t.last.Load())) < 30*time.Millisecond {
					idle = false
				}
			}
			if idle {
				return
			}
		}
	}
	var out []byte
	for i := 1; i <= 300000; i++ {
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, '\r', '\n')
	}
	quiet()
	var cpu float64
	var bytes int64
	for b.Loop() {
		cpu0, bytes0 := processCPU(), totalBytes(terms)
		for rest := out; len(rest) > 0; {
			n := min(len(rest), 16<<10)
			if _, _, err := s.ApplyQuiet(&protocol.PtyData{PaneID: 1, Data: rest[:n]}); err != nil {
				b.Fatal(err)
			}
			s.NotifyGuests()
			rest = rest[n:]
		}
		quiet()
		cpu, bytes = processCPU()-cpu0, totalBytes(terms)-bytes0
	}
	b.ReportMetric(cpu, "cpu-s")
	b.ReportMetric(float64(bytes)/float64(len(terms)), "bytes/guest")
}

func totalBytes(terms []*countingTerm) (n int64) {
	for _, t := range terms {
		n += t.bytes.Load()
	}
	return n
}

// processCPU is this process's user and system CPU time so far, in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
