package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkReadOnlyWebGuests attaches 30 read-only browser guests (plain
// WebSocket clients that read and discard their frames) to a real 80x24
// tmate host, all at 80x24 or all at 1000x1000, and has the host print
// about 2 MB (`seq 1 300000`). It reports the relay process's CPU time
// (user + system, from /proc) and the wall time from the command until the
// last byte any guest received: what a guest's view costs the relay at a
// huge size against a common one.
func BenchmarkReadOnlyWebGuests(b *testing.B) {
	for _, size := range []struct{ w, h int }{{80, 24}, {1000, 1000}} {
		b.Run(fmt.Sprintf("guests=%d/size=%dx%d", benchWebGuests, size.w, size.h), func(b *testing.B) {
			benchWebGuestsAt(b, size.w, size.h)
		})
	}
}

const benchWebGuests = 30

func benchWebGuestsAt(b *testing.B, w, h int) {
	needTools(b, "tmate", "ssh-keygen")
	r := prepareRelay(b, "")
	setPublicURL(b, r, fmt.Sprintf("http://127.0.0.1:%d", r.webPort))
	r.launch(relayBin, "serve", "-c", r.conf)
	hs := startHost(b, r, 80, 24, "")
	url := strings.Replace(hs.display("#{tmate_web_ro}"), "http://", "ws://", 1)
	if !strings.Contains(url, "/t/ro-") {
		b.Fatalf("tmate_web_ro = %q", url)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		received atomic.Int64
		last     atomic.Int64 // unix nanoseconds of the last frame any guest read
		wg       sync.WaitGroup
	)
	for i := 0; i < benchWebGuests; i++ {
		c, _, err := websocket.Dial(ctx, fmt.Sprintf("%s/ws?cols=%d&rows=%d", url, w, h), nil)
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(-1)
		wg.Go(func() {
			defer c.CloseNow()
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					return
				}
				received.Add(int64(len(data)))
				last.Store(time.Now().UnixNano())
			}
		})
	}
	quietGuests := func() {
		for n := received.Load(); ; {
			time.Sleep(300 * time.Millisecond)
			m := received.Load()
			if m == n {
				return
			}
			n = m
		}
	}
	quietGuests()
	var wall time.Duration
	var cpu float64
	var bytes int64
	for b.Loop() {
		hs.run("send-keys", "clear", "Enter")
		quietGuests()
		cpu0, bytes0 := processCPU(b, r.cmd.Process.Pid), received.Load()
		t0 := time.Now()
		hs.run("send-keys", "seq 1 300000; tmate -S "+hs.sock+" wait-for -S bench-printed", "Enter")
		hs.run("wait-for", "bench-printed")
		quietGuests()
		wall = time.Unix(0, last.Load()).Sub(t0)
		cpu = processCPU(b, r.cmd.Process.Pid) - cpu0
		bytes = received.Load() - bytes0
	}
	cancel()
	wg.Wait()
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(cpu, "relay-cpu-s")
	b.ReportMetric(float64(bytes)/benchWebGuests, "bytes/guest")
	b.Logf("%d read-only web guests at %dx%d, seq 1 300000: %.2f s wall, %.2f relay CPU-seconds, %d bytes per guest",
		benchWebGuests, w, h, wall.Seconds(), cpu, bytes/benchWebGuests)
}

// processCPU is the user and system CPU time pid used so far, in seconds.
func processCPU(b *testing.B, pid int) float64 {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which may hold spaces), from
	// field 3 on: utime and stime are fields 14 and 15, in clock ticks
	// of 1/100 s (USER_HZ, fixed for /proc).
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, stat)
	}
	return (utime + stime) / 100
}
