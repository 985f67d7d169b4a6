package session

import (
	"strconv"
	"syscall"
	"testing"
	"time"

	"tmate-relay/service/guest"
	"tmate-relay/service/protocol"
)

// BenchmarkSteadyLineFrame is one frame of the load generator's steady
// workload for a session with two guests: the host's one line a second
// (the pane scrolls) and each guest's frame composed and rendered, with
// the status clock a second later each time, as it is for a line a second.
func BenchmarkSteadyLineFrame(b *testing.B) {
	clock := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	statusNow = func() time.Time { return clock }
	b.Cleanup(func() { statusNow = time.Now })
	s := benchSession(b)
	type view struct {
		g *Guest
		f guest.Frame
		r guest.Renderer
	}
	views := make([]*view, 2)
	for i := range views {
		g, err := s.Attach(false, "192.0.2.1", 80, 25)
		if err != nil {
			b.Fatal(err)
		}
		views[i] = &view{g: g}
	}
	var line, buf []byte
	frame := func(n int) int {
		clock = clock.Add(time.Second)
		line = append(strconv.AppendInt(append(line[:0], "load 7 mark "...), int64(n), 10), '\r', '\n')
		benchApply(b, s, &protocol.PtyData{PaneID: 0, Data: line})
		bytes := 0
		for _, v := range views {
			s.Compose(v.g, &v.f)
			buf = v.r.Render(buf[:0], &v.f)
			bytes += len(buf)
		}
		return bytes
	}
	for i := range 30 { // a screenful, and the first frames drawn whole
		frame(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	bytes := 0
	for i := 0; i < b.N; i++ {
		bytes += frame(30 + i)
	}
	// CPU time, unlike ns/op, does not count waiting for a busy machine.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(bytes)/float64(b.N*len(views)), "bytes/frame")
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
